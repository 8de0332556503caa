//! Checks on the experiment itself rather than on the target: every fault
//! was applied, had a visible effect and was reverted, and each proxied
//! dependency's traffic really crossed its proxy.
//!
//! - `apply <fault>` fails when applying failed: the phase then did not
//!   test what it says.
//! - `revert <fault>` fails when reverting failed after every retry (the
//!   fault may still be in place) or when a fault that was applied has no
//!   revert in the journal. A failed revert is never silent.
//! - `intact <fault>` fails when the runner found the fault undone before
//!   its planned end by someone else (another `gameday cleanup`, an
//!   operator): the phase then did not test what it says.
//! - `effect <fault>` is `inconclusive` when the runner saw no effect of an
//!   applied fault: the target may have absorbed it perfectly, or the fault
//!   may have missed (a dependency that bypasses its proxy).
//! - `effect <fault>` of a fault that was never applied is not judged: it
//!   is `inconclusive`, saying so (see [`never_applied`]).
//! - `proxy path <proxy>` is `inconclusive` when preflight found that a
//!   dependency's traffic does not pass through its proxy.

use crate::plan::PhaseKind;
use crate::results::{Check, CheckStatus, FaultRecord};

use super::context::Context;
use super::format;

/// `fault <name> was never applied (<apply error>)`.
fn never_applied_reason(fault: &FaultRecord) -> Option<String> {
    fault
        .apply_error
        .as_ref()
        .map(|error| format!("fault {} was never applied ({error})", fault.name))
}

/// Why the checks of `phase` cannot be judged because a fault they depend
/// on was never applied, if one was not: for a fault phase, its own fault;
/// for the `recovery` phase, every fault of the run (reasons joined by
/// `; `). Other phases depend on no fault.
pub fn never_applied(context: &Context<'_>, phase: &str) -> Option<String> {
    let kind = context.phase(phase)?.kind;
    let reasons: Vec<String> = context
        .record
        .faults
        .iter()
        .filter(|fault| match kind {
            PhaseKind::Fault => fault.name == phase,
            PhaseKind::Recovery => true,
            _ => false,
        })
        .filter_map(never_applied_reason)
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Marks a check as not judged, for `reason`: `inconclusive`, with the
/// reason as what was observed and no interval.
pub fn not_judged(check: &mut Check, reason: &str) {
    check.status = CheckStatus::Inconclusive;
    check.observed = reason.to_string();
    check.confidence = None;
}

/// The experiment checks, in timeline order, then preflight's.
pub fn checks(context: &Context<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    for fault in &context.record.faults {
        let check = |name: &str, status, expected: &str, observed: String| Check {
            name: format!("{name} {}", fault.name),
            phase: fault.name.clone(),
            status,
            expected: expected.to_string(),
            observed,
            confidence: None,
        };
        if let Some(error) = &fault.apply_error {
            checks.push(check(
                "apply",
                CheckStatus::Fail,
                "applied",
                format!("failed: {error}"),
            ));
        }
        if let Some(error) = &fault.revert_error {
            checks.push(check(
                "revert",
                CheckStatus::Fail,
                "reverted",
                format!("FAILED, the fault may still be in place: {error}"),
            ));
        } else if let (Some(applied), None) = (fault.applied_at_s, fault.reverted_at_s) {
            checks.push(check(
                "revert",
                CheckStatus::Fail,
                "reverted",
                format!(
                    "applied at {} and never reverted in the journal: the fault may still be in place",
                    format::seconds(applied)
                ),
            ));
        }
        if let Some(lost) = &fault.lost {
            checks.push(check(
                "intact",
                CheckStatus::Fail,
                "in place until its planned end",
                format!("undone under the run: {lost}"),
            ));
        }
        if let Some(effect) = fault.effect.as_ref().filter(|effect| !effect.observed) {
            checks.push(check(
                "effect",
                CheckStatus::Inconclusive,
                "an observable effect",
                match never_applied_reason(fault) {
                    Some(reason) => reason,
                    None => format!("none seen: {}", effect.detail),
                },
            ));
        }
    }
    for path in &context.record.preflight.proxy_paths {
        let observed = match path.passes_through {
            Some(true) => continue,
            Some(false) => format!("it does not: {}", path.detail),
            None => format!("not verified: {}", path.detail),
        };
        checks.push(Check {
            name: format!("proxy path {}", path.proxy),
            phase: "preflight".to_string(),
            status: CheckStatus::Inconclusive,
            expected: "traffic passes through the proxy".to_string(),
            observed,
            confidence: None,
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use crate::plan::Plan;
    use crate::results::{FaultEffect, ProxyPathEvidence};

    #[test]
    fn failed_reverts_fail_and_missing_effects_warn() {
        let scenario = fixture::scenario("");
        let plan = Plan::from_scenario(&scenario);
        let mut record = fixture::record(&scenario, &plan);
        let clean = Context::new(&scenario, &plan, &record);
        assert!(checks(&clean).is_empty());

        record.faults[0].revert_error = Some("redis-server did not start".to_string());
        record.faults[0].effect = Some(FaultEffect {
            observed: false,
            detail: "health and error rate unchanged".to_string(),
            ..FaultEffect::default()
        });
        record.preflight.proxy_paths.push(ProxyPathEvidence {
            proxy: "postgres".to_string(),
            passes_through: Some(false),
            detail: "0 connections under traffic".to_string(),
        });
        record.preflight.proxy_paths.push(ProxyPathEvidence {
            proxy: "redis".to_string(),
            passes_through: None,
            detail: "Toxiproxy exposes no traffic counters".to_string(),
        });
        let context = Context::new(&scenario, &plan, &record);
        let found = checks(&context);
        let summary: Vec<(&str, CheckStatus)> = found
            .iter()
            .map(|check| (check.name.as_str(), check.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("revert redis-down", CheckStatus::Fail),
                ("effect redis-down", CheckStatus::Inconclusive),
                ("proxy path postgres", CheckStatus::Inconclusive),
                ("proxy path redis", CheckStatus::Inconclusive),
            ]
        );
        assert!(found[0].observed.contains("redis-server did not start"));
        assert!(found[2].observed.starts_with("it does not: "));
        // Nothing measured is unknown, not "no".
        assert!(
            found[3].observed.starts_with("not verified: "),
            "{}",
            found[3].observed
        );

        record.faults[0].revert_error = None;
        record.faults[0].effect = None;
        record.preflight.proxy_paths.clear();
        record.faults[0].lost =
            Some("found undone 12.0 s into the run, not by this run".to_string());
        let context = Context::new(&scenario, &plan, &record);
        let found = checks(&context);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].name.as_str(), found[0].status),
            ("intact redis-down", CheckStatus::Fail)
        );
        assert!(found[0].observed.contains("undone"));
        record.faults[0].lost = None;

        record.faults[0].reverted_at_s = None;
        record.faults[0].apply_error = Some("no such service".to_string());
        let context = Context::new(&scenario, &plan, &record);
        let names: Vec<String> = checks(&context)
            .into_iter()
            .map(|check| check.name)
            .collect();
        assert_eq!(names[..2], ["apply redis-down", "revert redis-down"]);
    }
}
