//! Dates as operators write them (`2027-01-06`, `2027-01-06T12:00:00Z`) and as time since
//! 1970, in UTC, without a calendar library (the proleptic Gregorian calendar of
//! certificates).

use std::time::Duration;

const DAY: u64 = 86_400;

/// `YYYY-MM-DD[THH:MM[:SS]][Z]` or a number of seconds since 1970, as time since 1970.
pub fn parse(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let text = text.trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<u64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (h, min, s) = (t.next()??, t.next().unwrap_or(Some(0))?, t.next().unwrap_or(Some(0))?);
    if h > 23 || min > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, m, day);
    Some(Duration::from_secs(days * DAY + h * 3600 + min * 60 + s))
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format(since_1970: Duration) -> String {
    let secs = since_1970.as_secs();
    let (y, m, d) = civil_from_days(secs / DAY);
    let t = secs % DAY;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", t / 3600, t / 60 % 60, t % 60)
}

/// Days since 1970-01-01 of a date from 1970 on (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    // Years start in March so that the leap day is the last day of a year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_leap_years() {
        assert_eq!(parse("1970-01-01"), Some(Duration::ZERO));
        assert_eq!(parse("2023-11-14T22:13:20Z"), Some(Duration::from_secs(1_700_000_000)));
        assert_eq!(format(Duration::from_secs(1_700_000_000)), "2023-11-14 22:13:20 UTC");
        for days in [0, 59, 60, 365, 10_956, 11_016, 20_000, 40_000] {
            let t = Duration::from_secs(days * DAY);
            assert_eq!(parse(&format(t)[..10]), Some(t), "{}", format(t));
        }
        assert_eq!(parse("2027-13-01"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
