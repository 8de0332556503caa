//! What every rule of the verdict needs to know about one run, derived once:
//! the statistics of each phase, when each fault really started and ended,
//! and how far the observation reaches.
//!
//! Fault times are the ones the runner journaled (`applied_at_s`,
//! `reverted_at_s`), falling back to the plan when a time is missing. A
//! fault phase's window is its real apply-to-revert span; `recovery` starts
//! at the real last revert; the other phases use the plan's windows.

use std::time::Duration;

use crate::plan::{Phase, PhaseKind, Plan};
use crate::results::{FaultRecord, PhaseStats, RunRecord, RunStatus, SecondBucket};
use crate::scenario::Scenario;

/// A half-open span `[start, end)` in seconds from the run start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// First moment inside.
    pub start: f64,
    /// First moment after.
    pub end: f64,
}

/// The inputs of `judge` and what is derived from them.
pub struct Context<'a> {
    /// The scenario as run.
    pub scenario: &'a Scenario,
    /// Its resolved timeline.
    pub plan: &'a Plan,
    /// What happened.
    pub record: &'a RunRecord,
    /// The last moment anything was observed: the end of traffic for a
    /// completed run, else the last second bucket or observer sample.
    pub observed_until: f64,
}

impl<'a> Context<'a> {
    /// Derives the context of a run.
    pub fn new(scenario: &'a Scenario, plan: &'a Plan, record: &'a RunRecord) -> Self {
        let planned_end = plan.measured.end.as_secs_f64();
        let observed_until = match record.status {
            RunStatus::Completed => planned_end,
            _ => {
                let observations = &record.observations;
                let last_second = record
                    .traffic
                    .seconds
                    .iter()
                    .map(|bucket| f64::from(bucket.t) + 1.0);
                let samples = observations
                    .capabilities
                    .iter()
                    .map(|sample| sample.t)
                    .chain(observations.breakers.iter().map(|sample| sample.t))
                    .chain(observations.health.iter().map(|sample| sample.t));
                last_second
                    .chain(samples)
                    .filter(|t| t.is_finite())
                    .fold(0.0, f64::max)
                    .min(planned_end)
            }
        };
        Context {
            scenario,
            plan,
            record,
            observed_until,
        }
    }

    /// The traffic statistics of a phase, if the runner recorded any.
    pub fn stats(&self, phase: &str) -> Option<&'a PhaseStats> {
        self.record
            .traffic
            .phases
            .iter()
            .find(|stats| stats.name == phase)
    }

    /// The journal entry of a fault.
    pub fn fault_record(&self, name: &str) -> Option<&'a FaultRecord> {
        self.record.faults.iter().find(|fault| fault.name == name)
    }

    /// When a fault was applied (journal, else plan).
    pub fn fault_start(&self, name: &str) -> Option<f64> {
        let planned = self
            .plan
            .faults
            .iter()
            .find(|fault| fault.name == name)
            .map(|fault| fault.window.start.as_secs_f64());
        self.fault_record(name)
            .and_then(|fault| fault.applied_at_s)
            .filter(|t| t.is_finite())
            .or(planned)
    }

    /// When a fault was reverted (journal, else plan).
    pub fn fault_end(&self, name: &str) -> Option<f64> {
        let planned = self
            .plan
            .faults
            .iter()
            .find(|fault| fault.name == name)
            .map(|fault| fault.window.end.as_secs_f64());
        self.fault_record(name)
            .and_then(|fault| fault.reverted_at_s)
            .filter(|t| t.is_finite())
            .or(planned)
    }

    /// The first apply of the run.
    pub fn first_apply(&self) -> Option<f64> {
        self.plan
            .faults
            .iter()
            .filter_map(|fault| self.fault_start(&fault.name))
            .min_by(f64::total_cmp)
    }

    /// The last revert of the run.
    pub fn last_revert(&self) -> Option<f64> {
        self.plan
            .faults
            .iter()
            .filter_map(|fault| self.fault_end(&fault.name))
            .max_by(f64::total_cmp)
    }

    /// A phase of the plan by name.
    pub fn phase(&self, name: &str) -> Option<&'a Phase> {
        self.plan.phase(name)
    }

    /// Where a phase starts (see the module doc).
    pub fn phase_start(&self, phase: &Phase) -> f64 {
        self.unclipped_spans(phase)
            .first()
            .map_or(0.0, |span| span.start)
    }

    /// The windows of a phase, cut at the end of the observation; empty
    /// stretches are dropped.
    pub fn spans(&self, phase: &Phase) -> Vec<Span> {
        self.unclipped_spans(phase)
            .into_iter()
            .map(|span| Span {
                start: span.start,
                end: span.end.min(self.observed_until),
            })
            .filter(|span| span.end > span.start)
            .collect()
    }

    fn unclipped_spans(&self, phase: &Phase) -> Vec<Span> {
        let planned = || {
            phase
                .windows
                .iter()
                .map(|window| Span {
                    start: window.start.as_secs_f64(),
                    end: window.end.as_secs_f64(),
                })
                .collect()
        };
        match phase.kind {
            PhaseKind::Fault => {
                match (self.fault_start(&phase.name), self.fault_end(&phase.name)) {
                    (Some(start), Some(end)) => vec![Span { start, end }],
                    _ => planned(),
                }
            }
            PhaseKind::Recovery => match (self.last_revert(), phase.windows.last()) {
                (Some(start), Some(window)) => vec![Span {
                    start,
                    end: window.end.as_secs_f64().max(start),
                }],
                _ => planned(),
            },
            PhaseKind::Baseline | PhaseKind::Between | PhaseKind::Run => planned(),
        }
    }

    /// The per-second buckets of the measured run (warm-up excluded).
    pub fn measured_seconds(&self) -> Vec<SecondBucket> {
        self.record
            .traffic
            .seconds
            .iter()
            .filter(|bucket| Duration::from_secs(u64::from(bucket.t)) >= self.plan.warmup.end)
            .cloned()
            .collect()
    }
}
