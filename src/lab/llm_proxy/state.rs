//! The gateway's shared state: the active rule with its seeded generator,
//! the counters `GET /admin/stats` shows, and the shutdown signal.
//!
//! Locks are plain mutexes held for a few field updates, never across an
//! `.await`. The rule and the generator share one lock, so a decision always
//! uses the rule it was drawn under, in request order.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::lab::llm_fault::admin::AdminState;
use crate::lab::llm_fault::outcome::{Outcome, TokenPace, decide};
use crate::rng::Rng;
use crate::shutdown::Shutdown;

use super::rule::Rule;

/// A snapshot of the gateway's counters and its mode.
///
/// `requests` counts every proxied request when its fate is decided (admin
/// requests are not counted); `passed_through` + the sum of `injected` =
/// `requests` minus bad requests (400/413 from the gateway itself).
/// `by_status` counts the status each client got, when it got it: an
/// injected failure at once, a forwarded request when the upstream's head
/// arrives (or the gateway gives up on it: `upstream_errors`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// Proxied requests received.
    pub requests: u64,
    /// Answers by status (JSON keys are strings: `"503"`).
    pub by_status: BTreeMap<u16, u64>,
    /// Requests by path (no query); at most [`MAX_ROUTES`] paths, the rest
    /// under `"(other)"`.
    pub by_route: BTreeMap<String, u64>,
    /// Requests forwarded with no fault applied (healthy mode, a rate that
    /// spared them, or a `match` they did not fit).
    pub passed_through: u64,
    /// Requests the mode affected, by mode name (`"errors"`, `"latency"`, …).
    pub injected: BTreeMap<String, u64>,
    /// Responses the `cut_stream` mode broke off.
    pub streams_cut: u64,
    /// Requests the `hang` mode never answered.
    pub hung: u64,
    /// Requests the gateway answered 502/504 because the upstream failed or
    /// timed out (counted in `by_status` too).
    pub upstream_errors: u64,
    /// The active mode when the snapshot was taken.
    pub mode: Rule,
}

/// Distinct paths counted in `by_route`; later new paths count under
/// [`OTHER_ROUTES`], so clients cannot grow the counters without bound.
pub const MAX_ROUTES: usize = 256;

/// The `by_route` key of paths past [`MAX_ROUTES`].
pub const OTHER_ROUTES: &str = "(other)";

impl ProxyStats {
    fn count_route(&mut self, route: &str) {
        let key = if self.by_route.contains_key(route) || self.by_route.len() < MAX_ROUTES {
            route
        } else {
            OTHER_ROUTES
        };
        *self.by_route.entry(key.to_owned()).or_default() += 1;
    }
}

/// Everything the handlers share.
pub struct ProxyState {
    /// The gateway's name (logs and the `x-gameday-llm-proxy` header).
    pub name: String,
    /// Resolves when the gateway shuts down; ends hangs, delays and streams.
    pub shutdown: Shutdown,
    engine: Mutex<Engine>,
    stats: Mutex<ProxyStats>,
}

struct Engine {
    rule: Rule,
    rng: Rng,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters and a mode cannot be left half-updated in a way that matters.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the gateway does with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The outcome; a request the mode does not affect gets a plain answer.
    pub outcome: Outcome,
    /// Whether the mode affected it.
    pub injected: bool,
}

impl ProxyState {
    /// State for a gateway starting in `rule`.
    pub fn new(name: String, rule: Rule, seed: Option<u64>, shutdown: Shutdown) -> ProxyState {
        ProxyState {
            name,
            shutdown,
            engine: Mutex::new(Engine {
                rule,
                rng: seed.map_or_else(Rng::from_entropy, Rng::new),
            }),
            stats: Mutex::new(ProxyStats::default()),
        }
    }

    /// The active rule.
    pub fn rule(&self) -> Rule {
        lock(&self.engine).rule.clone()
    }

    /// Whether the active rule needs the request's model.
    pub fn wants_model(&self) -> bool {
        lock(&self.engine).rule.wants_model()
    }

    /// Replaces the rule; returns the previous one.
    pub fn set_rule(&self, rule: Rule) -> Rule {
        std::mem::replace(&mut lock(&self.engine).rule, rule)
    }

    /// Decides and counts one request on `route` for `model`.
    pub fn decide(&self, route: &str, model: Option<&str>) -> Decision {
        let (outcome, mode_name, applies) = {
            let mut engine = lock(&self.engine);
            let Engine { rule, rng } = &mut *engine;
            if rule.applies_to(route, model) {
                (decide(&rule.mode, rng), rule.mode.name(), true)
            } else {
                (plain_answer(), rule.mode.name(), false)
            }
        };
        let injected = applies && outcome != plain_answer();
        let mut stats = lock(&self.stats);
        stats.requests += 1;
        stats.count_route(route);
        if injected {
            *stats.injected.entry(mode_name.to_owned()).or_default() += 1;
        } else {
            stats.passed_through += 1;
        }
        if outcome == Outcome::Hang {
            stats.hung += 1;
        }
        Decision { outcome, injected }
    }

    /// Counts a request rejected before any decision (400/413).
    pub fn record_rejected(&self, route: &str, status: u16) {
        let mut stats = lock(&self.stats);
        stats.requests += 1;
        stats.count_route(route);
        *stats.by_status.entry(status).or_default() += 1;
    }

    /// Counts the status a client got.
    pub fn record_status(&self, status: u16) {
        *lock(&self.stats).by_status.entry(status).or_default() += 1;
    }

    /// Counts a 502/504 the gateway gave because of its upstream.
    pub fn record_upstream_error(&self, status: u16) {
        let mut stats = lock(&self.stats);
        stats.upstream_errors += 1;
        *stats.by_status.entry(status).or_default() += 1;
    }

    /// Counts a response the `cut_stream` mode broke off.
    pub fn record_cut(&self) {
        lock(&self.stats).streams_cut += 1;
    }

    /// A snapshot of the counters and the active rule.
    pub fn stats(&self) -> ProxyStats {
        let mut stats = lock(&self.stats).clone();
        stats.mode = self.rule();
        stats
    }

    /// Zeroes the counters; returns the snapshot taken just before.
    pub fn reset_stats(&self) -> ProxyStats {
        let mut stats = std::mem::take(&mut *lock(&self.stats));
        stats.mode = self.rule();
        stats
    }
}

fn plain_answer() -> Outcome {
    Outcome::Answer {
        delay: std::time::Duration::ZERO,
        pace: TokenPace::default(),
    }
}

impl AdminState for ProxyState {
    type Mode = Rule;
    type Stats = ProxyStats;

    fn name(&self) -> &str {
        &self.name
    }

    fn mode(&self) -> Rule {
        self.rule()
    }

    fn set_mode(&self, rule: Rule) -> Rule {
        self.set_rule(rule)
    }

    fn stats(&self) -> ProxyStats {
        ProxyState::stats(self)
    }

    fn reset_stats(&self) -> ProxyStats {
        ProxyState::reset_stats(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::llm_fault::mode::{Mode, Rate};
    use crate::lab::llm_proxy::rule::Match;

    #[test]
    fn unmatched_requests_pass_and_draw_nothing() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let rule = Rule {
            mode: Mode::Overloaded {
                rate: Rate::new(0.5).expect("rate"),
            },
            matcher: Some(Match {
                route: None,
                model: Some("a".into()),
            }),
        };
        let state = ProxyState::new("g".into(), rule.clone(), Some(3), shutdown.clone());
        let twin = ProxyState::new("g".into(), rule, Some(3), shutdown);
        let mut first = Vec::new();
        for _ in 0..50 {
            assert!(!state.decide("/v1/x", Some("b")).injected);
            first.push(state.decide("/v1/x", Some("a")).outcome);
        }
        let second: Vec<Outcome> = (0..50)
            .map(|_| twin.decide("/v1/x", Some("a")).outcome)
            .collect();
        assert_eq!(
            first, second,
            "the unmatched requests drew from the generator"
        );
        let stats = state.stats();
        assert_eq!(stats.requests, 100);
        let injected = stats.injected.get("overloaded").copied().unwrap_or(0);
        assert_eq!(stats.passed_through + injected, 100);
        assert!(injected > 0 && injected < 50, "{injected}");
    }

    #[test]
    fn distinct_routes_are_bounded() {
        let (_trigger, shutdown) = crate::shutdown::channel();
        let state = ProxyState::new("g".into(), Rule::default(), Some(1), shutdown);
        for index in 0..MAX_ROUTES + 10 {
            state.decide(&format!("/v1/files/{index}"), None);
        }
        state.decide("/v1/files/0", None);
        let stats = state.stats();
        assert_eq!(stats.by_route.len(), MAX_ROUTES + 1);
        assert_eq!(stats.by_route.get(OTHER_ROUTES), Some(&10));
        assert_eq!(stats.by_route.get("/v1/files/0"), Some(&2));
    }
}
