//! Applying the timeline's faults and undoing them on every exit path.
//!
//! Each fault's revert is computed and journaled (`faults.jsonl`) *before*
//! the fault is applied, and registered here; whatever ends the run —
//! success, a failed expectation, a halt condition, Ctrl-C, SIGTERM, a
//! panicking task — the runner calls [`Rollback::revert_all`], which undoes
//! every fault not yet reverted, newest first, with retries. A revert that
//! still fails is recorded as `revert_error` and reported loudly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::journal::{FaultEvent, Journal};
use crate::faults::action::{FaultAction, FaultContext, RevertAction};
use crate::faults::toxiproxy::{NewToxic, Stream, ToxicKind};
use crate::plan::FaultWindow;
use crate::scenario::model::{self, Fault};

/// Registered faults and how to undo them.
pub struct Rollback {
    context: FaultContext,
    journal: Arc<Journal>,
    start: Instant,
    pending: Mutex<BTreeMap<usize, (String, RevertAction)>>,
}

impl Rollback {
    /// An empty registry; `start` is the run's time zero.
    pub fn new(context: FaultContext, journal: Arc<Journal>, start: Instant) -> Self {
        Self {
            context,
            journal,
            start,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    /// Applies fault `index` of the record (journaled first). A fault whose
    /// apply fails is reverted at once, in case it was half applied.
    pub async fn apply(&self, index: usize, fault: &FaultWindow) {
        let action = match to_action(&fault.name, &fault.fault) {
            Ok(action) => action,
            Err(error) => {
                self.record(index, |r| r.apply_error = Some(error));
                return;
            }
        };
        let revert = match self.context.revert_for(&action).await {
            Ok(revert) => revert,
            Err(error) => {
                self.record(index, |r| {
                    r.apply_error = Some(format!("preparing the revert: {error}"))
                });
                return;
            }
        };
        self.event("applying", &fault.name, &revert, None);
        self.lock()
            .insert(index, (fault.name.clone(), revert.clone()));
        match self.context.apply(&action).await {
            Ok(()) => {
                let t = self.now();
                self.record(index, |r| r.applied_at_s = Some(t));
                self.event("applied", &fault.name, &revert, None);
                tracing::info!(fault = %fault.name, "applied {}", fault.fault);
            }
            Err(error) => {
                let message = error.to_string();
                self.event("apply_failed", &fault.name, &revert, Some(&message));
                tracing::error!(fault = %fault.name, %message, "could not apply fault");
                self.record(index, |r| r.apply_error = Some(message));
                self.revert(index).await;
            }
        }
    }

    /// Reverts fault `index` if it is registered and not yet reverted.
    pub async fn revert(&self, index: usize) {
        let Some((name, revert)) = self.lock().remove(&index) else {
            return;
        };
        match self.context.revert(&revert).await {
            Ok(()) => {
                let t = self.now();
                self.record(index, |r| r.reverted_at_s = Some(t));
                self.event("reverted", &name, &revert, None);
                tracing::info!(fault = %name, "reverted");
            }
            Err(error) => {
                let message = format!("{error} (after retries; the fault may still be in place)");
                tracing::error!(fault = %name, %message, "REVERT FAILED");
                self.event("revert_failed", &name, &revert, Some(&message));
                self.record(index, |r| r.revert_error = Some(message));
            }
        }
    }

    /// Reverts everything still registered, newest first.
    pub async fn revert_all(&self) {
        let indices: Vec<usize> = self.lock().keys().rev().copied().collect();
        for index in indices {
            self.revert(index).await;
        }
    }

    /// Names of faults currently applied (for the progress line).
    pub fn active(&self) -> Vec<String> {
        self.lock().values().map(|(name, _)| name.clone()).collect()
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn record(&self, index: usize, change: impl FnOnce(&mut crate::results::FaultRecord)) {
        let result = self.journal.update(|record| {
            if let Some(fault) = record.faults.get_mut(index) {
                change(fault);
            }
        });
        if let Err(error) = result {
            tracing::error!(%error, "cannot write the journal");
        }
    }

    fn event(&self, event: &str, fault: &str, revert: &RevertAction, error: Option<&str>) {
        let line = FaultEvent {
            event,
            fault,
            revert,
            t: self.now(),
            error,
        };
        if let Err(error) = self.journal.fault_event(&line) {
            tracing::error!(%error, "cannot write the fault journal");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, (String, RevertAction)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The backend action for a scenario fault.
pub fn to_action(name: &str, fault: &Fault) -> Result<FaultAction, String> {
    Ok(match fault {
        Fault::Toxic { proxy, toxic } => {
            let attributes: BTreeMap<String, i64> = toxic
                .attributes
                .iter()
                .map(|(key, value)| {
                    value
                        .as_i64()
                        .map(|v| (key.clone(), v))
                        .ok_or_else(|| format!("toxic attribute {key} is not an integer"))
                })
                .collect::<Result<_, _>>()?;
            let kind = ToxicKind::from_parts(toxic.kind.name(), &attributes).ok_or_else(|| {
                format!(
                    "toxic {} with attributes {attributes:?} is not valid",
                    toxic.kind
                )
            })?;
            let stream = match toxic.stream {
                model::Stream::Upstream => Stream::Upstream,
                model::Stream::Downstream => Stream::Downstream,
            };
            FaultAction::Toxic {
                proxy: proxy.clone(),
                toxic: NewToxic::new(stream, kind)
                    .named(format!("gameday-{name}"))
                    .with_toxicity(toxic.toxicity as f32),
            }
        }
        Fault::ProxyDown { proxy } => FaultAction::ProxyDown {
            proxy: proxy.clone(),
        },
        Fault::Kill { service } => FaultAction::Kill { service: *service },
        Fault::Freeze { service } => FaultAction::Freeze { service: *service },
        Fault::Restart { service } => FaultAction::Restart { service: *service },
        Fault::Llm { provider, mode } => FaultAction::Llm {
            provider: provider.to_string(),
            mode: mode.clone(),
        },
        Fault::Exec {
            command,
            revert,
            timeout,
        } => FaultAction::Exec {
            command: command.clone(),
            revert: revert.clone(),
            timeout: *timeout,
        },
    })
}
