//! Forwarding one request to the upstream provider and its answer back,
//! unchanged but for the hop-by-hop headers.
//!
//! The upstream client is reqwest with rustls: the system's root
//! certificates plus, optionally, a private CA (`--upstream-ca`). It never
//! follows redirects (a 3xx goes back to the client), never uses a proxy from
//! the environment, and bounds a stalled upstream: `timeout` for connecting,
//! for the response head and between two body chunks. Errors are reported
//! without the URL (which may carry a key in its query).

use std::time::Duration;

use axum::http::header::{self, HeaderMap, HeaderName};
use axum::http::request::Parts;
use bytes::Bytes;

use crate::lab::llm_fault::failure::Failure;

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream URL is not an absolute `http://` or `https://` URL.
    #[error("upstream URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file holds no usable PEM certificate.
    #[error("upstream CA: {0}")]
    BadCa(String),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
}

/// The provider the gateway forwards to.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    /// The base URL without a trailing slash; request paths are appended.
    base: String,
    /// The same, parsed once: a request's URL is this one with its path
    /// extended, never the host parsed again.
    base_url: reqwest::Url,
}

impl Upstream {
    /// An upstream at `url` (`https://api.openai.com`, `http://127.0.0.1:8601`,
    /// or with a path prefix such as `http://host/openai`), trusting the
    /// system's roots and the PEM certificates in `ca_pem`.
    pub fn new(
        url: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Upstream, UpstreamError> {
        let bad = |reason: &str| UpstreamError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|error| bad(&error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.host_str().is_none() {
            return Err(bad("no host"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("a base URL takes no query or fragment"));
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .tcp_nodelay(true);
        if let Some(pem) = ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|error| UpstreamError::BadCa(error.to_string()))?;
            if certificates.is_empty() {
                return Err(UpstreamError::BadCa(
                    "no PEM certificate in the file".to_owned(),
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|error| UpstreamError::Client(error.to_string()))?;
        let base = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(Upstream {
            client,
            base,
            base_url: parsed,
        })
    }

    /// The upstream URL of a request to `uri`: the base's path prefix, then
    /// the request's path and query.
    fn url_for(&self, uri: &axum::http::Uri) -> reqwest::Url {
        let mut url = self.base_url.clone();
        let prefix = self.base_url.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{}", uri.path()));
        url.set_query(uri.query());
        url
    }

    /// The base URL requests are forwarded to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends the request (`parts` and its whole `body`) upstream; returns
    /// the upstream's response once its head has arrived. With `identity`,
    /// asks for an uncompressed body (when a mode must read it).
    pub async fn send(
        &self,
        parts: &Parts,
        body: Bytes,
        identity: bool,
    ) -> Result<reqwest::Response, Failure> {
        let url = self.url_for(&parts.uri);
        let mut headers = without_hop_by_hop(&parts.headers);
        headers.remove(header::HOST);
        headers.remove(header::CONTENT_LENGTH);
        if identity {
            headers.insert(
                header::ACCEPT_ENCODING,
                header::HeaderValue::from_static("identity"),
            );
        }
        let had_body = !body.is_empty()
            || parts.headers.contains_key(header::CONTENT_LENGTH)
            || parts.headers.contains_key(header::TRANSFER_ENCODING);
        let mut request = self
            .client
            .request(parts.method.clone(), url)
            .headers(headers);
        if had_body {
            request = request.body(body);
        }
        request.send().await.map_err(upstream_failure)
    }
}

/// The failure a client gets when the upstream could not answer.
pub fn upstream_failure(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::UpstreamTimeout;
    }
    let error = error.without_url();
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::UpstreamFailed(reason)
}

/// Headers that concern one connection, not the message; a proxy drops them.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// `headers` without the hop-by-hop ones (the fixed list, `upgrade`, and any
/// header the `Connection` header names). Everything else, API keys
/// included, is kept as it is.
pub fn without_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut kept = headers.clone();
    for name in HOP_BY_HOP {
        kept.remove(name);
    }
    kept.remove(header::UPGRADE);
    for name in named {
        kept.remove(name);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hop_by_hop_headers_go_and_keys_stay() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer sk-test"));
        headers.insert("x-api-key", HeaderValue::from_static("key"));
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-trace"),
        );
        headers.insert("x-trace", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        let kept = without_hop_by_hop(&headers);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept["authorization"], "Bearer sk-test");
        assert_eq!(kept["x-api-key"], "key");
    }

    #[test]
    fn upstream_urls_are_checked() {
        let timeout = Duration::from_secs(1);
        assert!(Upstream::new("ftp://host", None, timeout).is_err());
        assert!(Upstream::new("not a url", None, timeout).is_err());
        assert!(Upstream::new("http://host/?key=1", None, timeout).is_err());
        let ca = Upstream::new("https://host", Some(b"not pem"), timeout);
        assert!(matches!(ca, Err(UpstreamError::BadCa(_))), "{ca:?}");
        let prefixed = Upstream::new("http://127.0.0.1:9/openai/", None, timeout).expect("valid");
        assert_eq!(prefixed.base(), "http://127.0.0.1:9/openai");
        let url = |upstream: &Upstream, uri: &str| {
            upstream
                .url_for(&uri.parse().expect("a request URI"))
                .to_string()
        };
        assert_eq!(
            url(&prefixed, "/v1/chat/completions?stream=true"),
            "http://127.0.0.1:9/openai/v1/chat/completions?stream=true"
        );
        let root = Upstream::new("https://api.example.com", None, timeout).expect("valid");
        assert_eq!(
            url(&root, "/v1/models/a%20b"),
            "https://api.example.com/v1/models/a%20b"
        );
        assert_eq!(url(&root, "/"), "https://api.example.com/");
    }
}
