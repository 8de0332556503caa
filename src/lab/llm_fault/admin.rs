//! The admin API the game-day runner drives, the same on the simulator and on
//! the gateway: read and switch the mode, read and reset the counters. Admin
//! requests are never subject to the failure mode and are not counted.
//!
//! - `GET /admin/mode` → the active mode as JSON
//! - `PUT /admin/mode` (body: mode JSON) → the new mode; 400 with
//!   `{"error": {"type": "invalid_mode", "message"}}` for a bad body
//! - `GET /admin/stats` → the server's counters
//! - `POST /admin/stats/reset` → the counters just before they were zeroed
//!
//! A server plugs in by implementing [`AdminState`]: its mode type (the
//! simulator's [`Mode`](super::mode::Mode), the gateway's mode with a match)
//! and its counters.

use std::fmt::Display;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::body::read_limited;

/// The largest mode body accepted; a mode is a few dozen bytes.
const MAX_MODE_BYTES: usize = 64 * 1024;

/// What a server exposes to the admin API.
pub trait AdminState: Send + Sync + 'static {
    /// The mode as it is read and written in JSON.
    type Mode: Serialize + DeserializeOwned + Display + Clone + Send;
    /// The counters as `GET /admin/stats` shows them.
    type Stats: Serialize + Send;

    /// The server's name, for the log line of a mode change.
    fn name(&self) -> &str;
    /// The active mode.
    fn mode(&self) -> Self::Mode;
    /// Replaces the active mode; returns the previous one.
    fn set_mode(&self, mode: Self::Mode) -> Self::Mode;
    /// A snapshot of the counters.
    fn stats(&self) -> Self::Stats;
    /// Zeroes the counters; returns the snapshot taken just before.
    fn reset_stats(&self) -> Self::Stats;
}

/// The admin routes.
pub fn router<S: AdminState>() -> Router<Arc<S>> {
    Router::new()
        .route("/admin/mode", get(get_mode::<S>).put(put_mode::<S>))
        .route("/admin/stats", get(get_stats::<S>))
        .route("/admin/stats/reset", post(reset_stats::<S>))
}

async fn get_mode<S: AdminState>(State(state): State<Arc<S>>) -> Response {
    axum::Json(state.mode()).into_response()
}

async fn put_mode<S: AdminState>(State(state): State<Arc<S>>, body: Body) -> Response {
    let bytes = match read_limited(body, MAX_MODE_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => return invalid_mode(&error.to_string()),
    };
    match serde_json::from_slice::<S::Mode>(&bytes) {
        Ok(mode) => {
            let previous = state.set_mode(mode.clone());
            tracing::info!(server = %state.name(), from = %previous, to = %mode, "mode changed");
            axum::Json(mode).into_response()
        }
        Err(error) => invalid_mode(&format!("invalid mode: {error}")),
    }
}

fn invalid_mode(message: &str) -> Response {
    let body = json!({"error": {"type": "invalid_mode", "message": message}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

async fn get_stats<S: AdminState>(State(state): State<Arc<S>>) -> Response {
    axum::Json(state.stats()).into_response()
}

async fn reset_stats<S: AdminState>(State(state): State<Arc<S>>) -> Response {
    axum::Json(state.reset_stats()).into_response()
}
