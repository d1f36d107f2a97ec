//! Owns the reading of durations and sizes written as strings, in the forms nats-server
//! users write them: Go-style durations ("2s", "500ms", "1h30m", "1.5m") and sizes with
//! nats' suffixes ("1MB", "64mb", "2k").

use std::time::Duration;

use super::natsconf::parse_sized_integer;

/// Nanoseconds per unit, longest spellings first so "ms" is not read as "m".
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go-style duration: one or more `<number><unit>` parts, the number possibly
/// with a fraction. "0" alone is allowed; negative durations are not (no setting
/// edgeleaf has can use one).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("an empty string is not a duration".into());
    }
    let s = match s.strip_prefix('+') {
        Some(rest) => rest,
        None if s.starts_with('-') => return Err("a duration can not be negative".into()),
        None => s,
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(format!("'{s}' is not a duration like 2s, 500ms or 1h30m"));
        }
        let (unit, unit_ns) = UNITS
            .iter()
            .find(|(u, _)| after.starts_with(u))
            .copied()
            .ok_or_else(|| format!("'{s}' needs a unit after {num} (ns, us, ms, s, m or h)"))?;
        rest = &after[unit.len()..];
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| format!("'{s}' is out of range"))?
        };
        // Keep at most 18 fraction digits: beyond that the nanosecond value cannot change.
        let frac = &frac[..frac.len().min(18)];
        let frac_ns = if frac.is_empty() {
            0
        } else {
            let digits: u128 = frac.parse().map_err(|_| format!("'{s}' is out of range"))?;
            digits * unit_ns / 10u128.pow(frac.len() as u32)
        };
        total = whole
            .checked_mul(unit_ns)
            .and_then(|n| n.checked_add(frac_ns))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(|| format!("'{s}' is out of range"))?;
    }
    let secs =
        u64::try_from(total / 1_000_000_000).map_err(|_| format!("'{s}' is out of range"))?;
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Parses a size string: an integer with an optional nats size suffix ("1MB" = 1 MiB,
/// "1M" = 1,000,000), spaces allowed before the suffix.
pub(crate) fn parse_size(text: &str) -> Result<i64, String> {
    parse_sized_integer(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("1m"), Ok(ms(60_000)));
        assert_eq!(parse_duration("1h30m"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("10\u{b5}s"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("+3s"), Ok(ms(3000)));
        assert_eq!(parse_duration(" 2s "), Ok(ms(2000)));
        for bad in ["", "s", "5", "1x", "-1s", "1..5s", "1s2", "ms", "1 s", "."] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999999999999999h").is_err());
        assert!(parse_duration("9999999999999999999h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MB"), Ok(1 << 20));
        assert_eq!(parse_size("64MB"), Ok(64 << 20));
        assert_eq!(parse_size("64mb"), Ok(64 << 20));
        assert_eq!(parse_size("2k"), Ok(2000));
        assert_eq!(parse_size("2 KB"), Ok(2048));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("").is_err());
    }
}
