//! The async Toxiproxy client the runner uses to inject network faults,
//! against the embedded `gameday proxy` or a real Toxiproxy server.
//!
//! Every call has a timeout (a hung fault backend must not hang a game day),
//! a call that went out on a dead kept-alive connection (closed by the
//! server while idle) is sent again on a new one, path segments are
//! percent-encoded, and an error answer keeps the server's status and message.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{
    ErrorBody, NewProxy, NewToxic, Populated, Proxy, ProxyUpdate, Toxic, ToxicUpdate, Version,
};

/// How long one API call may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times one call is sent when the connection it went out on was
/// dead (each dead pooled connection is dropped, so the last goes out on a new one).
const CALL_ATTEMPTS: u32 = 3;

/// Whether a request failed on its connection, not because the server was
/// unreachable or slow: the connection was closed or reset under it (a
/// reused keep-alive connection the server had already closed). Connect
/// errors and timeouts are not: sending again would not change them.
fn is_dead_connection(error: &reqwest::Error) -> bool {
    !error.is_timeout()
        && !error.is_connect()
        && !error.is_builder()
        && !error.is_decode()
        && (error.is_request() || error.is_body())
}

/// What can go wrong talking to a Toxiproxy API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL cannot be used.
    #[error("invalid Toxiproxy URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server answered with an error status.
    #[error("Toxiproxy answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    /// The request did not complete (connection refused, timeout, ...).
    #[error("Toxiproxy request {method} {url} failed: {source}")]
    Transport {
        method: Method,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON expected.
    #[error("Toxiproxy answered {url} with unexpected JSON: {source}")]
    Decode {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A typed client for one Toxiproxy API.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl Client {
    /// A client for the API at `base_url` (e.g. `http://127.0.0.1:8474`).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: base_url.to_string(),
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("expected an http or https URL".into()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("gameday/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            base,
            http,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The API's base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The same client with another per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<String>,
    ) -> Result<(StatusCode, String), ClientError> {
        let url = self.url(segments);
        let transport = |source| ClientError::Transport {
            method: method.clone(),
            url: url.to_string(),
            source,
        };
        // A kept-alive connection that the server (or a load balancer in
        // front of it) closed while it sat idle fails the request that
        // reuses it; that request goes out again, on a new connection.
        // Every call here is safe to repeat (see `FaultContext::apply` for
        // creating a toxic). A timeout is not retried: its time is spent.
        let mut attempt = 1;
        let (status, text) = loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .timeout(self.timeout);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let answer = async {
                let response = request.send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            };
            match answer.await {
                Ok(answer) => break answer,
                Err(error) if attempt < CALL_ATTEMPTS && is_dead_connection(&error) => {
                    tracing::debug!(%error, %url, attempt, "the connection was dead; sending again");
                    attempt += 1;
                }
                Err(error) => return Err(transport(error)),
            }
        };
        if status.is_client_error() || status.is_server_error() {
            let message = serde_json::from_str::<ErrorBody>(&text)
                .map(|body| body.error)
                .unwrap_or_else(|_| text.trim().to_string());
            return Err(ClientError::Api {
                status: status.as_u16(),
                message,
            });
        }
        Ok((status, text))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<String>,
    ) -> Result<T, ClientError> {
        let url = self.url(segments).to_string();
        let (_, text) = self.call(method, segments, body).await?;
        serde_json::from_str(&text).map_err(|source| ClientError::Decode { url, source })
    }

    fn encode<T: Serialize>(&self, value: &T) -> Result<String, ClientError> {
        serde_json::to_string(value).map_err(|source| ClientError::Decode {
            url: self.base.to_string(),
            source,
        })
    }

    /// The server's version, e.g. `2.12.0`.
    pub async fn version(&self) -> Result<String, ClientError> {
        Ok(self.identity().await?.version)
    }

    /// The server's version and, for `gameday proxy`, its instance id (see [`Version`]).
    pub async fn identity(&self) -> Result<Version, ClientError> {
        self.json(Method::GET, &["version"], None).await
    }

    /// All proxies, by name.
    pub async fn proxies(&self) -> Result<BTreeMap<String, Proxy>, ClientError> {
        self.json(Method::GET, &["proxies"], None).await
    }

    /// One proxy.
    pub async fn proxy(&self, name: &str) -> Result<Proxy, ClientError> {
        self.json(Method::GET, &["proxies", name], None).await
    }

    /// Creates a proxy.
    pub async fn create_proxy(&self, proxy: &NewProxy) -> Result<Proxy, ClientError> {
        let body = self.encode(proxy)?;
        self.json(Method::POST, &["proxies"], Some(body)).await
    }

    /// Changes a proxy's listen, upstream or enabled state.
    pub async fn update_proxy(
        &self,
        name: &str,
        update: &ProxyUpdate,
    ) -> Result<Proxy, ClientError> {
        let body = self.encode(update)?;
        self.json(Method::PATCH, &["proxies", name], Some(body))
            .await
    }

    /// Enables or disables a proxy (disabled = Toxiproxy's "down").
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<Proxy, ClientError> {
        let update = ProxyUpdate {
            enabled: Some(enabled),
            ..ProxyUpdate::default()
        };
        self.update_proxy(name, &update).await
    }

    /// Deletes a proxy.
    pub async fn delete_proxy(&self, name: &str) -> Result<(), ClientError> {
        self.call(Method::DELETE, &["proxies", name], None)
            .await
            .map(|_| ())
    }

    /// Creates or replaces proxies in bulk; unchanged ones keep their toxics.
    pub async fn populate(&self, proxies: &[NewProxy]) -> Result<Vec<Proxy>, ClientError> {
        let body = self.encode(&proxies)?;
        let populated: Populated = self.json(Method::POST, &["populate"], Some(body)).await?;
        Ok(populated.proxies)
    }

    /// Enables every proxy and removes every toxic.
    pub async fn reset(&self) -> Result<(), ClientError> {
        self.call(Method::POST, &["reset"], Some(String::new()))
            .await
            .map(|_| ())
    }

    /// A proxy's toxics.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ClientError> {
        self.json(Method::GET, &["proxies", proxy, "toxics"], None)
            .await
    }

    /// One toxic.
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic, ClientError> {
        self.json(Method::GET, &["proxies", proxy, "toxics", name], None)
            .await
    }

    /// Adds a toxic; it applies to open connections at once.
    pub async fn add_toxic(&self, proxy: &str, toxic: &NewToxic) -> Result<Toxic, ClientError> {
        let body = self.encode(toxic)?;
        self.json(Method::POST, &["proxies", proxy, "toxics"], Some(body))
            .await
    }

    /// Updates a toxic's attributes (merged) and toxicity.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        update: &ToxicUpdate,
    ) -> Result<Toxic, ClientError> {
        let body = self.encode(update)?;
        self.json(
            Method::PATCH,
            &["proxies", proxy, "toxics", name],
            Some(body),
        )
        .await
    }

    /// Removes a toxic.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ClientError> {
        self.call(Method::DELETE, &["proxies", proxy, "toxics", name], None)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        let client = Client::new("http://127.0.0.1:8474/").unwrap();
        assert_eq!(
            client.url(&["proxies", "a b/c"]).as_str(),
            "http://127.0.0.1:8474/proxies/a%20b%2Fc"
        );
        assert!(Client::new("not a url").is_err());
        assert!(Client::new("ftp://x").is_err());
    }
}
