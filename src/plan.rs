//! The plan stage: a validated [`Scenario`] resolved into absolute times.
//!
//! Every offset here is from the **run start** (the first warm-up request),
//! so the runner only has to add them to one `Instant`. The plan is pure
//! data computed without I/O; `gameday validate --plan` prints it.
//!
//! Phase rules (what `expect.<phase>` refers to and how a request is
//! assigned; documented in docs/scenarios.md):
//!
//! - `warmup` is not a phase: its requests feed the preflight steady-state
//!   check only.
//! - `baseline`: from the end of the warm-up to the first fault (the whole
//!   measured run when there is no fault).
//! - one phase per timeline entry, named after it: from its apply to its
//!   revert. Faults may overlap, so phases may too.
//! - `between`: the moments after the first fault is applied and before the
//!   last is reverted when no fault is active (possibly several windows).
//! - `recovery`: from the last revert to the end of the traffic, at least
//!   `recovery` long: traffic is extended when the measured duration ends
//!   sooner. Absent when there are no faults.
//! - `run`: the whole measured run (baseline to the end of traffic).
//! - A request belongs to every phase with a window that contains its
//!   intended start time.

use std::fmt;
use std::time::Duration;

use crate::scenario::{Fault, Scenario, Target, Toxiproxy, format_duration};

/// A half-open interval `[start, end)` of offsets from the run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// First moment inside.
    pub start: Duration,
    /// First moment after.
    pub end: Duration,
}

impl Window {
    /// The window's length.
    pub fn length(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Whether `offset` lies inside.
    pub fn contains(&self, offset: Duration) -> bool {
        self.start <= offset && offset < self.end
    }
}

/// One fault, when it is applied and reverted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaultWindow {
    /// The timeline entry's name (= its phase name).
    pub name: String,
    /// What is broken.
    pub fault: Fault,
    /// Apply at `window.start`, revert at `window.end`.
    pub window: Window,
    /// A pre-announced maintenance window (excluded from the budget).
    pub maintenance: bool,
}

/// What kind of phase a [`Phase`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Before the first fault.
    Baseline,
    /// One fault's window.
    Fault,
    /// Gaps between faults.
    Between,
    /// After the last revert.
    Recovery,
    /// The whole measured run.
    Run,
}

/// A named stretch of the run that expectations refer to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Phase {
    /// `baseline`, a fault's name, `between`, `recovery` or `run`.
    pub name: String,
    /// What kind of phase.
    pub kind: PhaseKind,
    /// Its windows (several only for `between`), in time order.
    pub windows: Vec<Window>,
    /// A fault phase marked as maintenance.
    pub maintenance: bool,
}

impl Phase {
    /// Whether the phase contains `offset`.
    pub fn contains(&self, offset: Duration) -> bool {
        self.windows.iter().any(|window| window.contains(offset))
    }

    /// Total time inside the phase.
    pub fn length(&self) -> Duration {
        self.windows.iter().map(Window::length).sum()
    }
}

/// The resolved timeline of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// Warm-up traffic: `[0, warmup)`.
    pub warmup: Window,
    /// Measured traffic: from the end of the warm-up to the end of traffic
    /// (extended so that recovery is observed for its full length).
    pub measured: Window,
    /// Faults, in apply order (file order for equal times).
    pub faults: Vec<FaultWindow>,
    /// Phases: `baseline`, faults in apply order, `between`, `recovery`, `run`.
    pub phases: Vec<Phase>,
    /// How long the recovery is observed at least.
    pub recovery: Duration,
    /// The expected wall time from the first warm-up request to the end of
    /// traffic (lab start-up and report writing excluded).
    pub total: Duration,
    /// A one-line description of the target, for the printed plan.
    pub target: String,
    /// A one-line description of the traffic, for the printed plan.
    pub traffic: String,
}

impl Plan {
    /// Resolves a scenario into absolute offsets. Total for any scenario
    /// (also unvalidated ones): nothing here can panic or overflow.
    pub fn from_scenario(scenario: &Scenario) -> Plan {
        let warmup_end = scenario.traffic.warmup;
        let measured_end = warmup_end.saturating_add(scenario.traffic.duration);
        let mut faults: Vec<FaultWindow> = scenario
            .timeline
            .iter()
            .map(|entry| FaultWindow {
                name: entry.name.clone(),
                fault: entry.fault.clone(),
                window: Window {
                    start: warmup_end.saturating_add(entry.at),
                    end: warmup_end.saturating_add(entry.end()),
                },
                maintenance: entry.maintenance,
            })
            .collect();
        faults.sort_by_key(|fault| fault.window.start);

        let first_apply = faults.iter().map(|fault| fault.window.start).min();
        let last_revert = faults.iter().map(|fault| fault.window.end).max();
        let traffic_end = match last_revert {
            Some(last) => measured_end.max(last.saturating_add(scenario.recovery)),
            None => measured_end,
        };

        let mut phases = vec![Phase {
            name: "baseline".to_string(),
            kind: PhaseKind::Baseline,
            windows: vec![Window {
                start: warmup_end,
                end: first_apply.unwrap_or(measured_end).max(warmup_end),
            }],
            maintenance: false,
        }];
        phases.extend(faults.iter().map(|fault| Phase {
            name: fault.name.clone(),
            kind: PhaseKind::Fault,
            windows: vec![fault.window],
            maintenance: fault.maintenance,
        }));
        let gaps = gaps(&faults);
        if !gaps.is_empty() {
            phases.push(Phase {
                name: "between".to_string(),
                kind: PhaseKind::Between,
                windows: gaps,
                maintenance: false,
            });
        }
        if let Some(last) = last_revert {
            phases.push(Phase {
                name: "recovery".to_string(),
                kind: PhaseKind::Recovery,
                windows: vec![Window {
                    start: last,
                    end: traffic_end,
                }],
                maintenance: false,
            });
        }
        phases.push(Phase {
            name: "run".to_string(),
            kind: PhaseKind::Run,
            windows: vec![Window {
                start: warmup_end,
                end: traffic_end,
            }],
            maintenance: false,
        });

        Plan {
            scenario: scenario.name.clone(),
            warmup: Window {
                start: Duration::ZERO,
                end: warmup_end,
            },
            measured: Window {
                start: warmup_end,
                end: traffic_end,
            },
            faults,
            phases,
            recovery: scenario.recovery,
            total: traffic_end,
            target: describe_target(scenario),
            traffic: describe_traffic(scenario),
        }
    }

    /// The phase with this name.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|phase| phase.name == name)
    }

    /// The names of every phase containing `offset` (`run` included).
    pub fn phases_at(&self, offset: Duration) -> Vec<&str> {
        self.phases
            .iter()
            .filter(|phase| phase.contains(offset))
            .map(|phase| phase.name.as_str())
            .collect()
    }

    /// Whether `offset` lies in a maintenance window (excluded from the budget).
    pub fn in_maintenance(&self, offset: Duration) -> bool {
        self.faults
            .iter()
            .any(|fault| fault.maintenance && fault.window.contains(offset))
    }
}

/// The stretches between the first apply and the last revert with no fault
/// active. `faults` is sorted by start.
fn gaps(faults: &[FaultWindow]) -> Vec<Window> {
    let mut gaps = Vec::new();
    let mut covered_until: Option<Duration> = None;
    for fault in faults {
        if let Some(until) = covered_until
            && fault.window.start > until
        {
            gaps.push(Window {
                start: until,
                end: fault.window.start,
            });
        }
        covered_until = Some(match covered_until {
            Some(until) => until.max(fault.window.end),
            None => fault.window.end,
        });
    }
    gaps
}

fn describe_target(scenario: &Scenario) -> String {
    let target = match &scenario.target {
        Target::Lab => "the built-in lab".to_string(),
        Target::External(external) => external.url.clone(),
    };
    match &scenario.toxiproxy {
        Some(Toxiproxy::Embedded) => format!("{target}, embedded proxy"),
        Some(Toxiproxy::Url(url)) => format!("{target}, Toxiproxy at {url}"),
        None => target,
    }
}

fn describe_traffic(scenario: &Scenario) -> String {
    let traffic = &scenario.traffic;
    let arrivals = match traffic.arrivals {
        crate::scenario::Arrivals::Poisson => "Poisson",
        crate::scenario::Arrivals::Constant => "constant",
    };
    format!(
        "{}/s {arrivals}, mix chat {} / chat_stream {} / history {}, {} conversations, timeout {}, at most {} in flight",
        crate::scenario::model::trim_float(traffic.rate),
        crate::scenario::model::trim_float(traffic.mix.chat),
        crate::scenario::model::trim_float(traffic.mix.chat_stream),
        crate::scenario::model::trim_float(traffic.mix.history),
        traffic.conversations,
        format_duration(traffic.timeout),
        traffic.max_in_flight,
    )
}

/// `T+1m20s`.
fn offset(duration: Duration) -> String {
    format!("T+{}", format_duration(duration))
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan: {}", self.scenario)?;
        writeln!(f, "target:  {}", self.target)?;
        writeln!(f, "traffic: {}", self.traffic)?;
        writeln!(f)?;
        writeln!(f, "{:<10} {:<10} event", "at", "until")?;
        writeln!(
            f,
            "{:<10} {:<10} warm-up (the steady state must hold, else abort before any fault)",
            offset(self.warmup.start),
            offset(self.warmup.end)
        )?;
        // Applies and reverts in time order.
        let mut events: Vec<(Duration, u8, String)> = Vec::new();
        for fault in &self.faults {
            let maintenance = if fault.maintenance {
                " [maintenance: excluded from the budget]"
            } else {
                ""
            };
            events.push((
                fault.window.start,
                1,
                format!(
                    "{:<10} apply  {}: {}{maintenance}",
                    offset(fault.window.end),
                    fault.name,
                    fault.fault
                ),
            ));
            events.push((
                fault.window.end,
                0,
                format!("{:<10} revert {}", "", fault.name),
            ));
        }
        events.sort_by_key(|(at, order, _)| (*at, *order));
        for (at, _, text) in events {
            writeln!(f, "{:<10} {text}", offset(at))?;
        }
        writeln!(
            f,
            "{:<10} {:<10} end of traffic",
            offset(self.measured.end),
            ""
        )?;
        writeln!(f)?;
        writeln!(f, "{:<16} {:<10} {:<10} length", "phase", "from", "to")?;
        for phase in &self.phases {
            for (index, window) in phase.windows.iter().enumerate() {
                let name = if index == 0 { phase.name.as_str() } else { "" };
                let maintenance = if phase.maintenance {
                    "  (maintenance)"
                } else {
                    ""
                };
                writeln!(
                    f,
                    "{name:<16} {:<10} {:<10} {}{maintenance}",
                    offset(window.start),
                    offset(window.end),
                    format_duration(window.length())
                )?;
            }
        }
        writeln!(f)?;
        write!(
            f,
            "expected wall time: {} (lab start-up not included)",
            format_duration(self.total)
        )
    }
}
