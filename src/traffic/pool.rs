//! Whether the generator can carry the load it is asked for: by Little's
//! law about `rate × latency` requests are in flight, each holding a
//! connection. If `max_in_flight` (the pool bound) or the process's file
//! descriptor limit is below that, load will be dropped — better said
//! before the run than discovered in the results.

use std::time::Duration;

use super::spec::TrafficSpec;

/// Requests in flight at `rate` with `latency`, with room for bursts
/// (three standard deviations of a Poisson count).
pub fn expected_in_flight(rate: f64, latency: Duration) -> f64 {
    let mean = rate * latency.as_secs_f64();
    mean + 3.0 * mean.sqrt()
}

/// A warning when `spec` cannot carry its rate at `expected_latency`, or
/// `None` when it can.
pub fn pool_warning(spec: &TrafficSpec, expected_latency: Duration) -> Option<String> {
    pool_warning_with_limit(spec, expected_latency, crate::fd_limit::soft_limit())
}

fn pool_warning_with_limit(
    spec: &TrafficSpec,
    expected_latency: Duration,
    descriptor_limit: Option<u64>,
) -> Option<String> {
    let needed = expected_in_flight(spec.rate, expected_latency);
    let latency_ms = expected_latency.as_secs_f64() * 1000.0;
    let mut problems = Vec::new();
    if needed > spec.max_in_flight as f64 {
        problems.push(format!(
            "at {} req/s and {latency_ms:.0} ms per request about {needed:.0} requests are in \
             flight, above max_in_flight {}: the excess will be dropped (raise max_in_flight \
             or lower the rate)",
            spec.rate, spec.max_in_flight
        ));
    }
    if expected_latency >= spec.timeout {
        problems.push(format!(
            "the expected latency {latency_ms:.0} ms is not below the request timeout {} ms: \
             most requests will time out",
            spec.timeout.as_millis()
        ));
    }
    if let Some(limit) = descriptor_limit {
        let usable = limit.saturating_sub(crate::fd_limit::RESERVED);
        let connections = needed.min(spec.max_in_flight as f64);
        if connections > usable as f64 {
            problems.push(format!(
                "about {connections:.0} connections are needed but the open-file limit is \
                 {limit}, already raised to the hard limit (raise the hard limit: `ulimit -Hn` \
                 as root, or LimitNOFILE= for a systemd unit)"
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::test_spec;

    #[test]
    fn a_pool_that_fits_gives_no_warning() {
        let mut spec = test_spec();
        spec.rate = 1000.0;
        spec.max_in_flight = 1000;
        // ~100 in flight at 100 ms.
        assert_eq!(
            pool_warning_with_limit(&spec, Duration::from_millis(100), Some(65_536)),
            None
        );
    }

    #[test]
    fn too_small_a_pool_is_named_with_the_numbers() {
        let mut spec = test_spec();
        spec.rate = 1000.0;
        spec.max_in_flight = 50;
        let warning =
            pool_warning_with_limit(&spec, Duration::from_millis(100), None).expect("a warning");
        assert!(warning.contains("max_in_flight 50"), "{warning}");
        assert!(warning.contains("dropped"), "{warning}");
    }

    #[test]
    fn the_descriptor_limit_and_the_timeout_are_checked() {
        let mut spec = test_spec();
        spec.rate = 10_000.0;
        spec.max_in_flight = 100_000;
        let warning = pool_warning_with_limit(&spec, Duration::from_millis(200), Some(1024))
            .expect("a warning");
        assert!(warning.contains("ulimit"), "{warning}");
        spec.timeout = Duration::from_millis(100);
        let warning =
            pool_warning_with_limit(&spec, Duration::from_millis(200), None).expect("a warning");
        assert!(warning.contains("timeout"), "{warning}");
    }

    #[test]
    fn bursts_get_headroom() {
        let in_flight = expected_in_flight(100.0, Duration::from_secs(1));
        assert!((in_flight - 130.0).abs() < 1e-9);
    }
}
