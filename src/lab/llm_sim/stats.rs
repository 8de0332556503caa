//! Request counters the game-day runner reads (`GET /admin/stats`).
//!
//! A request is recorded once, when its outcome is decided (before any delay
//! or streaming), so the counts say what the simulator chose to do, not how
//! far the client got. Admin requests are not counted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::mode::Mode;

/// A snapshot of the counters and the active mode.
///
/// `requests` = sum of `by_status` + `hung` (hung requests have no status).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Provider requests received (valid or not).
    pub requests: u64,
    /// Requests by the status they were answered with (JSON keys are strings: `"503"`).
    pub by_status: BTreeMap<u16, u64>,
    /// Requests by route (`/v1/chat/completions`, `/v1/messages`).
    pub by_route: BTreeMap<String, u64>,
    /// Responses the `cut_stream` mode cut short.
    pub streams_cut: u64,
    /// Requests the `hang` mode never answered.
    pub hung: u64,
    /// The mode active when the snapshot was taken.
    pub mode: Mode,
}

/// How one request was disposed of, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Answered with this status (a cut response counts as its 200 too).
    Status { status: u16, cut: bool },
    /// Never answered.
    Hung,
}

impl Stats {
    /// Counts one request on `route`.
    pub fn record(&mut self, route: &str, recorded: Recorded) {
        self.requests += 1;
        *self.by_route.entry(route.to_owned()).or_default() += 1;
        match recorded {
            Recorded::Status { status, cut } => {
                *self.by_status.entry(status).or_default() += 1;
                if cut {
                    self.streams_cut += 1;
                }
            }
            Recorded::Hung => self.hung += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_serialize_with_string_keys() {
        let mut stats = Stats::default();
        stats.record(
            "/v1/messages",
            Recorded::Status {
                status: 200,
                cut: false,
            },
        );
        stats.record(
            "/v1/messages",
            Recorded::Status {
                status: 200,
                cut: true,
            },
        );
        stats.record(
            "/v1/chat/completions",
            Recorded::Status {
                status: 503,
                cut: false,
            },
        );
        stats.record("/v1/chat/completions", Recorded::Hung);
        assert_eq!(stats.requests, 4);
        assert_eq!(
            stats.by_status.values().sum::<u64>() + stats.hung,
            stats.requests
        );
        assert_eq!(stats.streams_cut, 1);

        let json = serde_json::to_value(&stats).expect("serialize");
        assert_eq!(json["by_status"]["200"], 2);
        assert_eq!(json["by_status"]["503"], 1);
        assert_eq!(json["by_route"]["/v1/messages"], 2);
        assert_eq!(json["mode"]["mode"], "healthy");
        let back: Stats = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, stats);
    }
}
