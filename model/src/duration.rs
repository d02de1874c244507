//! Traefik duration values: Go duration strings (`"10s"`, `"100ms"`, `"1m30s"`) or whole
//! seconds (`10`, `"10"`), kept in the form they were given so that they serialize back
//! unchanged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Longest duration accepted: Go's `time.Duration` limit (`i64::MAX` nanoseconds, ~292 years).
const MAX_NANOS: u128 = i64::MAX as u128;

/// A duration from the configuration, parsed when it is read and written back as it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraefikDuration {
    repr: Repr,
    value: Duration,
}

/// The form a duration was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// A string, e.g. `"1m30s"` or `"10"`.
    Text(String),
    /// A bare integer number of seconds.
    Seconds(u64),
}

/// Why a duration string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TraefikDuration {
    /// A duration of whole seconds, serialized as a bare integer.
    pub fn from_secs(secs: u64) -> Self {
        TraefikDuration {
            repr: Repr::Seconds(secs),
            value: Duration::from_secs(secs),
        }
    }

    /// The parsed value.
    pub fn as_duration(&self) -> Duration {
        self.value
    }

    /// Whether the duration is zero.
    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }
}

impl From<TraefikDuration> for Duration {
    fn from(d: TraefikDuration) -> Duration {
        d.value
    }
}

impl fmt::Display for TraefikDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Text(s) => f.write_str(s),
            Repr::Seconds(n) => write!(f, "{n}s"),
        }
    }
}

impl FromStr for TraefikDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = parse_go_duration(s).map_err(|reason| DurationError {
            input: s.to_string(),
            reason,
        })?;
        Ok(TraefikDuration {
            repr: Repr::Text(s.to_string()),
            value,
        })
    }
}

impl Serialize for TraefikDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Text(s) => serializer.serialize_str(s),
            Repr::Seconds(n) => serializer.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for TraefikDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Accepts a duration string or a non-negative integer number of seconds.
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = TraefikDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"10s\", \"100ms\", \"1m30s\", or whole seconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        if u128::from(v) * 1_000_000_000 > MAX_NANOS {
            return Err(E::custom(format!(
                "invalid duration {v}: longer than Go's limit of about 292 years"
            )));
        }
        Ok(TraefikDuration::from_secs(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!(
                "invalid duration {v}: negative durations are not allowed"
            ))),
        }
    }
}

/// Parses Traefik's duration syntax: an integer (seconds) or a Go duration string.
fn parse_go_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u128 = s
            .parse()
            .map_err(|_| "number of seconds is too large".to_string())?;
        return nanos_to_duration(secs.saturating_mul(1_000_000_000));
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err("missing number".to_string());
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let (nanos, tail) = parse_component(rest)?;
        total = total.saturating_add(nanos);
        rest = tail;
    }
    if negative && total != 0 {
        return Err("negative durations are not allowed".to_string());
    }
    nanos_to_duration(total)
}

/// Parses one `<number><unit>` component; returns its nanoseconds and the rest of the input.
fn parse_component(s: &str) -> Result<(u128, &str), String> {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, rest) = s.split_at(num_len);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("expected a number at {s:?}"));
    }
    if frac.contains('.') {
        return Err(format!("malformed number {number:?}"));
    }
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_len);
    let unit_nanos: u128 = match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "" => return Err(format!("missing unit after {number:?}")),
        other => {
            return Err(format!(
                "unknown unit {other:?} (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let too_large = || "duration is too large".to_string();
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(too_large)?;
    // Fractional digits beyond nanosecond precision are dropped, as Go does.
    let mut scale = unit_nanos;
    for digit in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos += u128::from(digit - b'0') * scale;
    }
    Ok((nanos, rest))
}

/// Converts a nanosecond count to a `Duration`, refusing values beyond Go's limit.
fn nanos_to_duration(nanos: u128) -> Result<Duration, String> {
    if nanos > MAX_NANOS {
        return Err("longer than Go's limit of about 292 years".to_string());
    }
    let secs = (nanos / 1_000_000_000) as u64;
    let sub = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Duration, DurationError> {
        s.parse::<TraefikDuration>().map(|d| d.as_duration())
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse(".5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse("42ns"), Ok(Duration::from_nanos(42)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("-0"), Ok(Duration::ZERO));
        assert_eq!(parse("+2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("2h45m10.5s"), Ok(Duration::from_millis(9_910_500)));
    }

    #[test]
    fn bare_integer_strings_are_seconds() {
        assert_eq!(parse("10"), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn rejects_malformed_durations() {
        let cases = [
            ("", "invalid duration \"\": empty duration"),
            (
                "10x",
                "invalid duration \"10x\": unknown unit \"x\" (use ns, us, ms, s, m or h)",
            ),
            (
                "1.5",
                "invalid duration \"1.5\": missing unit after \"1.5\"",
            ),
            (
                "-1s",
                "invalid duration \"-1s\": negative durations are not allowed",
            ),
            ("s", "invalid duration \"s\": expected a number at \"s\""),
            (
                "1..2s",
                "invalid duration \"1..2s\": malformed number \"1..2\"",
            ),
            ("-", "invalid duration \"-\": missing number"),
        ];
        for (input, msg) in cases {
            assert_eq!(parse(input).unwrap_err().to_string(), msg, "{input}");
        }
        assert!(parse("3000000h").is_err());
    }

    #[test]
    fn serializes_back_as_given() {
        for json in ["\"1m30s\"", "\"10\"", "10", "\"100ms\""] {
            let d: TraefikDuration = serde_json::from_str(json).expect("valid duration");
            assert_eq!(serde_json::to_string(&d).ok().as_deref(), Some(json));
        }
        let d: TraefikDuration = serde_json::from_str("10").expect("integer seconds");
        assert_eq!(d.as_duration(), Duration::from_secs(10));
        assert_eq!(d.to_string(), "10s");
    }

    #[test]
    fn deserialize_errors_are_descriptive() {
        let err = serde_json::from_str::<TraefikDuration>("-3").unwrap_err();
        assert!(err
            .to_string()
            .contains("negative durations are not allowed"));
        let err = serde_json::from_str::<TraefikDuration>("\"5y\"").unwrap_err();
        assert!(err.to_string().contains("unknown unit \"y\""));
        let err = serde_json::from_str::<TraefikDuration>("1.5").unwrap_err();
        assert!(err.to_string().contains("a duration such as"));
    }
}
