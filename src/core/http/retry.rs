//! When to try a call again: exponential backoff with jitter between attempts, or what the
//! server asked for in `Retry-After`, capped.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};

/// `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// First and largest pause between attempts (before jitter).
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The pauses before each of `max_retries` further attempts.
pub fn backoff(max_retries: u32) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(BACKOFF_MIN)
        .with_max_delay(BACKOFF_MAX)
        .with_jitter()
        .with_max_times(max_retries as usize)
        .build()
}

/// How long to wait before the next attempt: what the server asked for (capped at
/// `MAX_RETRY_AFTER`, and before converting, so a huge value cannot overflow), else the backoff.
pub fn retry_pause(retry_after: Option<f64>, backoff: Duration) -> Duration {
    match retry_after {
        Some(secs) => Duration::try_from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())).unwrap_or(MAX_RETRY_AFTER),
        None => backoff,
    }
}

/// `Retry-After` in seconds, from either of its forms: a number of seconds or an HTTP date.
pub fn parse_retry_after(value: &http::HeaderValue) -> Option<f64> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(SystemTime::now()).map_or(0.0, |d| d.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let backoff = Duration::from_millis(250);
        assert_eq!(retry_pause(None, backoff), backoff);
        assert_eq!(retry_pause(Some(3.0), backoff), Duration::from_secs(3));
        assert_eq!(retry_pause(Some(0.0), backoff), Duration::ZERO);
        assert_eq!(retry_pause(Some(120.0), backoff), MAX_RETRY_AFTER);
        assert_eq!(retry_pause(Some(1e300), backoff), MAX_RETRY_AFTER);
        assert_eq!(MAX_RETRY_AFTER, Duration::from_secs(60));
    }

    #[test]
    fn retry_after_both_forms() {
        let v = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(parse_retry_after(&v("3")), Some(3.0));
        assert_eq!(parse_retry_after(&v("1.5")), Some(1.5));
        assert_eq!(parse_retry_after(&v("-1")), None);
        assert_eq!(parse_retry_after(&v("soon")), None);
        // A date in the past means "now".
        assert_eq!(parse_retry_after(&v("Wed, 21 Oct 2015 07:28:00 GMT")), Some(0.0));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let secs = parse_retry_after(&v(&future)).unwrap();
        assert!((28.0..=30.0).contains(&secs), "{secs}");
    }
}
