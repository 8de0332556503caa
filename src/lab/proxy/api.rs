//! The Toxiproxy-compatible HTTP API: routes, status codes, headers and
//! body formats of Toxiproxy 2.12, over the [`ProxyServer`] registry.
//!
//! Quirks kept on purpose because clients depend on them: toxic creation
//! answers 200 (not 201), errors are JSON with a text/plain content type and
//! a trailing newline, unknown paths get Go's plain-text 404 (unclean paths
//! such as `//proxies` a 301 to the clean path), and a wrong
//! method gets an empty 405 (HEAD included). Safety: a `User-Agent` starting
//! with `Mozilla/` is refused (403) so a web page cannot drive the API from
//! a browser, and bodies over [`BODY_LIMIT`] get 413. One addition:
//! `GET /version` also carries `instance`, this server's random id, so a
//! fault journal can check it still talks to the server it changed.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;

use super::error::ApiError;
use super::registry::ProxyServer;
use super::request;
use crate::faults::toxiproxy::model::{Populated, TOXIPROXY_VERSION};

/// The largest request body accepted; a populate of hundreds of proxies fits.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The API router over `server`.
pub fn router(server: ProxyServer) -> Router {
    Router::new()
        .route("/version", get(version).head(method_not_allowed))
        .route("/reset", post(reset))
        .route("/populate", post(populate))
        .route("/proxies", get(list).post(create).head(method_not_allowed))
        .route(
            "/proxies/{proxy}",
            get(show)
                .post(update)
                .patch(update)
                .delete(delete)
                .head(method_not_allowed),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(list_toxics).post(add_toxic).head(method_not_allowed),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(show_toxic)
                .post(update_toxic)
                .patch(update_toxic)
                .delete(remove_toxic)
                .head(method_not_allowed),
        )
        .route_layer(middleware::from_fn(guard))
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .with_state(server)
}

/// Serialises like Go's `encoding/json`: `<`, `>` and `&` escaped. They can
/// only occur inside strings, so replacing them is safe.
fn go_json<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    if !text.contains(['<', '>', '&']) {
        return text;
    }
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        go_json(value),
    )
        .into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = go_json(&self.body());
        body.push('\n');
        (
            status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response()
    }
}

/// Unknown paths: Go's plain-text 404, or, for a path that is not in clean
/// form (`//proxies`, `/a/../proxies`), a 301 to the clean path as gorilla/mux does.
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    let cleaned = clean_path(path);
    if cleaned != path {
        let location = match uri.query() {
            Some(query) => format!("{cleaned}?{query}"),
            None => cleaned.clone(),
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            return (
                StatusCode::MOVED_PERMANENTLY,
                [
                    (header::LOCATION, value),
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                ],
                format!(
                    "<a href=\"{}\">Moved Permanently</a>.\n\n",
                    html_escape(&location)
                ),
            )
                .into_response();
        }
    }
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "404 page not found\n",
    )
        .into_response()
}

/// Go's `path.Clean` for URL paths, keeping a trailing slash as mux does.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut cleaned = format!("/{}", parts.join("/"));
    if path.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn method_not_allowed() -> Response {
    StatusCode::METHOD_NOT_ALLOWED.into_response()
}

/// A request id in the shape of Toxiproxy's (20 base32hex characters).
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut bits = (u128::from(nanos) << 64)
        | (u128::from(std::process::id()) << 32)
        | u128::from(COUNTER.fetch_add(1, Ordering::Relaxed) as u32);
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut id = String::with_capacity(20);
    for _ in 0..20 {
        id.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    id
}

/// Runs on matched routes: the browser block and the request id header.
async fn guard(request: Request, next: Next) -> Response {
    let from_browser = request
        .headers()
        .get(header::USER_AGENT)
        .is_some_and(|agent| agent.as_bytes().starts_with(b"Mozilla/"));
    let mut response = if from_browser {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "User agent not allowed\n",
        )
            .into_response()
    } else {
        next.run(request).await
    };
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        response
            .headers_mut()
            .insert("x-toxiproxy-request-id", value);
    }
    response
}

/// Toxiproxy's answer, plus this server's instance id (an extra field
/// Toxiproxy clients ignore; see [`ProxyServer::instance`]).
async fn version(State(server): State<ProxyServer>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        format!(
            "{{\"version\": \"{TOXIPROXY_VERSION}\", \"instance\": \"{}\"}}\n",
            server.instance()
        ),
    )
        .into_response()
}

async fn list(State(server): State<ProxyServer>) -> Response {
    json(StatusCode::OK, &server.list().await)
}

async fn create(State(server): State<ProxyServer>, body: Bytes) -> Result<Response, ApiError> {
    let spec = request::new_proxy(&body)?;
    let proxy = server.create(spec).await?;
    Ok(json(StatusCode::CREATED, &proxy))
}

async fn populate(State(server): State<ProxyServer>, body: Bytes) -> Response {
    let outcome = match request::populate(&body) {
        Ok(specs) => server.populate(specs).await,
        Err(error) => Err((error, Vec::new())),
    };
    match outcome {
        Ok(proxies) => json(StatusCode::CREATED, &Populated { proxies }),
        Err((error, proxies)) => {
            #[derive(Serialize)]
            struct PopulateError<'a> {
                error: String,
                status: u16,
                proxies: Option<&'a [crate::faults::toxiproxy::model::Proxy]>,
            }
            let status =
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = PopulateError {
                error: error.to_string(),
                status: error.status(),
                proxies: (!proxies.is_empty()).then_some(proxies.as_slice()),
            };
            json(status, &body)
        }
    }
}

async fn reset(State(server): State<ProxyServer>) -> Result<Response, ApiError> {
    server.reset().await?;
    Ok(no_content())
}

async fn show(
    State(server): State<ProxyServer>,
    Path(proxy): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &server.get(&proxy).await?))
}

async fn update(
    State(server): State<ProxyServer>,
    Path(proxy): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &server.update(&proxy, &body).await?))
}

async fn delete(
    State(server): State<ProxyServer>,
    Path(proxy): Path<String>,
) -> Result<Response, ApiError> {
    server.delete(&proxy).await?;
    Ok(no_content())
}

async fn list_toxics(
    State(server): State<ProxyServer>,
    Path(proxy): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &server.toxics(&proxy).await?))
}

async fn add_toxic(
    State(server): State<ProxyServer>,
    Path(proxy): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &server.add_toxic(&proxy, &body).await?,
    ))
}

async fn show_toxic(
    State(server): State<ProxyServer>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, &server.toxic(&proxy, &toxic).await?))
}

async fn update_toxic(
    State(server): State<ProxyServer>,
    Path((proxy, toxic)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &server.update_toxic(&proxy, &toxic, &body).await?,
    ))
}

async fn remove_toxic(
    State(server): State<ProxyServer>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    server.remove_toxic(&proxy, &toxic).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths_like_go() {
        for (path, clean) in [
            ("/proxies", "/proxies"),
            ("//proxies", "/proxies"),
            ("/a/../proxies", "/proxies"),
            ("/./version", "/version"),
            ("/proxies/", "/proxies/"),
            ("/..", "/"),
        ] {
            assert_eq!(clean_path(path), clean, "{path}");
        }
    }

    #[test]
    fn go_json_escapes_html_characters() {
        assert_eq!(go_json(&"<a&b>"), r#""\u003ca\u0026b\u003e""#);
    }
}
