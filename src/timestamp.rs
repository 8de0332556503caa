//! Wall-clock timestamps as RFC 3339 text (UTC, millisecond precision), for
//! JSON bodies and results, and reading them back (the report, the runs
//! index, JUnit): writer and reader in one place, without a date-time
//! dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// `now` as `2026-11-29T05:17:26.123Z`.
pub fn rfc3339(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs() as i64;
    let millis = since_epoch.subsec_millis();
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `now` as `20261129T051726Z`: sortable, and safe in file names (run ids).
pub fn compact(now: SystemTime) -> String {
    let text = rfc3339(now);
    let digits: String = text[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("{digits}Z")
}

/// Seconds between two RFC 3339 UTC timestamps written by
/// [`rfc3339`] (`YYYY-MM-DDTHH:MM:SS(.fff)Z`); `None` for anything else.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    Some(epoch_seconds(end)? - epoch_seconds(start)?)
}

/// Seconds since 1970 of `YYYY-MM-DDTHH:MM:SS(.fff)Z`.
pub fn epoch_seconds(text: &str) -> Option<f64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    let mut time_parts = time.splitn(3, ':');
    let hour: f64 = time_parts.next()?.parse().ok()?;
    let minute: f64 = time_parts.next()?.parse().ok()?;
    let second: f64 = time_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), the inverse of `civil_from_days`.
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days as f64 * 86_400.0 + hour * 3600.0 + minute * 60.0 + second)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
    }
}
