//! Deep health checks: PostgreSQL `SELECT 1`, Redis `PING` and the LLM layer,
//! checked concurrently, each bounded by a timeout and judged against latency
//! thresholds; the overall status is the worst component's.
//!
//! The LLM is never called on every check: its probe (one tiny request to
//! each provider, bypassing the breakers) is cached for
//! `llm_probe_interval` and refreshed in the background. LLM status:
//! healthy when the primary answers, degraded when only a fallback does,
//! unhealthy when none does. The breakers refine that between probes: an
//! open primary breaker means at most degraded, every breaker open means
//! unhealthy.
//!
//! A background monitor keeps the latest report (and the capability map
//! derived from it) fresh for the request path, which never waits on a check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::config::HealthSettings;
use super::degradation::Capabilities;
use super::llm::{BreakerState, FailoverClient};
use super::storage::cache::RedisStore;
use super::storage::history::PgHistory;
use crate::clock::Clock;

/// How long a dependency must answer slowly, check after check, before it is
/// degraded for latency.
pub const SLOW_FOR_BEFORE_DEGRADED: Duration = Duration::from_millis(500);

/// How a component (or the whole platform) is doing. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Answering within its threshold.
    Healthy,
    /// Answering, but slowly or only partly.
    Degraded,
    /// Not answering.
    Unhealthy,
}

/// One component's check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentHealth {
    /// `database`, `redis` or `llm`.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// How long the check took.
    pub latency_ms: f64,
    /// What was observed, for humans.
    pub message: String,
}

/// The `/health` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The worst component status.
    pub status: Status,
    /// Every component, in the order database, redis, llm.
    pub components: Vec<ComponentHealth>,
    /// When the report was made (RFC 3339, UTC).
    pub timestamp: String,
}

impl HealthReport {
    /// The status of the named component (unhealthy if absent).
    pub fn component(&self, name: &str) -> Status {
        self.components
            .iter()
            .find(|c| c.name == name)
            .map_or(Status::Unhealthy, |c| c.status)
    }

    /// The capability map this health implies.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::from_health(
            self.component("llm"),
            self.component("database"),
            self.component("redis"),
        )
    }
}

/// Runs the checks and holds the latest report.
pub struct HealthChecker {
    redis: RedisStore,
    database: Arc<PgHistory>,
    llm: Arc<FailoverClient>,
    settings: HealthSettings,
    clock: Arc<dyn Clock>,
    llm_probe: Mutex<Option<(Instant, ComponentHealth)>>,
    /// Since when database and Redis have answered slowly, check after check.
    slow_since: Mutex<[Option<Instant>; 2]>,
    probe_in_flight: AtomicBool,
    latest: RwLock<(HealthReport, Capabilities)>,
}

impl std::fmt::Debug for HealthChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthChecker")
            .field("settings", &self.settings)
            .finish()
    }
}

impl HealthChecker {
    /// A checker whose latest report is "unknown = unhealthy" until the first check.
    pub fn new(
        redis: RedisStore,
        database: Arc<PgHistory>,
        llm: Arc<FailoverClient>,
        settings: HealthSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let unknown = |name: &str| ComponentHealth {
            name: name.to_owned(),
            status: Status::Unhealthy,
            latency_ms: 0.0,
            message: "not checked yet".to_owned(),
        };
        let report = HealthReport {
            status: Status::Unhealthy,
            components: vec![unknown("database"), unknown("redis"), unknown("llm")],
            timestamp: crate::timestamp::now_rfc3339(),
        };
        let capabilities = report.capabilities();
        Self {
            redis,
            database,
            llm,
            settings,
            clock,
            llm_probe: Mutex::new(None),
            slow_since: Mutex::new([None; 2]),
            probe_in_flight: AtomicBool::new(false),
            latest: RwLock::new((report, capabilities)),
        }
    }

    /// The latest report, without checking anything.
    pub fn latest(&self) -> HealthReport {
        self.read_latest().0.clone()
    }

    /// The capabilities implied by the latest report.
    pub fn capabilities(&self) -> Capabilities {
        self.read_latest().1
    }

    /// Checks database and Redis now (concurrently), uses the cached LLM
    /// probe (refreshing it in the background when stale, or waiting for it
    /// when there is none yet), stores and returns the report.
    pub async fn check(self: &Arc<Self>) -> HealthReport {
        let timeout = self.settings.check_timeout;
        let database = timed(self.database.ping(timeout));
        let redis = timed(self.redis.ping(timeout));
        let llm = self.llm_health();
        let ((db_result, db_latency), (redis_result, redis_latency), llm) =
            tokio::join!(database, redis, llm);
        let database = judge(
            "database",
            db_result.map_err(|e| e.to_string()),
            db_latency,
            self.settings.database_degraded_after,
        );
        let redis = judge(
            "redis",
            redis_result.map_err(|e| e.to_string()),
            redis_latency,
            self.settings.redis_degraded_after,
        );
        let [database, redis] = self.with_hysteresis([database, redis]);
        let components = vec![database, redis, llm];
        let report = HealthReport {
            status: components
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(Status::Unhealthy),
            components,
            timestamp: crate::timestamp::now_rfc3339(),
        };
        let capabilities = report.capabilities();
        *self
            .latest
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = (report.clone(), capabilities);
        report
    }

    /// A slow answer is noise (a scheduling hiccup on a busy machine), not a
    /// degraded dependency: a component is reported degraded for latency only
    /// once its checks have been slow without interruption for at least
    /// [`SLOW_FOR_BEFORE_DEGRADED`]. Errors and timeouts count at once.
    fn with_hysteresis(&self, mut components: [ComponentHealth; 2]) -> [ComponentHealth; 2] {
        let mut slow_since = self
            .slow_since
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hysteresis(&mut components, &mut slow_since, self.clock.now());
        components
    }

    /// Refreshes the report every `interval` until the task is aborted.
    pub async fn monitor(self: Arc<Self>) {
        loop {
            self.check().await;
            tokio::time::sleep(self.settings.interval).await;
        }
    }

    async fn llm_health(self: &Arc<Self>) -> ComponentHealth {
        let cached = self
            .llm_probe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let probe = match cached {
            None => self.refresh_probe().await,
            Some((at, probe)) => {
                if self.clock.now().saturating_duration_since(at)
                    >= self.settings.llm_probe_interval
                    && !self.probe_in_flight.swap(true, Ordering::AcqRel)
                {
                    let checker = Arc::clone(self);
                    tokio::spawn(async move {
                        checker.refresh_probe().await;
                        checker.probe_in_flight.store(false, Ordering::Release);
                    });
                }
                probe
            }
        };
        self.with_breakers(probe)
    }

    async fn refresh_probe(&self) -> ComponentHealth {
        let started = Instant::now();
        let probes = self.llm.probe().await;
        let latency = started.elapsed();
        let primary = probes.first();
        let answering: Vec<&str> = probes
            .iter()
            .filter(|p| p.ok)
            .map(|p| p.provider.as_str())
            .collect();
        let failures: Vec<String> = probes
            .iter()
            .filter(|p| !p.ok)
            .map(|p| format!("{}: {}", p.provider, p.error.as_deref().unwrap_or("failed")))
            .collect();
        let (status, message) = match primary {
            None => (Status::Unhealthy, "no LLM provider configured".to_owned()),
            Some(primary) if primary.ok => {
                if primary.latency > self.settings.llm_degraded_after {
                    (
                        Status::Degraded,
                        format!(
                            "primary {} answered slowly ({} ms)",
                            primary.provider,
                            primary.latency.as_millis()
                        ),
                    )
                } else {
                    (
                        Status::Healthy,
                        format!("primary {} answered", primary.provider),
                    )
                }
            }
            Some(_) if !answering.is_empty() => (
                Status::Degraded,
                format!(
                    "served by fallback {}; {}",
                    answering.join(", "),
                    failures.join("; ")
                ),
            ),
            Some(_) => (
                Status::Unhealthy,
                format!("no provider answered: {}", failures.join("; ")),
            ),
        };
        let health = ComponentHealth {
            name: "llm".to_owned(),
            status,
            latency_ms: latency.as_secs_f64() * 1000.0,
            message,
        };
        *self
            .llm_probe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((self.clock.now(), health.clone()));
        health
    }

    /// Between probes, the breakers know more: an open primary breaker means
    /// the primary is failing right now; every breaker open means nothing answers.
    fn with_breakers(&self, mut probe: ComponentHealth) -> ComponentHealth {
        let breakers = self.llm.breakers();
        let open = |state: BreakerState| state == BreakerState::Open;
        if !breakers.is_empty() && breakers.iter().all(|b| open(b.snapshot.state)) {
            probe.status = Status::Unhealthy;
            probe.message = format!("every provider's breaker is open; probe: {}", probe.message);
        } else if breakers.first().is_some_and(|b| open(b.snapshot.state))
            && probe.status == Status::Healthy
        {
            probe.status = Status::Degraded;
            probe.message = format!("breaker of primary {} is open", breakers[0].provider);
        }
        probe
    }

    fn read_latest(&self) -> std::sync::RwLockReadGuard<'_, (HealthReport, Capabilities)> {
        self.latest
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Applies the slow-answer hysteresis to database and Redis results.
fn hysteresis(
    components: &mut [ComponentHealth; 2],
    slow_since: &mut [Option<Instant>; 2],
    now: Instant,
) {
    for (component, since) in components.iter_mut().zip(slow_since.iter_mut()) {
        match component.status {
            Status::Degraded => {
                let start = *since.get_or_insert(now);
                let slow_for = now.saturating_duration_since(start);
                if slow_for < SLOW_FOR_BEFORE_DEGRADED {
                    component.status = Status::Healthy;
                    component.message = format!(
                        "{} (slow for {} ms; not yet degraded)",
                        component.message,
                        slow_for.as_millis()
                    );
                }
            }
            // A failed check is worse than a slow one: the next slow answer
            // is degraded at once, not the start of a new slow spell.
            Status::Unhealthy => {
                *since = Some(now.checked_sub(SLOW_FOR_BEFORE_DEGRADED).unwrap_or(now));
            }
            Status::Healthy => *since = None,
        }
    }
}

async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let value = future.await;
    (value, started.elapsed())
}

fn judge(
    name: &str,
    result: Result<(), String>,
    latency: Duration,
    degraded_after: Duration,
) -> ComponentHealth {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let (status, message) = match result {
        Err(error) => (Status::Unhealthy, error),
        Ok(()) if latency > degraded_after => (
            Status::Degraded,
            format!(
                "answered in {latency_ms:.0} ms, above the {} ms threshold",
                degraded_after.as_millis()
            ),
        ),
        Ok(()) => (Status::Healthy, "ok".to_owned()),
    };
    ComponentHealth {
        name: name.to_owned(),
        status,
        latency_ms,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_uses_error_then_threshold() {
        let threshold = Duration::from_millis(100);
        let fast = judge("database", Ok(()), Duration::from_millis(5), threshold);
        assert_eq!(fast.status, Status::Healthy);
        let slow = judge("database", Ok(()), Duration::from_millis(300), threshold);
        assert_eq!(slow.status, Status::Degraded);
        assert!(
            slow.message.contains("100 ms threshold"),
            "{}",
            slow.message
        );
        let down = judge("database", Err("refused".into()), Duration::ZERO, threshold);
        assert_eq!(down.status, Status::Unhealthy);
        assert_eq!(down.message, "refused");
    }

    #[test]
    fn a_short_slow_spell_is_noise_but_a_slow_check_after_a_failure_is_not() {
        let threshold = Duration::from_millis(50);
        let slow = || judge("redis", Ok(()), Duration::from_millis(80), threshold);
        let failed = || judge("redis", Err("timed out".into()), Duration::ZERO, threshold);
        let fast = || judge("redis", Ok(()), Duration::from_millis(1), threshold);
        let clock = crate::clock::ManualClock::new();
        let mut since = [None; 2];
        let mut checks = [slow(), slow()];
        hysteresis(&mut checks, &mut since, clock.now());
        assert_eq!(checks[0].status, Status::Healthy, "first slow answer");
        clock.advance(Duration::from_millis(200));
        let mut checks = [slow(), failed()];
        hysteresis(&mut checks, &mut since, clock.now());
        assert_eq!(checks[0].status, Status::Healthy, "slow for 200 ms only");
        assert_eq!(checks[1].status, Status::Unhealthy);
        clock.advance(Duration::from_millis(400));
        let mut checks = [slow(), slow()];
        hysteresis(&mut checks, &mut since, clock.now());
        assert_eq!(checks[0].status, Status::Degraded, "slow for 600 ms");
        assert_eq!(
            checks[1].status,
            Status::Degraded,
            "slow right after a failure"
        );
        let mut checks = [fast(), fast()];
        hysteresis(&mut checks, &mut since, clock.now());
        assert_eq!(since, [None, None]);
    }

    #[test]
    fn statuses_order_from_best_to_worst() {
        assert!(Status::Healthy < Status::Degraded && Status::Degraded < Status::Unhealthy);
        assert_eq!(
            serde_json::to_string(&Status::Degraded).unwrap(),
            "\"degraded\""
        );
    }
}
