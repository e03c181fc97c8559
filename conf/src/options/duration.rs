//! Go's `time.ParseDuration`, which nats-server uses for every duration option.

use std::time::Duration;

/// Parses `"300ms"`, `"1.5h"`, `"2h45m"`, `"0"`; units `ns`, `us` (`µs`, `μs`), `ms`, `s`,
/// `m`, `h`. Negative durations are refused (no Strait option takes one).
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}");
    let mut s = text;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    // Each step consumes at least one byte, so the loop ends.
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {text:?}")),
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        // Digits beyond 30 would overflow u128; Go rejects such values as overflow too.
        if int_part.len() > 30 {
            return Err(invalid());
        }
        let int: u128 =
            if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
        let mut ns = int.checked_mul(scale).ok_or_else(invalid)?;
        // Fractions: keep 18 digits, enough below a nanosecond for any unit.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        if !frac_digits.is_empty() {
            let f: u128 = frac_digits.parse().map_err(|_| invalid())?;
            let denom = 10u128.pow(frac_digits.len() as u32);
            ns += f * scale / denom;
        }
        total = total.checked_add(ns).ok_or_else(invalid)?;
        if total > i64::MAX as u128 {
            return Err(invalid());
        }
    }
    if negative && total != 0 {
        return Err(format!("negative duration {text:?}"));
    }
    // Bounded by i64::MAX above.
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ok = |s: &str| parse_go_duration(s).unwrap();
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1µs"), Duration::from_micros(1));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5.s"), Duration::from_secs(5));
        assert_eq!(ok("+3s"), Duration::from_secs(3));
        for bad in ["", "5", "s", "1x", "-1s", "1.s.s", ".s", "99999999999999999999h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }
}
