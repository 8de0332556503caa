//! The admin API the game-day runner drives: read and switch the mode, read
//! and reset the counters. Admin requests are never subject to the failure
//! mode and are not counted in the stats.
//!
//! - `GET /admin/mode` → the active mode as JSON
//! - `PUT /admin/mode` (body: mode JSON) → the new mode; 400 with
//!   `{"error": {"type": "invalid_mode", "message"}}` for a bad body
//! - `GET /admin/stats` → [`Stats`](super::stats::Stats)
//! - `POST /admin/stats/reset` → the stats just before they were zeroed

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::body::read_limited;
use super::mode::Mode;
use super::state::SimState;

/// The largest mode body accepted; a mode is a few dozen bytes.
const MAX_MODE_BYTES: usize = 64 * 1024;

/// The admin routes.
pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/admin/mode", get(get_mode).put(put_mode))
        .route("/admin/stats", get(get_stats))
        .route("/admin/stats/reset", post(reset_stats))
}

async fn get_mode(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(state.mode()).into_response()
}

async fn put_mode(State(state): State<Arc<SimState>>, body: Body) -> Response {
    let bytes = match read_limited(body, MAX_MODE_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => return invalid_mode(&error.to_string()),
    };
    match serde_json::from_slice::<Mode>(&bytes) {
        Ok(mode) => {
            let previous = state.set_mode(mode.clone());
            tracing::info!(sim = %state.name, from = %previous, to = %mode, "mode changed");
            axum::Json(mode).into_response()
        }
        Err(error) => invalid_mode(&format!("invalid mode: {error}")),
    }
}

fn invalid_mode(message: &str) -> Response {
    let body = json!({"error": {"type": "invalid_mode", "message": message}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

async fn get_stats(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(state.stats()).into_response()
}

async fn reset_stats(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(state.reset_stats()).into_response()
}
