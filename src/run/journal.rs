//! The run's journal on disk, written as the run goes so a crash leaves a
//! readable partial record:
//!
//! - `results.json`: the [`RunRecord`] (and, at the end, the verdict),
//!   rewritten atomically (temporary file + rename) at every checkpoint;
//! - `faults.jsonl`: one line per fault event, appended and flushed
//!   *before* a fault is applied, carrying the action that reverts it —
//!   what `gameday cleanup` needs after the runner itself was killed. Each
//!   event opens the file, appends, syncs and closes it, so a write that
//!   cannot reach the disk (full, read-only, replaced) fails that event, and
//!   the runner then applies nothing (see `rollback`).
//!
//! Each run gets its own folder, created exclusively: a run id already taken
//! (two runs of one scenario in the same second) gets a `-2`, `-3`, ... suffix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::faults::action::RevertAction;
use crate::results::{Results, RunRecord};

/// What happened to a fault: the `event` of a `faults.jsonl` line, written
/// by the runner and by `gameday cleanup`, read back by cleanup and by the
/// check for faults an earlier run left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultEventKind {
    /// About to be applied (journaled first: the revert is on disk before
    /// anything changes).
    Applying,
    /// Applied.
    Applied,
    /// The apply failed, possibly half-way: still to be reverted.
    ApplyFailed,
    /// The apply was refused before it changed anything: nothing to revert.
    NotApplied,
    /// Reverted (by the run, or by cleanup, or gone with its runner).
    Reverted,
    /// The revert failed: still pending.
    RevertFailed,
}

impl FaultEventKind {
    /// Whether nothing is left to revert after this event.
    pub fn settled(self) -> bool {
        matches!(self, FaultEventKind::Reverted | FaultEventKind::NotApplied)
    }
}

/// One line of `faults.jsonl`.
#[derive(Debug, Serialize)]
pub struct FaultEvent<'a> {
    /// What happened.
    pub event: FaultEventKind,
    /// Timeline entry name.
    pub fault: &'a str,
    /// How to undo it.
    pub revert: &'a RevertAction,
    /// Seconds from the run start (`None` from `gameday cleanup`).
    pub t: Option<f64>,
    /// Error text, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

/// The run directory's journal files.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    record: Mutex<RunRecord>,
    faults: Mutex<()>,
    /// One results.json writer at a time (they share the temporary file).
    results: Mutex<()>,
}

/// Creates a new run folder under `report_dir` for run id `base`, never an
/// existing one: on a clash the id gets a `-2`, `-3`, ... suffix. Returns the
/// run id taken and its folder.
pub fn claim_run_dir(report_dir: &Path, base: &str) -> std::io::Result<(String, PathBuf)> {
    std::fs::create_dir_all(report_dir)?;
    for n in 1u32.. {
        let id = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let dir = report_dir.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => {}
            Err(error) => return Err(error),
        }
    }
    unreachable!("the loop returns")
}

impl Journal {
    /// Writes the first `results.json` and an empty `faults.jsonl` into
    /// `dir` (created if needed; see [`claim_run_dir`] for a new run).
    pub fn create(dir: &Path, record: RunRecord) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.join("faults.jsonl"))?;
        let journal = Self {
            dir: dir.to_owned(),
            record: Mutex::new(record),
            faults: Mutex::new(()),
            results: Mutex::new(()),
        };
        journal.checkpoint()?;
        Ok(journal)
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Changes the record and writes it out.
    pub fn update(&self, change: impl FnOnce(&mut RunRecord)) -> std::io::Result<()> {
        change(&mut self.lock());
        self.checkpoint()
    }

    /// A copy of the record.
    pub fn record(&self) -> RunRecord {
        self.lock().clone()
    }

    /// Appends a fault event and syncs it to disk before returning; an
    /// error means the event is not known to be on disk.
    pub fn fault_event(&self, event: &FaultEvent<'_>) -> std::io::Result<()> {
        let _one_writer = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        append_fault_event(&self.dir, event)
    }

    /// Writes `results.json` from the current record.
    pub fn checkpoint(&self) -> std::io::Result<()> {
        // Held across copy, write and rename: concurrent checkpoints (the
        // phase tracker, fault tasks, the driver) neither trip over each
        // other's temporary file nor put an older record over a newer one.
        let _one_writer = self.results.lock().unwrap_or_else(|p| p.into_inner());
        let results = Results {
            record: self.lock().clone(),
            verdict: None,
        };
        write_results(&self.dir, &results)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunRecord> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Writes `dir/results.json` atomically.
pub fn write_results(dir: &Path, results: &Results) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    let temporary = dir.join(".results.json.tmp");
    std::fs::write(&temporary, crate::redact::bytes(&bytes))?;
    std::fs::rename(&temporary, dir.join("results.json"))
}

/// Appends `event` to the `faults.jsonl` of `run_dir` (redacted) and syncs
/// it to disk before returning; an error means it is not known to be on disk.
pub fn append_fault_event(run_dir: &Path, event: &FaultEvent<'_>) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let line = crate::redact::bytes(&line);
    let mut file = std::fs::File::options()
        .append(true)
        .open(run_dir.join("faults.jsonl"))?;
    file.write_all(&line)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_checkpoints_all_succeed_and_leave_the_last_record() {
        let results: Results =
            serde_json::from_str(include_str!("../../tests/fixtures/results/passed.json"))
                .expect("fixture");
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::create(dir.path(), results.record).expect("journal");
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let journal = &journal;
                scope.spawn(move || {
                    for n in 0..50 {
                        journal
                            .update(|r| r.seed = thread * 1000 + n)
                            .expect("every checkpoint is written");
                    }
                });
            }
        });
        let last = journal.record().seed;
        let written: Results = serde_json::from_slice(
            &std::fs::read(dir.path().join("results.json")).expect("results.json"),
        )
        .expect("valid");
        assert_eq!(written.record.seed, last);
    }

    #[test]
    fn a_run_folder_is_never_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, _) = claim_run_dir(dir.path(), "x").expect("claim");
        let (b, _) = claim_run_dir(dir.path(), "x").expect("claim");
        assert_eq!((a.as_str(), b.as_str()), ("x", "x-2"));
    }
}
