//! Geometry of the timeline charts: one time axis shared by every chart
//! (request rate, error rate by class, latency percentiles, provider share),
//! fault windows shaded on each, and the per-second buckets downsampled to
//! at most [`MAX_POINTS`] points per series so an hour-long run stays small.
//!
//! Only numbers and plain label strings come out of here; the template
//! turns them into SVG elements, escaping every label.

use serde::Serialize;

use crate::results::{FaultRecord, PhaseKind, Results, SecondBucket};

use super::format;

/// Width of every chart's coordinate system (the SVG scales to the page).
pub const WIDTH: f64 = 1000.0;
/// Left margin, where the y-axis labels go.
pub const LEFT: f64 = 140.0;
/// Right margin.
pub const RIGHT: f64 = 16.0;
/// Height of one chart's plot area.
const PLOT_HEIGHT: f64 = 130.0;
/// Space above the plot area.
const TOP: f64 = 8.0;
/// Space below the plot area, for the time-axis labels.
const BOTTOM: f64 = 22.0;
/// Most points a series gets: about one per 1.5 px of plot width.
pub const MAX_POINTS: usize = 600;
/// Longest fault label drawn inside a chart (the full name is in the tooltip and the tables).
const LABEL_CHARS: usize = 28;

/// Maps run seconds to x coordinates; shared by the charts and the swimlanes.
#[derive(Debug, Clone, Copy)]
pub struct TimeAxis {
    /// Last second shown.
    pub end_s: f64,
}

impl TimeAxis {
    /// The axis covering everything recorded in `results`.
    pub fn of(results: &Results) -> TimeAxis {
        let record = &results.record;
        let mut end_s: f64 = 1.0;
        let mut extend = |value: f64| {
            if value.is_finite() && value > end_s {
                end_s = value;
            }
        };
        if let Some(last) = record.traffic.seconds.iter().map(|bucket| bucket.t).max() {
            extend(f64::from(last) + 1.0);
        }
        record
            .plan
            .phases
            .iter()
            .for_each(|phase| extend(phase.end_s));
        for fault in &record.faults {
            extend(fault.applied_at_s.unwrap_or(0.0));
            extend(fault.reverted_at_s.unwrap_or(0.0));
        }
        let observations = &record.observations;
        observations.capabilities.iter().for_each(|s| extend(s.t));
        observations.breakers.iter().for_each(|s| extend(s.t));
        // A run of days is not a game day; keep the geometry sane regardless.
        TimeAxis {
            end_s: end_s.min(1e7),
        }
    }

    /// x coordinate of second `t`, clamped to the plot.
    pub fn x(&self, t: f64) -> f64 {
        let t = if t.is_finite() { t } else { 0.0 };
        let fraction = (t / self.end_s).clamp(0.0, 1.0);
        LEFT + fraction * (WIDTH - LEFT - RIGHT)
    }

    /// Tick marks at a round step, at most about ten.
    pub fn ticks(&self) -> Vec<Tick> {
        const STEPS: [f64; 14] = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
            7200.0,
        ];
        let step = STEPS
            .iter()
            .copied()
            .find(|step| self.end_s / step <= 10.0)
            .unwrap_or_else(|| (self.end_s / 10.0 / 3600.0).ceil() * 3600.0);
        let mut ticks = Vec::new();
        let mut t = 0.0;
        while t <= self.end_s + 1e-9 && ticks.len() < 50 {
            ticks.push(Tick {
                position: round1(self.x(t)),
                label: format::clock(t),
            });
            t += step;
        }
        ticks
    }
}

/// A labelled position on an axis.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// x (time axis) or y (value axis) coordinate.
    pub position: f64,
    /// The label.
    pub label: String,
}

/// A shaded fault window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Left edge.
    pub x: f64,
    /// Width.
    pub width: f64,
    /// Short label drawn in the chart.
    pub label: String,
    /// Full text for the tooltip.
    pub title: String,
    /// `fault`, `unreverted` or `warmup`.
    pub class: String,
}

/// One line or area of a chart.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS class that colours it (`s0`… or a semantic name).
    pub class: String,
    /// `line`, `dashed` or `area`.
    pub kind: String,
    /// SVG `points`, `x,y` pairs separated by spaces.
    pub points: String,
}

/// One chart.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Element id and anchor.
    pub id: String,
    /// Heading.
    pub title: String,
    /// What the y axis measures.
    pub unit: String,
    /// SVG height.
    pub height: f64,
    /// Bottom of the plot area.
    pub plot_bottom: f64,
    /// Top of the plot area.
    pub plot_top: f64,
    /// y ticks (position is y).
    pub y_ticks: Vec<Tick>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// Shown instead of lines when there is nothing to draw.
    pub empty_note: Option<String>,
}

/// Everything the timeline section draws.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// Coordinate width.
    pub width: f64,
    /// Left edge of the plots.
    pub left: f64,
    /// Right edge of the plots.
    pub right: f64,
    /// Time ticks (position is x), shared by every chart.
    pub x_ticks: Vec<Tick>,
    /// Fault windows, shared by every chart.
    pub windows: Vec<Window>,
    /// The charts, top to bottom.
    pub charts: Vec<Chart>,
    /// Seconds per point after downsampling (1 = every second shown).
    pub seconds_per_point: usize,
    /// Whether any fault window is shaded (for the legend).
    pub has_faults: bool,
}

/// Builds the timeline section from the per-second buckets.
pub fn build(results: &Results, axis: &TimeAxis) -> Timeline {
    let mut buckets: Vec<&SecondBucket> = results.record.traffic.seconds.iter().collect();
    buckets.sort_by_key(|bucket| bucket.t);
    let group_size = buckets.len().div_ceil(MAX_POINTS).max(1);
    let groups: Vec<Group> = buckets.chunks(group_size).map(Group::of).collect();
    let target_rate = results.record.traffic.target_rate;
    let charts = vec![
        rate_chart(&groups, axis, target_rate),
        error_chart(&groups, axis),
        latency_chart(&groups, axis),
        provider_chart(&groups, axis),
    ];
    let windows = windows(results, axis);
    Timeline {
        width: WIDTH,
        left: LEFT,
        right: WIDTH - RIGHT,
        x_ticks: axis.ticks(),
        has_faults: windows.iter().any(|window| window.class != "warmup"),
        windows,
        charts,
        seconds_per_point: group_size,
    }
}

/// Shaded windows: warm-up, then every applied fault (to its revert, or to
/// the end of the axis when it was never reverted).
pub fn windows(results: &Results, axis: &TimeAxis) -> Vec<Window> {
    let mut windows = Vec::new();
    for phase in &results.record.plan.phases {
        if phase.kind == PhaseKind::Warmup && phase.end_s > phase.start_s {
            windows.push(window(
                axis,
                phase.start_s,
                phase.end_s,
                "warm-up",
                "warm-up (not judged)",
                "warmup",
            ));
        }
    }
    for fault in &results.record.faults {
        if let Some(applied) = fault.applied_at_s {
            let (end, class) = match fault.reverted_at_s {
                Some(reverted) if fault.revert_error.is_none() => (reverted, "fault"),
                Some(reverted) => (reverted.max(axis.end_s), "unreverted"),
                None => (axis.end_s, "unreverted"),
            };
            windows.push(window(
                axis,
                applied,
                end,
                &fault.name,
                &fault_title(fault),
                class,
            ));
        }
    }
    windows
}

fn window(axis: &TimeAxis, start: f64, end: f64, label: &str, title: &str, class: &str) -> Window {
    let x = axis.x(start);
    Window {
        x: round1(x),
        width: round1((axis.x(end) - x).max(1.0)),
        label: format::clean_truncated(label, LABEL_CHARS),
        title: format::clean_truncated(title, 400),
        class: class.to_string(),
    }
}

fn fault_title(fault: &FaultRecord) -> String {
    let mut title = format!("{}: {}", fault.name, fault.description);
    if let Some(error) = &fault.revert_error {
        title.push_str(&format!(" (NOT REVERTED: {error})"));
    }
    title
}

/// Aggregate of consecutive seconds.
struct Group {
    /// Middle of the group, seconds.
    mid_s: f64,
    seconds: f64,
    sent: u64,
    dropped: u64,
    total: u64,
    http_error: u64,
    timeout: u64,
    connection_error: u64,
    /// Worst second of the group, per percentile (a spike must not vanish in an average).
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    providers: Vec<(String, u64)>,
}

impl Group {
    fn of(buckets: &[&SecondBucket]) -> Group {
        let first = buckets.first().map_or(0, |bucket| bucket.t);
        let last = buckets.last().map_or(0, |bucket| bucket.t);
        let mut group = Group {
            mid_s: (f64::from(first) + f64::from(last) + 1.0) / 2.0,
            seconds: f64::from(last - first) + 1.0,
            sent: 0,
            dropped: 0,
            total: 0,
            http_error: 0,
            timeout: 0,
            connection_error: 0,
            p50_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
            providers: Vec::new(),
        };
        for bucket in buckets {
            group.sent = group.sent.saturating_add(bucket.sent);
            group.dropped = group.dropped.saturating_add(bucket.dropped);
            group.total = group.total.saturating_add(bucket.outcomes.total());
            group.http_error = group.http_error.saturating_add(bucket.outcomes.http_error);
            group.timeout = group.timeout.saturating_add(bucket.outcomes.timeout);
            group.connection_error = group
                .connection_error
                .saturating_add(bucket.outcomes.connection_error);
            if bucket.outcomes.total() > 0 {
                group.p50_ms = finite_max(group.p50_ms, bucket.latency.p50_ms);
                group.p95_ms = finite_max(group.p95_ms, bucket.latency.p95_ms);
                group.p99_ms = finite_max(group.p99_ms, bucket.latency.p99_ms);
            }
            for (provider, answered) in &bucket.providers {
                match group
                    .providers
                    .iter_mut()
                    .find(|(name, _)| name == provider)
                {
                    Some((_, sum)) => *sum = sum.saturating_add(*answered),
                    None => group.providers.push((provider.clone(), *answered)),
                }
            }
        }
        group
    }
}

fn finite_max(a: f64, b: f64) -> f64 {
    if b.is_finite() { a.max(b) } else { a }
}

/// Value-axis geometry of one chart.
struct ValueAxis {
    max: f64,
    top: f64,
    bottom: f64,
}

impl ValueAxis {
    fn new(max: f64) -> ValueAxis {
        ValueAxis {
            max: nice_ceiling(max),
            top: TOP,
            bottom: TOP + PLOT_HEIGHT,
        }
    }

    fn y(&self, value: f64) -> f64 {
        let fraction = if self.max > 0.0 {
            value / self.max
        } else {
            0.0
        };
        self.bottom - fraction.clamp(0.0, 1.0) * (self.bottom - self.top)
    }

    fn ticks(&self, label: impl Fn(f64) -> String) -> Vec<Tick> {
        (0..=4)
            .map(|step| {
                let value = self.max * f64::from(step) / 4.0;
                Tick {
                    position: round1(self.y(value)),
                    label: label(value),
                }
            })
            .collect()
    }
}

/// The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (1 for nothing).
fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|factor| factor * magnitude)
        .find(|candidate| *candidate >= value * 0.999_999)
        .unwrap_or(10.0 * magnitude)
}

fn chart(
    id: &str,
    title: &str,
    unit: &str,
    value_axis: &ValueAxis,
    y_label: impl Fn(f64) -> String,
) -> Chart {
    Chart {
        id: id.to_string(),
        title: title.to_string(),
        unit: unit.to_string(),
        height: TOP + PLOT_HEIGHT + BOTTOM,
        plot_bottom: value_axis.bottom,
        plot_top: value_axis.top,
        y_ticks: value_axis.ticks(y_label),
        series: Vec::new(),
        empty_note: None,
    }
}

fn line(name: &str, class: &str, kind: &str, points: impl Iterator<Item = (f64, f64)>) -> Series {
    let mut text = String::new();
    for (x, y) in points {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("{},{}", round1(x), round1(y)));
    }
    Series {
        name: name.to_string(),
        class: class.to_string(),
        kind: kind.to_string(),
        points: text,
    }
}

fn rate_chart(groups: &[Group], axis: &TimeAxis, target_rate: f64) -> Chart {
    let achieved = |group: &Group| group.sent as f64 / group.seconds;
    let dropped = |group: &Group| group.dropped as f64 / group.seconds;
    let max = groups
        .iter()
        .map(|group| achieved(group).max(dropped(group)))
        .fold(target_rate.max(0.0), f64::max);
    let value_axis = ValueAxis::new(max);
    let mut result = chart(
        "chart-rate",
        "Request rate",
        "requests/s",
        &value_axis,
        |v| format::number(v, 1),
    );
    if groups.is_empty() {
        result.empty_note = Some("No traffic was recorded.".to_string());
        return result;
    }
    if target_rate > 0.0 {
        let y = value_axis.y(target_rate);
        result.series.push(line(
            "target",
            "target",
            "dashed",
            [(axis.x(0.0), y), (axis.x(axis.end_s), y)].into_iter(),
        ));
    }
    result.series.push(line(
        "achieved (sent)",
        "s0",
        "line",
        groups
            .iter()
            .map(|g| (axis.x(g.mid_s), value_axis.y(achieved(g)))),
    ));
    if groups.iter().any(|group| group.dropped > 0) {
        result.series.push(line(
            "dropped load",
            "bad",
            "line",
            groups
                .iter()
                .map(|g| (axis.x(g.mid_s), value_axis.y(dropped(g)))),
        ));
    }
    result
}

fn error_chart(groups: &[Group], axis: &TimeAxis) -> Chart {
    type Pick = fn(&Group) -> u64;
    let classes: [(&str, &str, Pick); 3] = [
        ("HTTP error", "s3", |g| g.http_error),
        ("timeout", "s4", |g| g.timeout),
        ("connection error", "s5", |g| g.connection_error),
    ];
    let answered: Vec<&Group> = groups.iter().filter(|group| group.total > 0).collect();
    let rate = |group: &Group, pick: Pick| pick(group) as f64 / group.total as f64 * 100.0;
    let max = answered
        .iter()
        .flat_map(|group| classes.iter().map(move |(_, _, pick)| rate(group, *pick)))
        .fold(0.0, f64::max);
    let value_axis = ValueAxis::new(max.max(0.1));
    let mut result = chart(
        "chart-errors",
        "Error rate by class",
        "% of completed requests",
        &value_axis,
        |v| format!("{}%", format::number(v, 2)),
    );
    if answered.is_empty() {
        result.empty_note = Some("No request completed.".to_string());
        return result;
    }
    for (name, class, pick) in classes {
        result.series.push(line(
            name,
            class,
            "line",
            answered
                .iter()
                .map(|g| (axis.x(g.mid_s), value_axis.y(rate(g, pick)))),
        ));
    }
    result
}

fn latency_chart(groups: &[Group], axis: &TimeAxis) -> Chart {
    let answered: Vec<&Group> = groups.iter().filter(|group| group.total > 0).collect();
    let max = answered
        .iter()
        .map(|group| group.p99_ms)
        .fold(0.0, f64::max);
    let value_axis = ValueAxis::new(max);
    let mut result = chart(
        "chart-latency",
        "Latency",
        "ms from intended start",
        &value_axis,
        |v| format::number(v, 1),
    );
    if answered.is_empty() {
        result.empty_note = Some("No request completed.".to_string());
        return result;
    }
    type Pick = fn(&Group) -> f64;
    let percentiles: [(&str, &str, Pick); 3] = [
        ("p50", "s0", |g| g.p50_ms),
        ("p95", "s1", |g| g.p95_ms),
        ("p99", "s2", |g| g.p99_ms),
    ];
    for (name, class, pick) in percentiles {
        result.series.push(line(
            name,
            class,
            "line",
            answered
                .iter()
                .map(|g| (axis.x(g.mid_s), value_axis.y(pick(g)))),
        ));
    }
    result
}

/// Provider share as stacked areas, 0–100% of answered turns.
fn provider_chart(groups: &[Group], axis: &TimeAxis) -> Chart {
    let value_axis = ValueAxis::new(100.0);
    let mut result = chart(
        "chart-providers",
        "Provider share",
        "% of answered turns",
        &value_axis,
        |v| format!("{}%", format::number(v, 0)),
    );
    let mut providers: Vec<String> = Vec::new();
    for group in groups {
        for (name, _) in &group.providers {
            if !providers.contains(name) {
                providers.push(name.clone());
            }
        }
    }
    providers.sort();
    let answered: Vec<(&Group, u64)> = groups
        .iter()
        .map(|group| {
            (
                group,
                group
                    .providers
                    .iter()
                    .fold(0u64, |sum, (_, n)| sum.saturating_add(*n)),
            )
        })
        .filter(|(_, sum)| *sum > 0)
        .collect();
    if answered.is_empty() || providers.is_empty() {
        result.empty_note = Some("No turn reported its provider.".to_string());
        return result;
    }
    // Cumulative share below each provider's band, per point.
    let mut below = vec![0.0_f64; answered.len()];
    for (index, provider) in providers.iter().take(8).enumerate() {
        let shares: Vec<f64> = answered
            .iter()
            .map(|(group, sum)| {
                let count = group
                    .providers
                    .iter()
                    .find(|(name, _)| name == provider)
                    .map_or(0, |(_, n)| *n);
                count as f64 / *sum as f64 * 100.0
            })
            .collect();
        let upper: Vec<(f64, f64)> = answered
            .iter()
            .zip(below.iter().zip(&shares))
            .map(|((group, _), (low, share))| (axis.x(group.mid_s), value_axis.y(low + share)))
            .collect();
        let lower: Vec<(f64, f64)> = answered
            .iter()
            .zip(&below)
            .rev()
            .map(|((group, _), low)| (axis.x(group.mid_s), value_axis.y(*low)))
            .collect();
        result.series.push(line(
            &format::clean_truncated(provider, 40),
            &format!("p{index}"),
            "area",
            upper.into_iter().chain(lower),
        ));
        for (low, share) in below.iter_mut().zip(&shares) {
            *low += share;
        }
    }
    result
}

/// Rounds to one decimal, which is finer than a pixel at any sane size.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(87.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }

    #[test]
    fn axis_maps_the_run_onto_the_plot() {
        let axis = TimeAxis { end_s: 200.0 };
        assert_eq!(axis.x(0.0), LEFT);
        assert_eq!(axis.x(200.0), WIDTH - RIGHT);
        assert_eq!(axis.x(1e9), WIDTH - RIGHT);
        assert_eq!(axis.x(f64::NAN), LEFT);
        let ticks = axis.ticks();
        assert!(ticks.len() <= 11 && ticks.len() >= 4, "{ticks:?}");
        assert_eq!(ticks[1].label, "0:30");
    }
}
