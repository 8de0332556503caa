//! Faults a run left behind: read back from a run folder's `faults.jsonl`
//! (written before every apply, see [`super::journal`]). A fault is still
//! pending when its last event is neither `reverted` nor `not_applied` — the
//! runner died (or its revert failed) while it was in place. Also whether a
//! run's runner is still alive (its pid *and* start time, from results.json),
//! so nobody reverts a live run's faults under it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::journal::FaultEventKind;
use crate::faults::action::RevertAction;
use crate::results::RunnerProcess;

/// A fault a run did not revert.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Timeline entry name.
    pub fault: String,
    /// How to undo it.
    pub revert: RevertAction,
    /// Its last journaled event.
    pub last_event: FaultEventKind,
}

impl Pending {
    /// One line for humans: what is still applied, and where.
    pub fn describe(&self) -> String {
        let what = match &self.revert {
            RevertAction::RemoveToxic {
                toxiproxy,
                proxy,
                toxic,
                ..
            } => format!("toxic {toxic} on proxy {proxy} at {toxiproxy}"),
            RevertAction::EnableProxy {
                toxiproxy, proxy, ..
            } => {
                format!("proxy {proxy} disabled at {toxiproxy}")
            }
            RevertAction::StartService { service } => format!("managed {service} stopped"),
            RevertAction::ThawService { service } => format!("managed {service} frozen"),
            RevertAction::LlmMode { admin_url, .. } => {
                format!("LLM simulator {admin_url} in a failure mode")
            }
            RevertAction::GatewayMode { admin_url, mode } => {
                format!("LLM gateway {admin_url} in a failure mode (restore {mode})")
            }
            RevertAction::Exec { command, .. } => format!("exec fault, revert with `{command}`"),
        };
        let last = serde_json::to_value(self.last_event)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{}: {what} (last event: {last})", self.fault)
    }

    /// Whether the fault lives outside the runner's lab (an external
    /// Toxiproxy server, an LLM gateway or an exec'd command), so it outlives the runner that
    /// applied it. Managed services, simulators and the lab's embedded proxy
    /// die with their runner.
    pub fn outlives_runner(&self) -> bool {
        match &self.revert {
            RevertAction::RemoveToxic { owner, .. } | RevertAction::EnableProxy { owner, .. } => {
                !owner.lab
            }
            RevertAction::GatewayMode { .. } | RevertAction::Exec { .. } => true,
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct Line {
    event: FaultEventKind,
    fault: String,
    revert: RevertAction,
}

/// The pending faults of one run folder (empty if it has no journal).
pub fn pending(run_dir: &Path) -> std::io::Result<Vec<Pending>> {
    let path = run_dir.join("faults.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    // Keyed by fault name and revert, in first-seen order.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut state: BTreeMap<(String, String), Pending> = BTreeMap::new();
    for line in text.lines() {
        // A torn last line (the runner died mid-write) is skipped.
        let Ok(line) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let key = (
            line.fault.clone(),
            serde_json::to_string(&line.revert).unwrap_or_default(),
        );
        if !state.contains_key(&key) {
            order.push(key.clone());
        }
        state.insert(
            key,
            Pending {
                fault: line.fault,
                revert: line.revert,
                last_event: line.event,
            },
        );
    }
    Ok(order
        .into_iter()
        .filter_map(|key| state.remove(&key))
        .filter(|p| !p.last_event.settled())
        .collect())
}

/// This process, as recorded in a run's environment (`None` off Linux).
pub fn current_runner() -> Option<RunnerProcess> {
    let pid = std::process::id();
    Some(RunnerProcess {
        pid,
        start_time: start_time(pid)?,
        boot_id: boot_id(),
    })
}

/// Whether `runner` is alive: a process with its pid *and* start time in
/// this boot (a pid reused by another process does not count).
pub fn runner_alive(runner: &RunnerProcess) -> bool {
    if runner.boot_id.is_some() && runner.boot_id != boot_id() {
        return false;
    }
    start_time(runner.pid) == Some(runner.start_time)
}

/// The runner recorded in `run_dir/results.json`, if any.
pub fn recorded_runner(run_dir: &Path) -> Option<RunnerProcess> {
    let bytes = std::fs::read(run_dir.join("results.json")).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::from_value(value["environment"]["runner"].clone()).ok()
}

/// A live runner of `run_dir` other than this process, if there is one.
pub fn live_runner(run_dir: &Path) -> Option<RunnerProcess> {
    recorded_runner(run_dir)
        .filter(|runner| runner.pid != std::process::id() && runner_alive(runner))
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything:
    // count fields from the last `)`, which is followed by field 3.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// Run folders under `report_dir` with pending faults, oldest first.
pub fn scan(report_dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<Pending>)>> {
    let entries = match std::fs::read_dir(report_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("faults.jsonl").is_file())
        .collect();
    dirs.sort();
    let mut found = Vec::new();
    for dir in dirs {
        let pending = pending(&dir)?;
        if !pending.is_empty() {
            found.push((dir, pending));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, lines: &[&str]) {
        std::fs::write(dir.join("faults.jsonl"), lines.join("\n")).unwrap();
    }

    const TOXIC: &str = r#"{"revert":"remove_toxic","toxiproxy":"http://t:8474","proxy":"db","toxic":"gameday-slow"}"#;

    #[test]
    fn a_fault_applied_and_not_reverted_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                &format!(r#"{{"event":"applying","fault":"slow","revert":{TOXIC},"t":1.0}}"#),
                &format!(r#"{{"event":"applied","fault":"slow","revert":{TOXIC},"t":1.1}}"#),
                r#"{"event":"reverted","fault":"x","revert":{"revert":"exec","com"#, // torn line
            ],
        );
        let pending = pending(dir.path()).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].last_event, FaultEventKind::Applied);
        assert!(pending[0].outlives_runner());
        assert!(
            pending[0]
                .describe()
                .contains("toxic gameday-slow on proxy db")
        );
    }

    #[test]
    fn a_refused_apply_and_a_lab_proxy_fault_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let lab = r#"{"revert":"remove_toxic","toxiproxy":"http://127.0.0.1:9","proxy":"redis","toxic":"gameday-x","instance":"ab12","lab":true}"#;
        write(
            dir.path(),
            &[
                &format!(r#"{{"event":"applying","fault":"slow","revert":{TOXIC},"t":1.0}}"#),
                &format!(
                    r#"{{"event":"not_applied","fault":"slow","revert":{TOXIC},"t":1.1,"error":"409"}}"#
                ),
                &format!(r#"{{"event":"applied","fault":"x","revert":{lab},"t":2.0}}"#),
            ],
        );
        let pending = pending(dir.path()).unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].fault, "x");
        assert!(!pending[0].outlives_runner());
        match &pending[0].revert {
            RevertAction::RemoveToxic { owner, .. } => {
                assert_eq!(owner.instance.as_deref(), Some("ab12"));
                assert!(owner.lab);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = current_runner().expect("linux /proc");
        assert!(runner_alive(&me));
        let reused = RunnerProcess {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert!(!runner_alive(&reused));
        let other_boot = RunnerProcess {
            boot_id: Some("another-boot".to_owned()),
            ..me
        };
        assert!(!runner_alive(&other_boot));
    }

    #[test]
    fn a_reverted_fault_is_not_pending() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                &format!(r#"{{"event":"applying","fault":"slow","revert":{TOXIC},"t":1.0}}"#),
                &format!(r#"{{"event":"reverted","fault":"slow","revert":{TOXIC},"t":9.0}}"#),
            ],
        );
        assert!(pending(dir.path()).unwrap().is_empty());
        assert!(scan(dir.path().parent().unwrap()).is_ok());
    }
}
