//! The live progress line on stderr: phase, elapsed/total, achieved rate,
//! error rate, p99, in-flight, dropped and late requests, active faults. Redrawn in
//! place on a terminal, printed every 10 s otherwise (CI logs).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::rollback::Rollback;
use crate::plan::Plan;
use crate::traffic::LiveHandle;

/// Prints progress until the task is aborted.
pub async fn report(live: LiveHandle, plan: Arc<Plan>, rollback: Arc<Rollback>, start: Instant) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let snapshot = live.snapshot();
        let elapsed = start.elapsed();
        let phase = phase_at(&plan, elapsed);
        let active = rollback.active();
        let line = format!(
            "[{phase}] {}/{}  rate {:.1}/s  err {:.2}%  p99 {:.0} ms  in-flight {}  dropped {}  late {}  faults: {}",
            clock(elapsed),
            clock(plan.total),
            snapshot.achieved_rate,
            snapshot.error_rate * 100.0,
            snapshot.p99_ms,
            snapshot.in_flight,
            snapshot.dropped,
            snapshot.late,
            if active.is_empty() {
                "none".to_owned()
            } else {
                active.join(", ")
            },
        );
        let line = crate::terminal::clean(&line);
        if terminal {
            crate::console::err(format_args!("\r\x1b[2K{line}"));
        } else {
            crate::errln!("{line}");
        }
    }
}

/// The phase the run is in `elapsed` after its start: `warmup`, then the
/// plan's phase names (baseline, a fault's, between, recovery).
pub fn phase_at(plan: &Plan, elapsed: Duration) -> String {
    if elapsed < plan.warmup.end {
        return "warmup".to_owned();
    }
    plan.phases_at(elapsed)
        .iter()
        .find(|p| **p != "run")
        .map(|p| (*p).to_owned())
        .unwrap_or_else(|| "recovery".to_owned())
}

/// Clears the progress line (on a terminal).
pub fn clear() {
    if std::io::stderr().is_terminal() {
        crate::console::err(format_args!("\r\x1b[2K"));
    }
}

fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}
