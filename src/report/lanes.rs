//! Geometry of the swimlanes: one lane per capability (on/off over time),
//! one per provider breaker (closed/half-open/open) and one per platform
//! alert read from Prometheus (quiet/firing), on the same time axis
//! as the charts, with each expected change from the checks marked where
//! its deadline window lies.
//!
//! Observations are change points (a sample is recorded when anything
//! differs), so a lane is a handful of segments, not one rect per sample.

use serde::Serialize;

use crate::results::{Check, CheckStatus, Results};

use super::format;
use super::timeline::{TimeAxis, round1};

/// The capabilities of the platform contract, in the contract's order.
pub const CAPABILITIES: [&str; 6] = [
    "chat",
    "streaming",
    "conversation_history",
    "analytics",
    "caching",
    "real_time_usage",
];
const LANE_HEIGHT: f64 = 18.0;
const LANE_GAP: f64 = 6.0;
const TOP: f64 = 6.0;
const BOTTOM: f64 = 22.0;
const LABEL_CHARS: usize = 22;
/// States shorter than this many plot units are too brief to draw one by
/// one: consecutive brief states become one `flapping` segment, so a
/// flapping breaker shows as flapping and cannot produce thousands of rects.
const MIN_SEGMENT_WIDTH: f64 = 1.0;

/// Everything the swimlane section draws.
#[derive(Debug, Clone, Serialize)]
pub struct Lanes {
    /// SVG height.
    pub height: f64,
    /// y of the time-axis labels.
    pub axis_y: f64,
    /// The lanes, top to bottom.
    pub lanes: Vec<Lane>,
    /// Whether any observation was recorded at all.
    pub observed: bool,
}

/// One lane.
#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    /// Label (capability name or `breaker <provider>`).
    pub label: String,
    /// Top edge.
    pub y: f64,
    /// Vertical middle, for the label.
    pub label_y: f64,
    /// Lane height.
    pub height: f64,
    /// Coloured state segments.
    pub segments: Vec<Segment>,
    /// Expected changes from the checks.
    pub marks: Vec<Mark>,
}

/// A stretch of time in one state.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// Left edge.
    pub x: f64,
    /// Width.
    pub width: f64,
    /// CSS class: `on`, `off`, `closed`, `open`, `half_open`, `other`, `flapping`.
    pub class: String,
    /// Tooltip.
    pub title: String,
}

/// An expected change: its deadline window on the lane.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Start of the window (the phase start).
    pub x: f64,
    /// Width of the window (the deadline), at least a hairline.
    pub width: f64,
    /// `pass`, `fail` or `inconclusive`.
    pub class: String,
    /// Tooltip: the expectation and what was observed.
    pub title: String,
}

/// Builds the lanes from the observations and the checks.
pub fn build(results: &Results, axis: &TimeAxis) -> Lanes {
    let observations = &results.record.observations;
    let mut capability_names: Vec<String> = CAPABILITIES.iter().map(|s| s.to_string()).collect();
    for sample in &observations.capabilities {
        for name in sample.capabilities.keys() {
            if !capability_names.contains(name) && capability_names.len() < 24 {
                capability_names.push(name.clone());
            }
        }
    }
    let mut providers: Vec<String> = Vec::new();
    for sample in &observations.breakers {
        for name in sample.states.keys() {
            if !providers.contains(name) && providers.len() < 16 {
                providers.push(name.clone());
            }
        }
    }
    providers.sort();

    let checks = results.verdict.as_ref().map_or(&[][..], |v| &v.checks[..]);
    let mut lanes = Vec::new();
    for name in &capability_names {
        let changes = observations.capabilities.iter().map(|sample| {
            (
                sample.t,
                sample
                    .capabilities
                    .get(name)
                    .map(|on| if *on { "on" } else { "off" }),
            )
        });
        let segments = segments(axis, changes, |state| state.to_string());
        let marks = marks(results, axis, checks, "capability", name);
        lanes.push((name.clone(), segments, marks));
    }
    for provider in &providers {
        let changes = observations
            .breakers
            .iter()
            .map(|sample| (sample.t, sample.states.get(provider).map(String::as_str)));
        let segments = segments(axis, changes, |state| match state {
            "closed" | "open" | "half_open" => state.to_string(),
            _ => "other".to_string(),
        });
        let marks = marks(results, axis, checks, "breaker", provider);
        lanes.push((format!("breaker {provider}"), segments, marks));
    }
    let alerts = results
        .record
        .monitoring
        .as_ref()
        .map_or(&[][..], |m| &m.alerts[..]);
    for alert in alerts.iter().take(16) {
        let mut changes = vec![(0.0, Some("quiet"))];
        for firing in &alert.firing {
            changes.push((firing.start_s, Some("firing")));
            if let Some(end) = firing.end_s {
                changes.push((end, Some("quiet")));
            }
        }
        let segments = segments(axis, changes.into_iter(), |state| {
            if state == "firing" { "off" } else { "on" }.to_string()
        });
        let marks = marks(results, axis, checks, "alert", &alert.name);
        lanes.push((format!("alert {}", alert.name), segments, marks));
    }

    let lanes: Vec<Lane> = lanes
        .into_iter()
        .enumerate()
        .map(|(index, (label, segments, marks))| {
            let y = TOP + index as f64 * (LANE_HEIGHT + LANE_GAP);
            Lane {
                label: format::clean_truncated(&label, LABEL_CHARS),
                y,
                label_y: y + LANE_HEIGHT / 2.0,
                height: LANE_HEIGHT,
                segments,
                marks,
            }
        })
        .collect();
    let axis_y = TOP + lanes.len() as f64 * (LANE_HEIGHT + LANE_GAP) + 10.0;
    Lanes {
        height: axis_y + BOTTOM - 10.0,
        axis_y,
        lanes,
        observed: !observations.capabilities.is_empty()
            || !observations.breakers.is_empty()
            || !alerts.is_empty(),
    }
}

/// Turns change points into merged segments; a missing value leaves a gap.
fn segments<'a>(
    axis: &TimeAxis,
    changes: impl Iterator<Item = (f64, Option<&'a str>)>,
    class_of: impl Fn(&str) -> String,
) -> Vec<Segment> {
    let mut points: Vec<(f64, Option<&str>)> = changes.filter(|(t, _)| t.is_finite()).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Merge runs of the same state into (start, end, state).
    let mut runs: Vec<(f64, f64, &str)> = Vec::new();
    for (index, (start, state)) in points.iter().enumerate() {
        let end = points.get(index + 1).map_or(axis.end_s, |(t, _)| *t);
        let Some(state) = state else { continue };
        match runs.last_mut() {
            Some(last) if last.2 == *state && (last.1 - start).abs() < 1e-9 => last.1 = end,
            _ => runs.push((*start, end, state)),
        }
    }
    let mut segments: Vec<Segment> = Vec::new();
    // Consecutive brief states being gathered.
    let mut brief: Vec<(f64, f64, &str)> = Vec::new();
    for (start, end, state) in runs {
        let width = axis.x(end) - axis.x(start);
        let contiguous = brief
            .last()
            .is_none_or(|last| (last.1 - start).abs() < 1e-9);
        if !contiguous || width >= MIN_SEGMENT_WIDTH {
            flush_brief(axis, &mut brief, &mut segments, &class_of);
        }
        if width < MIN_SEGMENT_WIDTH {
            brief.push((start, end, state));
        } else {
            segments.push(segment(axis, start, end, state, &class_of));
        }
    }
    flush_brief(axis, &mut brief, &mut segments, &class_of);
    segments
}

fn segment(
    axis: &TimeAxis,
    start: f64,
    end: f64,
    state: &str,
    class_of: &impl Fn(&str) -> String,
) -> Segment {
    let x = axis.x(start);
    Segment {
        x: round1(x),
        width: round1((axis.x(end) - x).max(0.5)),
        class: class_of(state),
        title: format::clean_truncated(
            &format!(
                "{} from {} to {}",
                state,
                format::offset(start),
                format::offset(end)
            ),
            200,
        ),
    }
}

/// One brief state is drawn as itself (at least a hairline wide); several
/// in a row become one `flapping` segment.
fn flush_brief(
    axis: &TimeAxis,
    brief: &mut Vec<(f64, f64, &str)>,
    segments: &mut Vec<Segment>,
    class_of: &impl Fn(&str) -> String,
) {
    match brief[..] {
        [] => {}
        [(start, end, state)] => segments.push(segment(axis, start, end, state, class_of)),
        [(start, ..), .., (_, end, _)] => {
            let x = axis.x(start);
            segments.push(Segment {
                x: round1(x),
                width: round1((axis.x(end) - x).max(0.5)),
                class: "flapping".to_string(),
                title: format!(
                    "flapping: {} states from {} to {}",
                    brief.len(),
                    format::offset(start),
                    format::offset(end)
                ),
            });
        }
    }
    brief.clear();
}

/// Marks for the checks about `lane` (`capability caching`, `breaker primary`;
/// `capability all` marks every capability lane).
fn marks(
    results: &Results,
    axis: &TimeAxis,
    checks: &[Check],
    prefix: &str,
    lane: &str,
) -> Vec<Mark> {
    checks
        .iter()
        .filter(|check| {
            let mut words = check.name.splitn(2, ' ');
            let kind = words.next().unwrap_or_default();
            let subject = words.next().unwrap_or_default().trim();
            let kind_matches = kind == prefix || (prefix == "capability" && kind == "capabilities");
            kind_matches && (subject == lane || (prefix == "capability" && subject == "all"))
        })
        .filter_map(|check| {
            let phase = results
                .record
                .plan
                .phases
                .iter()
                .find(|p| p.name == check.phase)?;
            let within = deadline(&check.expected).unwrap_or(0.0);
            let x = axis.x(phase.start_s);
            Some(Mark {
                x: round1(x),
                width: round1((axis.x(phase.start_s + within) - x).max(1.5)),
                class: status_class(check.status).to_string(),
                title: format::clean_truncated(
                    &format!(
                        "expected {} in {}: {}; observed {}",
                        check.name, check.phase, check.expected, check.observed
                    ),
                    400,
                ),
            })
        })
        .collect()
}

/// The deadline in an expectation such as `becomes false within 5s`.
fn deadline(expected: &str) -> Option<f64> {
    let (_, after) = expected.split_once("within")?;
    let word = after.split_whitespace().next()?;
    let word = word.trim_end_matches([',', ';', ')']);
    crate::duration::parse(word).ok().map(|d| d.as_secs_f64())
}

/// CSS class of a check status.
pub fn status_class(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "fail",
        CheckStatus::Inconclusive => "inconclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deadlines_from_expectations() {
        assert_eq!(deadline("becomes false within 5s"), Some(5.0));
        assert_eq!(deadline("all true within 1.5s, then stays"), Some(1.5));
        assert_eq!(deadline("true"), None);
        assert_eq!(deadline("within soon"), None);
    }

    #[test]
    fn brief_states_become_one_flapping_segment() {
        let axis = TimeAxis { end_s: 3600.0 };
        let mut changes = vec![(0.0, Some("closed"))];
        for i in 0..500 {
            let t = 1000.0 + f64::from(i) * 2.0;
            changes.push((t, Some(if i % 2 == 0 { "open" } else { "half_open" })));
        }
        changes.push((2000.0, Some("closed")));
        let segments = segments(&axis, changes.into_iter(), |s| s.to_string());
        let classes: Vec<&str> = segments.iter().map(|s| s.class.as_str()).collect();
        assert_eq!(classes, ["closed", "flapping", "closed"]);
        assert!(
            segments[1].title.contains("500 states"),
            "{}",
            segments[1].title
        );
    }

    #[test]
    fn merges_repeated_states_and_leaves_gaps_for_missing_values() {
        let axis = TimeAxis { end_s: 100.0 };
        let changes = vec![
            (0.0, Some("on")),
            (10.0, Some("on")),
            (50.0, Some("off")),
            (60.0, None),
            (70.0, Some("on")),
        ];
        let segments = segments(&axis, changes.into_iter(), |s| s.to_string());
        let classes: Vec<&str> = segments.iter().map(|s| s.class.as_str()).collect();
        assert_eq!(classes, ["on", "off", "on"]);
        assert_eq!(segments[0].x, axis.x(0.0));
        assert!((segments[0].width - round1(axis.x(50.0) - axis.x(0.0))).abs() < 0.2);
    }
}
