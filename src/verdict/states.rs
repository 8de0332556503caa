//! The two questions asked of an observed state (a capability, a breaker):
//! did it *hold* a value throughout some windows, and did it *reach* a
//! value by a deadline (and keep it)? Shared by the capability and breaker
//! checks; the answers come with the observed text a reviewer reads.

use crate::results::CheckStatus;

use super::context::Span;
use super::format;
use super::track::Track;

/// Whether the value satisfied `wanted` at the start of every span and at
/// every change inside it. `show` renders a value for the observed text.
pub fn holds_throughout<V: PartialEq>(
    track: &Track<V>,
    spans: &[Span],
    wanted: impl Fn(&V) -> bool,
    show: impl Fn(&V) -> String,
    wanted_text: &str,
) -> (CheckStatus, String) {
    let Some(first) = spans.first() else {
        return (
            CheckStatus::Inconclusive,
            "the phase was not observed (the run ended before it)".to_string(),
        );
    };
    for span in spans {
        if let Some((t, seen)) = track.first_break(span.start, span.end, &wanted) {
            return match seen {
                Some(value) => (
                    CheckStatus::Fail,
                    format!(
                        "{} at {} ({} into the phase)",
                        show(value),
                        format::seconds(t),
                        format::seconds(t - first.start)
                    ),
                ),
                None => (
                    CheckStatus::Inconclusive,
                    format!("not reported at {}", format::seconds(t)),
                ),
            };
        }
    }
    (CheckStatus::Pass, format!("{wanted_text} throughout"))
}

/// A moment to measure a deadline from, named for the observed text
/// (`the phase start`, `the revert`).
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a> {
    /// When, in seconds from the run start.
    pub at: f64,
    /// What it is.
    pub name: &'a str,
}

/// When a state must be reached: within `within` seconds of `reference`
/// and, when `keep_until` is given, kept until then. `observed_until` is the
/// end of the observation: a deadline past it that was not met yet is
/// undecidable.
#[derive(Debug, Clone, Copy)]
pub struct Deadline<'a> {
    /// What the deadline counts from.
    pub reference: Reference<'a>,
    /// Seconds allowed after the reference.
    pub within: f64,
    /// Until when the state must then hold.
    pub keep_until: Option<f64>,
    /// The end of the observation.
    pub observed_until: f64,
}

/// Whether the value satisfies `wanted` (worded `wanted_text`) by the
/// [`Deadline`]; `show` words a value seen instead.
pub fn reaches<V: PartialEq>(
    track: &Track<V>,
    deadline: Deadline<'_>,
    wanted: impl Fn(&V) -> bool,
    show: impl Fn(&V) -> String,
    wanted_text: &str,
) -> (CheckStatus, String) {
    let Deadline {
        reference,
        within,
        keep_until,
        observed_until,
    } = deadline;
    let deadline = reference.at + within;
    if reference.at >= observed_until {
        return (
            CheckStatus::Inconclusive,
            format!(
                "the observation ended at {}, before {}",
                format::seconds(observed_until),
                reference.name
            ),
        );
    }
    let Some(reached) = track.first_where(reference.at, observed_until, &wanted) else {
        if deadline > observed_until {
            return (
                CheckStatus::Inconclusive,
                format!(
                    "not {wanted_text} when the observation ended, {} after {}",
                    format::seconds(observed_until - reference.at),
                    reference.name
                ),
            );
        }
        let last = track
            .at(observed_until)
            .map_or("unknown".to_string(), &show);
        return (
            CheckStatus::Fail,
            format!(
                "never {wanted_text}: still {last} {} after {}",
                format::seconds(observed_until - reference.at),
                reference.name
            ),
        );
    };
    let when = if reached <= reference.at {
        format!("already {wanted_text} at {}", reference.name)
    } else {
        format!(
            "{wanted_text} {} after {} (at {})",
            format::seconds(reached - reference.at),
            reference.name,
            format::seconds(reached)
        )
    };
    if reached > deadline {
        return (CheckStatus::Fail, when);
    }
    if let Some(until) = keep_until
        && let Some((t, seen)) = track.first_break(reached, until, &wanted)
    {
        let seen = seen.map_or("unknown".to_string(), &show);
        return (
            CheckStatus::Fail,
            format!("{when}, but {seen} again at {}", format::seconds(t)),
        );
    }
    (CheckStatus::Pass, when)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(value: &bool) -> String {
        value.to_string()
    }

    /// Within 5 s of `reference`, nothing to keep, observed until `until`.
    fn deadline(reference: Reference<'_>, until: f64) -> Deadline<'_> {
        Deadline {
            reference,
            within: 5.0,
            keep_until: None,
            observed_until: until,
        }
    }

    fn caching() -> Track<bool> {
        // Off at 41.2 s, back at 75 s.
        Track::new([(0.5, Some(true)), (41.2, Some(false)), (75.0, Some(true))])
    }

    #[test]
    fn holding_fails_at_the_first_change_and_names_it() {
        let track = caching();
        let baseline = [Span {
            start: 10.0,
            end: 40.0,
        }];
        let (status, text) = holds_throughout(&track, &baseline, |v| *v, show, "true");
        assert_eq!(
            (status, text.as_str()),
            (CheckStatus::Pass, "true throughout")
        );
        let fault = [Span {
            start: 40.0,
            end: 70.0,
        }];
        let (status, text) = holds_throughout(&track, &fault, |v| *v, show, "true");
        assert_eq!(status, CheckStatus::Fail);
        assert_eq!(text, "false at 41.2 s (1.2 s into the phase)");
        let (status, _) = holds_throughout(&track, &[], |v| *v, show, "true");
        assert_eq!(status, CheckStatus::Inconclusive);
    }

    #[test]
    fn reaching_is_timed_from_the_reference() {
        let track = caching();
        let fault_start = Reference {
            at: 40.0,
            name: "the phase start",
        };
        let within = |seconds: f64| {
            reaches(
                &track,
                Deadline {
                    reference: fault_start,
                    within: seconds,
                    keep_until: Some(70.0),
                    observed_until: 130.0,
                },
                |v| !*v,
                show,
                "false",
            )
        };
        let (status, text) = within(5.0);
        assert_eq!(status, CheckStatus::Pass);
        assert_eq!(text, "false 1.2 s after the phase start (at 41.2 s)");
        assert_eq!(within(1.0).0, CheckStatus::Fail);
        // Kept false to the end of the phase? Not if the phase lasted past 75 s.
        let (status, text) = reaches(
            &track,
            Deadline {
                reference: fault_start,
                within: 5.0,
                keep_until: Some(80.0),
                observed_until: 130.0,
            },
            |v| !*v,
            show,
            "false",
        );
        assert_eq!(status, CheckStatus::Fail);
        assert!(text.ends_with("but true again at 75.0 s"), "{text}");
    }

    #[test]
    fn never_reaching_fails_unless_the_observation_ended_first() {
        let track = Track::new([(0.5, Some(true))]);
        let start = Reference {
            at: 40.0,
            name: "the phase start",
        };
        let (status, text) = reaches(&track, deadline(start, 130.0), |v| !*v, show, "false");
        assert_eq!(status, CheckStatus::Fail);
        assert_eq!(text, "never false: still true 90.0 s after the phase start");
        let (status, _) = reaches(&track, deadline(start, 42.0), |v| !*v, show, "false");
        assert_eq!(status, CheckStatus::Inconclusive);
        // A run that ended before the reference cannot tell, even when the
        // last value seen happens to be the wanted one.
        let (status, text) = reaches(&track, deadline(start, 30.0), |v| *v, show, "true");
        assert_eq!(status, CheckStatus::Inconclusive);
        assert_eq!(
            text,
            "the observation ended at 30.0 s, before the phase start"
        );
    }
}
