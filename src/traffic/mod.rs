//! The open-model traffic generator and its recorder.
//!
//! Requests start on a seeded schedule (constant or Poisson arrivals, an
//! operation mix over a pool of multi-turn conversations) whatever the
//! target does; latency counts from each request's *intended* start, so a
//! stalled target is measured in full (no coordinated omission). Arrivals
//! over `max_in_flight` are not sent and are counted as dropped load.
//! Results are HdrHistograms per phase and operation plus one-second
//! buckets that are summarised and dropped as each second closes: memory is
//! bounded whatever the duration, and there is never a per-request record.
//!
//! The path of a request, module by module:
//!
//! - [`spec`]: what to send and where ([`TrafficSpec`], [`Endpoints`]);
//! - [`schedule`]: when, which operation, which conversation (pure, seeded);
//! - [`generator`]: sends arrivals on time, bounds the requests in flight;
//! - [`request`]: one HTTP exchange, JSON or SSE, into a completion;
//! - [`http1`]: the lean keep-alive HTTP/1.1 client it uses for `http://`;
//! - [`sse`] and [`outcome`]: how an answer is read and classified (pure);
//! - [`failures`]: the distinct failures of a phase, and transport errors
//!   in words;
//! - [`phases`]: which phases a request counts in;
//! - [`recorder`], [`histogram`], [`seconds`]: the statistics and their
//!   summaries;
//! - [`live`]: the view other tasks read while the run goes;
//! - [`pool`]: whether the pool can carry the load at all;
//! - [`written`]: which conversations have had a turn sent or answered, so
//!   history reads go only to conversations gameday has written to.
//!
//! It does no orchestration (faults, observer, verdict are the runner's)
//! and logs no header value.

use std::time::Duration;

pub mod failures;
pub mod generator;
pub mod histogram;
pub mod http1;
pub mod live;
pub mod outcome;
pub mod phases;
pub mod pool;
pub mod recorder;
pub mod request;
pub mod schedule;
pub mod seconds;
pub mod spec;
pub mod sse;
pub mod written;

pub use generator::Generator;
pub use live::{LiveHandle, LiveSnapshot};
pub use outcome::OutcomeClass;
pub use pool::pool_warning;
pub use schedule::{Arrival, Operation, Schedule};
pub use spec::{Arrivals, Endpoints, Mix, TrafficSpec};

/// A request sent later than this after its intended start counts as late
/// (shown in [`LiveSnapshot::late`] and each phase's `late`; its latency
/// still counts from the intended start).
pub const LATE_AFTER: Duration = Duration::from_millis(10);

/// Whether a request intended at `intended` and sent at `sent` (offsets
/// from the run start) was late.
pub fn is_late(intended: Duration, sent: Duration) -> bool {
    sent > intended + LATE_AFTER
}

/// Why a generator could not be set up. Messages never contain header values.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// A field of the traffic spec is out of range.
    #[error("traffic: {0}")]
    InvalidSpec(String),
    /// A phase window is malformed.
    #[error("traffic phases: {0}")]
    InvalidPhases(String),
    /// The base URL or a path does not make a valid http(s) URL.
    #[error("traffic target URL {0}")]
    InvalidUrl(String),
    /// A header name or value is not valid HTTP (the value is not shown).
    #[error("traffic header '{0}' has an invalid name or value")]
    InvalidHeader(String),
    /// The HTTP client could not be built.
    #[error("traffic HTTP client: {0}")]
    Client(String),
    /// The histogram configuration was refused.
    #[error("traffic histogram: {0}")]
    Histogram(String),
}

/// A small valid spec for unit tests.
#[cfg(test)]
pub(crate) fn test_spec() -> TrafficSpec {
    TrafficSpec {
        rate: 100.0,
        arrivals: Arrivals::Constant,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(2),
        recovery: Duration::ZERO,
        mix: Mix {
            chat: 8,
            chat_stream: 1,
            history: 1,
        },
        conversations: 10,
        turns_per_conversation: None,
        timeout: Duration::from_secs(5),
        max_in_flight: 100,
        seed: 1,
    }
}
