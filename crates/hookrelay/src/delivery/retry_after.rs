//! `Retry-After` (RFC 9110 §10.2.3) on a `429` or `503`: how long the receiver asks to be left
//! alone. The header comes from a receiver nobody vouches for, so it is read only from those two
//! statuses, only when short and well-formed, and only as a wish: the schedule bounds whatever it
//! asks (`schedule.rs`). Both sending paths (`http1.rs`, the `reqwest` one in `send.rs`) read
//! it here, so they agree.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::RETRY_AFTER;

/// Longer values are not a delay or a date: the longest well-formed one, an RFC 850 date with
/// a long weekday (`Wednesday, 09-Nov-94 08:49:37 GMT`), has 33 bytes.
const MAX_LEN: usize = 40;

/// The delay a `429`/`503` response asks for, from `now`; `None` for any other status, no
/// header, several (they may disagree: trust neither) or one that is not delta-seconds or an
/// HTTP-date. A date in the past asks for no delay.
pub fn parse(status: u16, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !matches!(status, 429 | 503) {
        return None;
    }
    let mut values = headers.get_all(RETRY_AFTER).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = value.to_str().ok()?.trim();
    if text.is_empty() || text.len() > MAX_LEN {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // Only overflow can fail here: a huge delay is still just "very long", which the
        // schedule's longest step then bounds.
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    // IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's example date.
    fn example_date() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    fn asked(status: u16, values: &[&str]) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(RETRY_AFTER, value.parse().expect("header value"));
        }
        parse(status, &headers, example_date() - Duration::from_secs(90))
    }

    #[test]
    fn delta_seconds_and_each_date_form_are_read() {
        assert_eq!(asked(503, &["120"]), Some(Duration::from_secs(120)));
        assert_eq!(asked(429, &[" 0 "]), Some(Duration::ZERO));
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(asked(503, &[date]), Some(Duration::from_secs(90)), "{date}");
        }
    }

    #[test]
    fn a_date_already_past_asks_for_no_delay() {
        assert_eq!(
            asked(503, &["Sat, 05 Nov 1994 08:49:37 GMT"]),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_huge_delay_saturates_instead_of_failing() {
        assert_eq!(
            asked(503, &["99999999999999999999999999"]),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn only_429_and_503_are_read() {
        for status in [200, 301, 408, 410, 500, 502] {
            assert_eq!(asked(status, &["120"]), None, "{status}");
        }
    }

    #[test]
    fn malformed_long_or_repeated_values_are_ignored() {
        for bad in [
            "",
            "-5",
            "1.5",
            "12s",
            "+30",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            &"9".repeat(MAX_LEN + 1),
        ] {
            assert_eq!(asked(503, &[bad]), None, "{bad:?}");
        }
        assert_eq!(asked(503, &["120", "120"]), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            http::HeaderValue::from_bytes(b"12\xff").expect("opaque bytes"),
        );
        assert_eq!(parse(503, &headers, example_date()), None);
    }
}
