//! Time as the system stores it: unix milliseconds (`i64`) in both databases, RFC 3339 UTC text at
//! the API boundary. One representation keeps SQLite and PostgreSQL queries identical.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2026-11-22T10:00:00.000Z`: RFC 3339, UTC, millisecond precision.
pub fn rfc3339(ms: i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    // Every delivery's body carries one of these: `format!` with fixed widths is several
    // times faster than interpreting a format description.
    if (0..=9999).contains(&t.year()) {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        );
    }
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&format).unwrap_or_default()
}

/// Parses RFC 3339 text (any offset) to unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ms = 1_795_600_800_123;
        let text = rfc3339(ms);
        assert_eq!(text, "2026-11-25T10:00:00.123Z");
        assert_eq!(parse_rfc3339(&text), Some(ms));
        assert_eq!(
            parse_rfc3339("2026-11-25T11:00:00+01:00"),
            Some(1_795_600_800_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn the_fixed_width_format_matches_the_format_description() {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        for ms in [
            0,
            -1,
            1,
            951_782_400_007,     // 2000-02-29
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            -62_135_596_800_000, // 0001-01-01
            1_795_600_800_123,
        ] {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
            assert_eq!(rfc3339(ms), t.format(&format).unwrap(), "{ms}");
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
