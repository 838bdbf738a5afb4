//! Log archives: each finished attempt's log, capped and compressed.
//!
//! A log longer than the cap keeps its first half and its last half (the start
//! says what ran, the end why it stopped) with a marker between them saying how
//! much was left out, so the user sees that it was cut.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use hks_core::logtext::{ceil_boundary, floor_boundary};

/// The default cap on the log kept per attempt.
pub const DEFAULT_CAP_BYTES: usize = 1024 * 1024;

/// A log ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    /// Gzip of the kept text.
    pub gzip: Vec<u8>,
    /// Bytes of the original log.
    pub original_bytes: usize,
    /// Whether the middle was cut to fit the cap.
    pub truncated: bool,
}

/// Caps and compresses a log.
pub fn archive(log: &[u8], cap: usize) -> Archived {
    let kept = cap_log(log, cap);
    Archived {
        gzip: compress(&kept),
        original_bytes: log.len(),
        truncated: kept.len() != log.len() || log.len() > cap,
    }
}

/// Caps and compresses a log too long to be read whole: `head` is its
/// beginning as far as it was read (the log is longer), `tail` its end,
/// read apart (and at least half the cap, unless the cluster had less).
/// The first and the last half of the cap are kept, with the cut marked,
/// as [`archive`] keeps them; `original_bytes` is `head`'s length, a lower
/// bound.
pub fn archive_ends(head: &[u8], tail: &[u8], cap: usize) -> Archived {
    let half = cap.saturating_sub(MARKER_ROOM) / 2;
    let kept_head = &head[..floor_boundary(head, half)];
    let kept_tail = &tail[ceil_boundary(tail, tail.len().saturating_sub(half))..];
    let marker = format!(
        "\n[... HKS kept the first and last {} KiB of this log; more than {} bytes in between were left out ...]\n",
        half / 1024,
        head.len() - kept_head.len()
    );
    Archived {
        gzip: compress(&[kept_head, marker.as_bytes(), kept_tail].concat()),
        original_bytes: head.len(),
        truncated: true,
    }
}

fn compress(text: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text);
    encoder.finish().unwrap_or_default()
}

/// The text of an archived log.
pub fn restore(gzip: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(gzip).read_to_end(&mut out)?;
    Ok(out)
}

/// At most the first `limit` bytes of an archived log's text: no more is
/// decompressed.
pub fn restore_head(gzip: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(gzip)
        .take(u64::try_from(limit).unwrap_or(u64::MAX))
        .read_to_end(&mut out)?;
    Ok(out)
}

/// What a log request over an archived log returns: the last `tail_lines`
/// lines, then at most `limit_bytes` bytes, as the kubelet does for live logs.
pub fn clip(text: &str, tail_lines: Option<usize>, limit_bytes: Option<usize>) -> &str {
    let mut out = text;
    if let Some(n) = tail_lines {
        let body = out.strip_suffix('\n').unwrap_or(out);
        let start = if n == 0 {
            out.len()
        } else {
            body.rmatch_indices('\n')
                .nth(n - 1)
                .map_or(0, |(i, _)| i + 1)
        };
        out = &out[start..];
    }
    if let Some(limit) = limit_bytes
        && out.len() > limit
    {
        let mut end = limit;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out = &out[..end];
    }
    out
}

/// Room within the cap for the marker (which is about 110 bytes).
const MARKER_ROOM: usize = 256;

fn cap_log(log: &[u8], cap: usize) -> Vec<u8> {
    if log.len() <= cap {
        return log.to_vec();
    }
    // The marker counts against the cap: a capped log read whole up to the
    // cap (the API's default `limitBytes` is the default cap) must still
    // end with the log's end.
    // Both cuts land on character boundaries, so a kept multi-byte
    // character is never split (and shown as U+FFFD) by the cap.
    let half = cap.saturating_sub(MARKER_ROOM) / 2;
    let head = &log[..floor_boundary(log, half)];
    let tail = &log[ceil_boundary(log, log.len() - half)..];
    let marker = format!(
        "\n[... HKS kept the first and last {} KiB of this log; {} bytes in between were left out ...]\n",
        half / 1024,
        log.len() - head.len() - tail.len()
    );
    [head, marker.as_bytes(), tail].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_works_like_the_kubelet() {
        let log = "a\nb\nc\n";
        assert_eq!(clip(log, Some(2), None), "b\nc\n");
        assert_eq!(clip(log, Some(5), None), log);
        assert_eq!(clip(log, Some(0), None), "");
        assert_eq!(clip(log, None, Some(3)), "a\nb");
        assert_eq!(clip(log, Some(2), Some(2)), "b\n");
        assert_eq!(clip("é", None, Some(1)), "");
    }

    #[test]
    fn caps_cut_on_character_boundaries_and_keep_invalid_bytes() {
        // Multi-byte characters straddle every possible cut.
        let mut log: Vec<u8> = "€😀é".repeat(10_000).into_bytes();
        log.extend_from_slice(b"\xff\xfe end\n");
        for cap in (4096..4200).step_by(1) {
            let a = archive(&log, cap);
            assert!(a.truncated);
            let kept = restore(&a.gzip).unwrap();
            assert!(kept.len() <= cap, "{} bytes kept of {cap}", kept.len());
            let text = String::from_utf8_lossy(&kept);
            let marker = text.find("\n[... HKS").unwrap();
            let (head, tail) = (&text[..marker], &text[marker..]);
            assert!(!head.contains('\u{fffd}'), "cap {cap}: head split");
            let tail = tail.split_once("...]\n").unwrap().1;
            assert_eq!(tail.matches('\u{fffd}').count(), 2, "cap {cap}: tail split");
            assert!(tail.ends_with("\u{fffd}\u{fffd} end\n"));
        }
    }

    #[test]
    fn a_head_is_restored_without_the_rest() {
        let log: Vec<u8> = (0..10_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let a = archive(&log, DEFAULT_CAP_BYTES);
        assert_eq!(restore_head(&a.gzip, 100).unwrap(), &log[..100]);
        assert_eq!(restore_head(&a.gzip, usize::MAX).unwrap(), log);
    }

    #[test]
    fn a_log_read_in_two_ends_keeps_both_within_the_cap() {
        let head: Vec<u8> = "first €\n".repeat(100_000).into_bytes();
        let tail: Vec<u8> = "😀 last\n".repeat(10_000).into_bytes();
        let cap = 64 * 1024;
        let a = archive_ends(&head, &tail, cap);
        assert!(a.truncated);
        assert_eq!(a.original_bytes, head.len());
        let kept = restore(&a.gzip).unwrap();
        assert!(kept.len() <= cap, "{} bytes kept", kept.len());
        let text = String::from_utf8(kept).expect("no character split");
        let (before, after) = text
            .split_once("bytes in between were left out ...]\n")
            .unwrap();
        assert!(before.starts_with("first €\n"));
        assert!(!before.contains('😀'));
        assert!(after.ends_with("😀 last\n"));
        assert!(!after.contains("first"));
        assert!(after.len() > 30 * 1024, "{} bytes of the end", after.len());
    }

    #[test]
    fn short_logs_round_trip() {
        let a = archive(b"hello\n", DEFAULT_CAP_BYTES);
        assert!(!a.truncated);
        assert_eq!(restore(&a.gzip).unwrap(), b"hello\n");
    }

    #[test]
    fn long_logs_keep_head_and_tail_and_say_so() {
        let log: Vec<u8> = (0..100_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let a = archive(&log, 64 * 1024);
        assert!(a.truncated);
        assert_eq!(a.original_bytes, log.len());
        let text = String::from_utf8(restore(&a.gzip).unwrap()).unwrap();
        assert!(text.starts_with("line 0\n"));
        assert!(text.ends_with("line 99999\n"));
        assert!(text.contains("bytes in between were left out"));
        assert!(text.len() <= 64 * 1024, "{} bytes kept", text.len());
        assert!(a.gzip.len() < 64 * 1024);
    }
}
