//! Applying the timeline's faults and undoing them on every exit path.
//!
//! Each fault's revert is computed and journaled (`faults.jsonl`) *before*
//! the fault is applied, and registered here; if that journal line cannot be
//! written the fault is not applied and the run stops with an error
//! ([`Rollback::journal_failed`]): a fault nobody could clean up after a
//! crash is never injected. Whatever ends the run — success, a failed
//! expectation, a halt condition, a signal, a panicking task — the runner
//! calls [`Rollback::revert_all`], which undoes every fault not yet
//! reverted, newest first, with retries. A revert that still fails is
//! recorded as `revert_error` and reported loudly.
//!
//! A run undoes only what it applied itself: toxic names carry the run id,
//! and an apply the backend refused (e.g. 409, a toxic of that name exists)
//! is journaled `not_applied` and not reverted. While the run goes on,
//! [`Rollback::check_intact`] looks for applied faults someone else undid
//! (another `gameday cleanup`, an operator) and records it as `lost`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use super::journal::{FaultEvent, FaultEventKind, Journal};
use crate::faults::action::{FaultAction, FaultContext, RevertAction};
use crate::faults::toxiproxy::{NewToxic, Stream, ToxicKind};
use crate::plan::FaultWindow;
use crate::scenario::model::{self, Fault};

/// A fault registered for rollback.
struct Registered {
    name: String,
    revert: RevertAction,
    /// The apply succeeded.
    applied: bool,
    /// Found undone by someone else (recorded once).
    lost: bool,
}

/// Registered faults and how to undo them.
pub struct Rollback {
    context: FaultContext,
    journal: Arc<Journal>,
    start: Instant,
    run_id: String,
    pending: Mutex<BTreeMap<usize, Registered>>,
    journal_error: watch::Sender<Option<String>>,
}

impl Rollback {
    /// An empty registry; `start` is the run's time zero; `run_id` goes into
    /// the names of the toxics this run creates.
    pub fn new(context: FaultContext, journal: Arc<Journal>, start: Instant, run_id: &str) -> Self {
        Self {
            context,
            journal,
            start,
            run_id: run_id.to_owned(),
            pending: Mutex::new(BTreeMap::new()),
            journal_error: watch::channel(None).0,
        }
    }

    /// Applies fault `index` of the record, journaled first: if its journal
    /// line cannot be written, nothing is applied and
    /// [`Rollback::journal_failed`] resolves. A fault whose apply fails is
    /// reverted at once in case it was half applied, unless the backend
    /// refused it outright (then it changed nothing, and whatever is there
    /// is not ours to remove).
    pub async fn apply(&self, index: usize, fault: &FaultWindow) {
        if self.journal_error.borrow().is_some() {
            self.record(index, |r| {
                r.apply_error = Some("not applied: the fault journal cannot be written".to_owned())
            });
            return;
        }
        let action = match to_action(&fault.name, &fault.fault, &self.run_id) {
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
        if let Err(error) = self.try_event(FaultEventKind::Applying, &fault.name, &revert, None) {
            let message = format!(
                "not applied: cannot write the fault journal {} ({error}); \
                 a fault is never applied without its revert on disk",
                self.journal.dir().join("faults.jsonl").display()
            );
            tracing::error!(fault = %fault.name, "{message}");
            self.record(index, |r| r.apply_error = Some(message.clone()));
            self.journal_error.send_replace(Some(message));
            return;
        }
        self.lock().insert(
            index,
            Registered {
                name: fault.name.clone(),
                revert: revert.clone(),
                applied: false,
                lost: false,
            },
        );
        match self.context.apply(&action).await {
            Ok(()) => {
                let t = self.now();
                if let Some(entry) = self.lock().get_mut(&index) {
                    entry.applied = true;
                }
                self.record(index, |r| r.applied_at_s = Some(t));
                self.event(FaultEventKind::Applied, &fault.name, &revert, None);
                tracing::info!(fault = %fault.name, "applied {}", fault.fault);
            }
            Err(error) if !error.may_have_applied() => {
                let message = error.to_string();
                self.lock().remove(&index);
                self.event(
                    FaultEventKind::NotApplied,
                    &fault.name,
                    &revert,
                    Some(&message),
                );
                tracing::error!(fault = %fault.name, %message, "could not apply fault");
                self.record(index, |r| r.apply_error = Some(message));
            }
            Err(error) => {
                let message = error.to_string();
                self.event(
                    FaultEventKind::ApplyFailed,
                    &fault.name,
                    &revert,
                    Some(&message),
                );
                tracing::error!(fault = %fault.name, %message, "could not apply fault");
                self.record(index, |r| r.apply_error = Some(message));
                self.revert(index).await;
            }
        }
    }

    /// Resolves (with the reason) once a fault journal line could not be
    /// written: the run must stop, as it can no longer apply anything.
    pub async fn journal_failed(&self) -> String {
        let mut errors = self.journal_error.subscribe();
        match errors.wait_for(Option::is_some).await {
            Ok(error) => error.clone().unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }

    /// Reverts fault `index` if it is registered and not yet reverted.
    pub async fn revert(&self, index: usize) {
        let Some(Registered { name, revert, .. }) = self.lock().remove(&index) else {
            return;
        };
        match self.context.revert(&revert).await {
            Ok(()) => {
                let t = self.now();
                self.record(index, |r| r.reverted_at_s = Some(t));
                self.event(FaultEventKind::Reverted, &name, &revert, None);
                tracing::info!(fault = %name, "reverted");
            }
            Err(error) => {
                let message = format!("{error} (after retries; the fault may still be in place)");
                tracing::error!(fault = %name, %message, "REVERT FAILED");
                self.event(FaultEventKind::RevertFailed, &name, &revert, Some(&message));
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

    /// Looks once at every applied fault that can be seen from outside (a
    /// toxic, a disabled proxy) and records those someone else undid.
    pub async fn check_intact(&self) {
        let applied: Vec<(usize, RevertAction)> = self
            .lock()
            .iter()
            .filter(|(_, entry)| entry.applied && !entry.lost)
            .map(|(index, entry)| (*index, entry.revert.clone()))
            .collect();
        for (index, revert) in applied {
            let Some(seen) = self.context.undone(&revert).await else {
                continue;
            };
            let t = self.now();
            // This run's own revert removes the entry before it acts: a
            // fault still registered was undone by someone else.
            let name = match self.lock().get_mut(&index) {
                Some(entry) if !entry.lost => {
                    entry.lost = true;
                    entry.name.clone()
                }
                _ => continue,
            };
            let message = format!(
                "found undone {t:.1} s into the run, not by this run: {seen} \
                 (another `gameday cleanup`, an operator, or a restarted proxy?)"
            );
            tracing::warn!(fault = %name, "{message}");
            self.record(index, |r| r.lost = Some(message));
        }
    }

    /// Names of faults currently applied (for the progress line).
    pub fn active(&self) -> Vec<String> {
        self.lock()
            .values()
            .map(|entry| entry.name.clone())
            .collect()
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

    fn try_event(
        &self,
        event: FaultEventKind,
        fault: &str,
        revert: &RevertAction,
        error: Option<&str>,
    ) -> std::io::Result<()> {
        self.journal.fault_event(&FaultEvent {
            event,
            fault,
            revert,
            t: Some(self.now()),
            error,
        })
    }

    fn event(
        &self,
        event: FaultEventKind,
        fault: &str,
        revert: &RevertAction,
        error: Option<&str>,
    ) {
        if let Err(error) = self.try_event(event, fault, revert, error) {
            tracing::error!(%error, "cannot write the fault journal");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Registered>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The backend action for a scenario fault of run `run_id`. Toxics are named
/// `gameday-<fault>-<run id>`, so no two runs share one.
pub fn to_action(name: &str, fault: &Fault, run_id: &str) -> Result<FaultAction, String> {
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
                    .named(format!("gameday-{name}-{run_id}"))
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
