//! Webhook deliveries: the signed request and the retry schedule.
//!
//! A delivery's body is JSON; its signature header is
//! `X-HKS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! with the endpoint's secret, so a receiver can check both origin and age.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-HKS-Signature";
/// The header that carries the delivery's unique id (the same on every
/// attempt of one delivery), for the receiver to drop duplicates.
pub const DELIVERY_HEADER: &str = "X-HKS-Delivery";

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 6;

/// The signature header value for a body sent at `at`.
pub fn sign(secret: &[u8], at: Timestamp, body: &[u8]) -> String {
    let t = at.as_second();
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

/// The HMAC of `"<t>.<body>"`, ready to finish or to verify.
fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signature is older than allowed")]
    Expired,
}

/// Checks a signature header as a receiver would (used by tests and documented
/// for users), allowing `tolerance` of clock skew and delay.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => return Err(VerifyError::Malformed),
        }
    }
    let (t, v1) = t.zip(v1).ok_or(VerifyError::Malformed)?;
    mac(secret, t, body)
        .verify_slice(&v1)
        .map_err(|_| VerifyError::Mismatch)?;
    if (now.as_second() - t).abs() > tolerance.as_secs() {
        return Err(VerifyError::Expired);
    }
    Ok(())
}

/// When attempt `attempt` (1-based) of a delivery failed at `failed_at`, when to
/// try again: 5 s, 10 s, 20 s ... doubling, or `None` after the last attempt.
pub fn next_attempt(attempt: u32, failed_at: Timestamp) -> Option<Timestamp> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let wait = SignedDuration::from_secs(5 << (attempt - 1).min(10));
    failed_at.checked_add(wait).ok()
}

/// Whether an HTTP status means the receiver took the delivery.
pub fn delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let at: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let header = sign(b"secret", at, b"{\"a\":1}");
        assert!(header.starts_with("t=1735689600,v1="));
        let tol = SignedDuration::from_mins(5);
        assert_eq!(verify(b"secret", &header, b"{\"a\":1}", at, tol), Ok(()));
        assert_eq!(
            verify(b"secret", &header, b"{\"a\":2}", at, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &header, b"{\"a\":1}", at, tol),
            Err(VerifyError::Mismatch)
        );
        let later = at.checked_add(SignedDuration::from_mins(6)).unwrap();
        assert_eq!(
            verify(b"secret", &header, b"{\"a\":1}", later, tol),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            verify(b"secret", "nonsense", b"", at, tol),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn retries_back_off_then_stop() {
        let at: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map(|n| next_attempt(n, at).map_or(-1, |t| t.as_second() - at.as_second()))
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, -1]);
        assert!(delivered(204) && !delivered(500) && !delivered(302));
    }
}
