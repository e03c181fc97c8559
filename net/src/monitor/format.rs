//! Go-compatible formatting of the values nats-server's monitoring JSON carries: timestamps as
//! `time.Time` marshals them, durations as `time.Duration.String()` and the server's own
//! `myUptime`, numbers as `encoding/json` prints them, and Go's HTML-safe string escaping.

use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// A UTC instant, marshalled as Go marshals a `time.Time` in UTC: RFC 3339 with nanoseconds and
/// trailing zeros of the fraction trimmed (`2026-11-25T04:39:52.4390985Z`, or `…:52Z` when whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (negative before 1970).
    secs: i64,
    /// Always below 1,000,000,000.
    nanos: u32,
}

impl Timestamp {
    /// Go's zero `time.Time`, `0001-01-01T00:00:00Z`: what nats-server prints for a time never set.
    pub const GO_ZERO: Self = Self { secs: -62_135_596_800, nanos: 0 };

    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch; `nanos` beyond a
    /// second carry into `secs`.
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Self {
            secs: secs.saturating_add(i64::from(nanos / 1_000_000_000)),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Converts a wall-clock time.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => {
                Self::from_unix(i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos())
            }
            Err(e) => {
                // Before 1970: borrow a second when there is a fraction.
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => Self { secs: -secs, nanos: 0 },
                    n => Self { secs: -secs - 1, nanos: 1_000_000_000 - n },
                }
            }
        }
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// The nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
}

impl Default for Timestamp {
    /// Go's zero time, [`Timestamp::GO_ZERO`].
    fn default() -> Self {
        Self::GO_ZERO
    }
}

impl fmt::Display for Timestamp {
    /// Go's `time.RFC3339Nano` layout in UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        if self.nanos != 0 {
            let digits = format!("{:09}", self.nanos);
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        f.write_char('Z')
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Year, month, day of the proleptic Gregorian calendar for a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a duration as Go's `time.Duration.String()` does: `0s`, `750ns`, `1.5µs`, `1.234ms`,
/// `3.5s`, `2m0s`, `1h2m3.5s`. This is the form of `rtt` in `/connz` and `/gatewayz`.
///
/// Durations beyond Go's `int64` nanoseconds (about 292 years) saturate.
pub fn go_duration(d: Duration) -> String {
    go_duration_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// [`go_duration`] for a signed count of nanoseconds, as Go's `time.Duration` is.
pub fn go_duration_nanos(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut u = nanos.unsigned_abs();
    let mut out = String::with_capacity(24);
    if nanos < 0 {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Sub-second: one unit, with a fraction.
        let (unit, prec) = match u {
            0..1_000 => {
                let _ = write!(out, "{u}ns");
                return out;
            }
            1_000..1_000_000 => ("µs", 3),
            _ => ("ms", 6),
        };
        let scale = 10u64.pow(prec);
        push_int_frac(&mut out, u / scale, u % scale, prec);
        out.push_str(unit);
        return out;
    }
    let frac = u % 1_000_000_000;
    u /= 1_000_000_000;
    let (hours, mins, secs) = (u / 3600, u / 60 % 60, u % 60);
    if hours > 0 {
        let _ = write!(out, "{hours}h{mins}m");
    } else if mins > 0 {
        let _ = write!(out, "{mins}m");
    }
    push_int_frac(&mut out, secs, frac, 9);
    out.push('s');
    out
}

/// Writes `int` and, if `frac` is not zero, `.` and `frac` as `prec` digits less trailing zeros.
fn push_int_frac(out: &mut String, int: u64, frac: u64, prec: u32) {
    let _ = write!(out, "{int}");
    if frac != 0 {
        let digits = format!("{frac:0width$}", width = prec as usize);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Formats an RTT as nats-server does (`client.getRTT().String()`): values strictly between
/// 1 µs and 1 ms are truncated to whole microseconds first; zero (not yet measured) is `0s`.
pub fn rtt(d: Duration) -> String {
    let micro = Duration::from_micros(1);
    let milli = Duration::from_millis(1);
    if d > micro && d < milli {
        go_duration(Duration::from_micros(d.as_micros() as u64))
    } else {
        go_duration(d)
    }
}

/// Formats an `uptime` or `idle` value as nats-server's `myUptime` does: whole seconds only, with
/// days and years, and every unit below the largest shown: `0s`, `59s`, `1m0s`, `2h3m4s`,
/// `1d0h0m5s`, `1y2d3h4m5s` (a year is 365 days).
pub fn uptime(d: Duration) -> String {
    let secs = d.as_secs();
    let (mins, hours) = (secs / 60, secs / 3600);
    let (days, years) = (hours / 24, hours / 24 / 365);
    let (s, m, h, dd) = (secs % 60, mins % 60, hours % 24, days % 365);
    if years > 0 {
        format!("{years}y{dd}d{h}h{m}m{s}s")
    } else if days > 0 {
        format!("{days}d{h}h{m}m{s}s")
    } else if hours > 0 {
        format!("{hours}h{m}m{s}s")
    } else if mins > 0 {
        format!("{mins}m{s}s")
    } else {
        format!("{secs}s")
    }
}

/// Serializes a `float64` field the way Go's `encoding/json` prints it where it matters: a whole
/// value without a fraction (`2`, not serde_json's `2.0`), anything else as the shortest
/// round-tripping decimal.
///
/// Differs from Go only in the exponent form of magnitudes below 1e-6 (`1e-7` here, `1e-07` in
/// Go), which parse to the same number.
pub fn go_float<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    // 2^63 bounds the i64 conversion; every f64 at or above 2^53 is whole anyway.
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 {
        serializer.serialize_i64(v as i64)
    } else {
        serializer.serialize_f64(v)
    }
}

/// True for `0.0`: the `omitempty` test of a Go `float64`.
pub(crate) fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// Serializes a [`Duration`] as Go marshals a `time.Duration`: an integer count of nanoseconds
/// (`ping_interval`, `write_deadline`). Saturates at `i64::MAX`.
pub fn go_duration_as_nanos<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Serializes `value` as nats-server's handlers do: `json.MarshalIndent(v, "", "  ")` when
/// `pretty` (every endpoint but `/healthz`), else `json.Marshal`.
///
/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings; serde_json writes them raw. JSON
/// syntax outside strings uses none of them, so replacing them in the whole output is exact.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> Vec<u8> {
    let raw = if pretty { serde_json::to_vec_pretty(value) } else { serde_json::to_vec(value) };
    // Serializing these plain structs (string keys only, no fallible `Serialize`) cannot fail.
    let raw = raw.unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
    go_html_escape(raw)
}

fn go_html_escape(raw: Vec<u8>) -> Vec<u8> {
    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
    let needs = raw.iter().any(|b| matches!(b, b'<' | b'>' | b'&' | 0xe2));
    if !needs {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xe2 if raw.get(i + 1) == Some(&0x80)
                && matches!(raw.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                out.extend_from_slice(if raw[i + 2] == 0xa8 { b"\\u2028" } else { b"\\u2029" });
                i += 3;
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_go_rfc3339nano() {
        // Values checked against Go's `t.UTC().Format(time.RFC3339Nano)`.
        assert_eq!(Timestamp::from_unix(0, 0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix(1_795_581_592, 439_098_559).to_string(),
            "2026-11-25T04:39:52.439098559Z"
        );
        assert_eq!(
            Timestamp::from_unix(1_795_581_592, 502_900_000).to_string(),
            "2026-11-25T04:39:52.5029Z"
        );
        assert_eq!(
            Timestamp::from_unix(951_782_400, 1).to_string(),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(Timestamp::from_unix(-1, 500_000_000).to_string(), "1969-12-31T23:59:59.5Z");
        assert_eq!(Timestamp::GO_ZERO.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_unix(253_402_300_799, 0).to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn timestamps_from_system_time() {
        let t = UNIX_EPOCH + Duration::new(1_795_581_592, 7);
        assert_eq!(Timestamp::from_system_time(t), Timestamp::from_unix(1_795_581_592, 7));
        let before = UNIX_EPOCH - Duration::new(1, 250_000_000);
        assert_eq!(Timestamp::from_system_time(before).to_string(), "1969-12-31T23:59:58.75Z");
        assert_eq!(
            serde_json::to_string(&Timestamp::from_unix(0, 120)).unwrap(),
            "\"1970-01-01T00:00:00.00000012Z\""
        );
    }

    #[test]
    fn durations_match_go_duration_string() {
        // Go: fmt.Println(time.Duration(n)) for each n.
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1µs"),
            (1_500, "1.5µs"),
            (536_000, "536µs"),
            (999_999, "999.999µs"),
            (1_000_000, "1ms"),
            (1_234_000, "1.234ms"),
            (1_234_567, "1.234567ms"),
            (100_000_000, "100ms"),
            (1_000_000_000, "1s"),
            (1_000_000_001, "1.000000001s"),
            (3_500_000_000, "3.5s"),
            (60_000_000_000, "1m0s"),
            (120_000_000_000, "2m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (3_600_000_000_000, "1h0m0s"),
            (90_000_000_000_000, "25h0m0s"),
            (-1_500, "-1.5µs"),
            (-3_723_500_000_000, "-1h2m3.5s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for &(n, want) in cases {
            assert_eq!(go_duration_nanos(n), want, "{n}ns");
        }
        assert_eq!(go_duration(Duration::from_millis(1234)), "1.234s");
        assert_eq!(go_duration(Duration::MAX), "2562047h47m16.854775807s");
    }

    #[test]
    fn rtt_truncates_to_microseconds_below_a_millisecond() {
        assert_eq!(rtt(Duration::ZERO), "0s");
        assert_eq!(rtt(Duration::from_nanos(536_789)), "536µs");
        assert_eq!(rtt(Duration::from_nanos(1_000)), "1µs");
        assert_eq!(rtt(Duration::from_nanos(999)), "999ns");
        assert_eq!(rtt(Duration::from_nanos(1_234_567)), "1.234567ms");
    }

    #[test]
    fn uptime_matches_my_uptime() {
        let s = Duration::from_secs;
        assert_eq!(uptime(Duration::from_millis(999)), "0s");
        assert_eq!(uptime(s(59)), "59s");
        assert_eq!(uptime(s(60)), "1m0s");
        assert_eq!(uptime(s(3_600)), "1h0m0s");
        assert_eq!(uptime(s(7_384)), "2h3m4s");
        assert_eq!(uptime(s(86_405)), "1d0h0m5s");
        assert_eq!(uptime(s(365 * 86_400 + 2 * 86_400 + 3 * 3_600 + 4 * 60 + 5)), "1y2d3h4m5s");
    }

    #[derive(Serialize)]
    struct Floats {
        #[serde(serialize_with = "go_float")]
        a: f64,
        #[serde(serialize_with = "go_float")]
        b: f64,
        #[serde(serialize_with = "go_float")]
        c: f64,
        #[serde(serialize_with = "go_float")]
        d: f64,
        #[serde(serialize_with = "go_duration_as_nanos")]
        e: Duration,
    }

    #[test]
    fn numbers_print_as_go_prints_them() {
        let v = Floats {
            a: 2.0,
            b: 0.46153846153846156,
            c: 0.0,
            d: -12.5,
            e: Duration::from_secs(120),
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":2,"b":0.46153846153846156,"c":0,"d":-12.5,"e":120000000000}"#
        );
    }

    #[test]
    fn html_characters_are_escaped_like_go() {
        #[derive(Serialize)]
        struct S {
            name: &'static str,
        }
        let out = to_go_json(&S { name: "a<b>&c\u{2028}\u{2029}é\"\n" }, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"name":"a\u003cb\u003e\u0026c\u2028\u2029é\"\n"}"#
        );
        let pretty = to_go_json(&S { name: "x" }, true);
        assert_eq!(String::from_utf8(pretty).unwrap(), "{\n  \"name\": \"x\"\n}");
    }
}
