//! One observed value over time, rebuilt from the observer's change points:
//! the value at `t` is that of the last sample taken at or before `t`.
//!
//! A value is *unknown* before the first sample and wherever a sample did
//! not report it (the capability or provider was missing from the answer).
//! The observer polls a few times a second, so a transition is seen up to
//! one polling interval after it happened; deadlines are judged on the
//! time it was seen.

/// A step function of time with possibly unknown stretches.
#[derive(Debug, Clone)]
pub struct Track<V> {
    /// `(t, value)` in time order; `None` = not reported by that sample.
    points: Vec<(f64, Option<V>)>,
}

impl<V: PartialEq> Track<V> {
    /// Builds a track from samples in any order; samples with a non-finite
    /// time are dropped.
    pub fn new(points: impl IntoIterator<Item = (f64, Option<V>)>) -> Self {
        let mut points: Vec<(f64, Option<V>)> =
            points.into_iter().filter(|(t, _)| t.is_finite()).collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Track { points }
    }

    /// Whether any sample reported a value.
    pub fn is_observed(&self) -> bool {
        self.points.iter().any(|(_, value)| value.is_some())
    }

    /// The value at `t`, if known.
    pub fn at(&self, t: f64) -> Option<&V> {
        let index = self.points.partition_point(|(time, _)| *time <= t);
        index
            .checked_sub(1)
            .and_then(|last| self.points.get(last))
            .and_then(|(_, value)| value.as_ref())
    }

    /// The times in `(from, until)` at which a sample was taken.
    pub fn changes_between(&self, from: f64, until: f64) -> impl Iterator<Item = f64> + '_ {
        self.points
            .iter()
            .map(|(t, _)| *t)
            .filter(move |t| *t > from && *t < until)
    }

    /// The first moment in `[from, until]` at which the value satisfies
    /// `wanted`: `from` itself if it already does.
    pub fn first_where(&self, from: f64, until: f64, wanted: impl Fn(&V) -> bool) -> Option<f64> {
        if self.at(from).is_some_and(&wanted) {
            return Some(from);
        }
        self.points
            .iter()
            .filter(|(t, _)| *t > from && *t <= until)
            .find(|(_, value)| value.as_ref().is_some_and(&wanted))
            .map(|(t, _)| *t)
    }

    /// The first moment in `[from, until)` at which the value does not
    /// satisfy `wanted` (an unknown value counts), with the value seen then.
    pub fn first_break(
        &self,
        from: f64,
        until: f64,
        wanted: impl Fn(&V) -> bool,
    ) -> Option<(f64, Option<&V>)> {
        let at_start = self.at(from);
        if !at_start.is_some_and(&wanted) {
            return Some((from, at_start));
        }
        self.points
            .iter()
            .filter(|(t, _)| *t > from && *t < until)
            .find(|(_, value)| !value.as_ref().is_some_and(&wanted))
            .map(|(t, value)| (*t, value.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> Track<bool> {
        Track::new([
            (10.0, Some(true)),
            (2.0, Some(true)),
            (20.5, Some(false)),
            (30.0, None),
            (31.0, Some(true)),
        ])
    }

    #[test]
    fn the_value_at_t_is_the_last_sample_at_or_before_t() {
        let track = track();
        assert_eq!(track.at(1.0), None);
        assert_eq!(track.at(2.0), Some(&true));
        assert_eq!(track.at(20.4), Some(&true));
        assert_eq!(track.at(20.5), Some(&false));
        assert_eq!(track.at(30.5), None);
        assert_eq!(track.at(99.0), Some(&true));
        assert!(track.is_observed());
        assert!(!Track::<bool>::new([(1.0, None)]).is_observed());
    }

    #[test]
    fn first_where_and_first_break_find_transitions() {
        let track = track();
        assert_eq!(track.first_where(15.0, 40.0, |v| !*v), Some(20.5));
        assert_eq!(track.first_where(21.0, 40.0, |v| !*v), Some(21.0));
        assert_eq!(track.first_where(15.0, 20.0, |v| !*v), None);
        assert_eq!(track.first_where(21.0, 40.0, |v| *v), Some(31.0));
        assert_eq!(
            track.first_break(5.0, 25.0, |v| *v),
            Some((20.5, Some(&false)))
        );
        assert_eq!(track.first_break(5.0, 20.5, |v| *v), None);
        assert_eq!(track.first_break(0.0, 5.0, |v| *v), Some((0.0, None)));
        assert_eq!(track.first_break(29.0, 35.0, |v| !*v), Some((30.0, None)));
    }
}
