//! Wall-clock timestamps as RFC 3339 text (UTC, millisecond precision), for
//! JSON bodies and results, and reading them back (the report, the runs
//! index, JUnit): writer and reader in one place, both by the `time` crate.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `now` as `2026-11-29T05:17:26.123Z`.
pub fn rfc3339(now: SystemTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from(now)
        .to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `now` as `20261129T051726Z`: sortable, and safe in file names (run ids).
pub fn compact(now: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(now)
        .to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Seconds between two RFC 3339 timestamps; `None` if either is not one.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    Some(epoch_seconds(end)? - epoch_seconds(start)?)
}

/// Seconds since 1970 of an RFC 3339 timestamp (`2026-11-29T05:17:26.123Z`,
/// or with an offset such as `+02:00`); `None` for anything else.
pub fn epoch_seconds(text: &str) -> Option<f64> {
    let instant = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(instant.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(leap_day), "2024-02-29T12:34:56.789Z");
        let end_of_century = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(rfc3339(end_of_century), "2099-12-31T23:59:59.000Z");
        assert_eq!(compact(leap_day), "20240229T123456Z");
    }

    #[test]
    fn reads_back_what_it_writes() {
        for millis in [0u64, 1_709_210_096_789, 4_102_444_799_000] {
            let instant = UNIX_EPOCH + Duration::from_millis(millis);
            let read = epoch_seconds(&rfc3339(instant)).expect("parses");
            assert!((read - millis as f64 / 1000.0).abs() < 1e-6, "{millis}");
        }
        assert_eq!(epoch_seconds("2026-13-01T00:00:00Z"), None);
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(
            epoch_seconds("1970-01-01T02:00:01+02:00"),
            Some(1.0),
            "an offset is honoured"
        );
    }
}
