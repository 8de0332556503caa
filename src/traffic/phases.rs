//! Which phases a request belongs to: every phase window whose
//! `[start_s, end_s)` contains the request's *intended* start, except that a
//! warm-up request belongs only to phases of kind `Warmup`. Decided once per
//! arrival as a small bit set, so recording costs no allocation.

use std::time::Duration;

use super::TrafficError;
use crate::results::{PhaseKind, PhaseWindow};

/// At most this many phases (one bit each in a [`PhaseMask`]).
pub const MAX_PHASES: usize = 64;

/// The phases of a run and the warm-up boundary.
#[derive(Debug, Clone)]
pub struct PhaseSet {
    windows: Vec<PhaseWindow>,
    warmup_s: f64,
}

/// A set of phase indices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseMask(u64);

impl PhaseMask {
    /// The phase indices in the set, ascending.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(index)
        })
    }
}

impl PhaseMask {
    /// The first `count` phases (at most 64).
    pub fn all(count: usize) -> Self {
        match count {
            0 => Self(0),
            64.. => Self(u64::MAX),
            _ => Self((1u64 << count) - 1),
        }
    }
}

impl PhaseSet {
    /// Checks the windows (finite, `start_s <= end_s`, at most [`MAX_PHASES`]).
    pub fn new(windows: Vec<PhaseWindow>, warmup: Duration) -> Result<Self, TrafficError> {
        if windows.len() > MAX_PHASES {
            return Err(TrafficError::InvalidPhases(format!(
                "{} phases; at most {MAX_PHASES} are supported",
                windows.len()
            )));
        }
        for window in &windows {
            if !window.start_s.is_finite()
                || !window.end_s.is_finite()
                || window.start_s > window.end_s
            {
                return Err(TrafficError::InvalidPhases(format!(
                    "phase '{}' has the window [{}, {}) s",
                    window.name, window.start_s, window.end_s
                )));
            }
        }
        Ok(Self {
            windows,
            warmup_s: warmup.as_secs_f64(),
        })
    }

    /// The windows, in the order given.
    pub fn windows(&self) -> &[PhaseWindow] {
        &self.windows
    }

    /// The phases a request intended to start at `offset` belongs to.
    pub fn mask(&self, offset: Duration) -> PhaseMask {
        let at = offset.as_secs_f64();
        let in_warmup = at < self.warmup_s;
        let mut bits = 0u64;
        for (index, window) in self.windows.iter().enumerate() {
            let kind_fits = !in_warmup || window.kind == PhaseKind::Warmup;
            if kind_fits && window.start_s <= at && at < window.end_s {
                bits |= 1 << index;
            }
        }
        PhaseMask(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn window(name: &str, kind: PhaseKind, start_s: f64, end_s: f64) -> PhaseWindow {
        PhaseWindow {
            name: name.to_owned(),
            kind,
            start_s,
            end_s,
            maintenance: false,
        }
    }

    fn names(set: &PhaseSet, offset_ms: u64) -> Vec<&str> {
        set.mask(Duration::from_millis(offset_ms))
            .indices()
            .map(|i| set.windows()[i].name.as_str())
            .collect()
    }

    #[test]
    fn requests_belong_to_every_window_containing_their_intended_start() {
        let set = PhaseSet::new(
            vec![
                window("warmup", PhaseKind::Warmup, 0.0, 2.0),
                window("baseline", PhaseKind::Baseline, 2.0, 5.0),
                window("redis-down", PhaseKind::Fault, 5.0, 8.0),
                window("slow-db", PhaseKind::Fault, 6.0, 9.0),
                window("recovery", PhaseKind::Recovery, 9.0, 12.0),
                window("run", PhaseKind::Run, 0.0, 12.0),
            ],
            Duration::from_secs(2),
        )
        .expect("valid");
        // Warm-up requests go only to the warm-up phase, even though `run`
        // starts at 0 here.
        assert_eq!(names(&set, 0), ["warmup"]);
        assert_eq!(names(&set, 1_999), ["warmup"]);
        // Start inclusive, end exclusive.
        assert_eq!(names(&set, 2_000), ["baseline", "run"]);
        assert_eq!(names(&set, 4_999), ["baseline", "run"]);
        assert_eq!(names(&set, 5_000), ["redis-down", "run"]);
        // Overlapping faults: both.
        assert_eq!(names(&set, 6_500), ["redis-down", "slow-db", "run"]);
        assert_eq!(names(&set, 11_999), ["recovery", "run"]);
        assert!(names(&set, 12_000).is_empty());
    }

    #[test]
    fn without_a_warmup_phase_warmup_requests_belong_to_none() {
        let set = PhaseSet::new(
            vec![window("run", PhaseKind::Run, 0.0, 10.0)],
            Duration::from_secs(1),
        )
        .expect("valid");
        assert!(names(&set, 500).is_empty());
        assert_eq!(names(&set, 1_000), ["run"]);
    }

    #[test]
    fn bad_windows_are_refused() {
        let backwards = vec![window("x", PhaseKind::Fault, 3.0, 1.0)];
        assert!(PhaseSet::new(backwards, Duration::ZERO).is_err());
        let nan = vec![window("x", PhaseKind::Fault, f64::NAN, 1.0)];
        assert!(PhaseSet::new(nan, Duration::ZERO).is_err());
        let many = (0..65)
            .map(|i| window("x", PhaseKind::Fault, f64::from(i), f64::from(i + 1)))
            .collect();
        assert!(PhaseSet::new(many, Duration::ZERO).is_err());
    }
}
