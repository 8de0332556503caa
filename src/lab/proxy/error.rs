//! The API's error catalogue: each variant is one message and status from
//! Toxiproxy's wire protocol, so clients that match on either keep working.

use crate::faults::toxiproxy::model::ErrorBody;

/// An error answer of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON expected (400).
    #[error("bad request body: {0}")]
    BadBody(String),
    /// A required field is absent or empty (400).
    #[error("missing required field: {0}")]
    MissingField(String),
    /// A toxic attribute would crash or hang the proxy (400; Toxiproxy
    /// accepts these and then hangs or dies).
    #[error("invalid attribute: {0}")]
    InvalidAttribute(String),
    /// 404.
    #[error("proxy not found")]
    ProxyNotFound,
    /// 409.
    #[error("proxy already exists")]
    ProxyExists,
    /// 400.
    #[error("stream was invalid, can be either upstream or downstream")]
    InvalidStream,
    /// 400.
    #[error("invalid toxic type")]
    InvalidToxicType,
    /// 409.
    #[error("toxic already exists")]
    ToxicExists,
    /// 404.
    #[error("toxic not found")]
    ToxicNotFound,
    /// A listen address that cannot be resolved or bound (500, as in Toxiproxy).
    #[error("{0}")]
    Listen(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadBody(_)
            | ApiError::MissingField(_)
            | ApiError::InvalidAttribute(_)
            | ApiError::InvalidStream
            | ApiError::InvalidToxicType => 400,
            ApiError::ProxyNotFound | ApiError::ToxicNotFound => 404,
            ApiError::ProxyExists | ApiError::ToxicExists => 409,
            ApiError::Listen(_) => 500,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            status: self.status(),
        }
    }
}
