//! Logs are bytes: a container may print anything, valid UTF-8 or not. HKS
//! keeps them as bytes and turns them into text only where text is needed,
//! lossily (each invalid sequence becomes U+FFFD), so that no output of a
//! run can make reading its log fail.
//!
//! A log cut by a byte count (the kubelet's `limitBytes`, the archive's cap)
//! would otherwise split a multi-byte character, which lossy decoding would
//! turn into U+FFFD although the run printed valid text; the functions here
//! move such cuts to the nearest character boundary.

/// The text of a log; invalid bytes come out as U+FFFD.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The text of a log that was cut after `limit` bytes (when `bytes` is that
/// long): a character the cut split is left out rather than shown as U+FFFD.
pub fn lossy_head(bytes: &[u8], limit: Option<usize>) -> String {
    lossy(limited(bytes, limit))
}

/// The bytes of a log read with a byte `limit` (the kubelet's `limitBytes`):
/// when it is that long the limit may have split its last character, which
/// is left out; invalid bytes stay for lossy decoding.
pub fn limited(bytes: &[u8], limit: Option<usize>) -> &[u8] {
    match limit {
        Some(limit) if bytes.len() >= limit => without_split_end(bytes),
        _ => bytes,
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0b1100_0000 == 0b1000_0000
}

/// The length of the UTF-8 character whose lead byte is `b` (0 when `b`
/// cannot start one).
fn char_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

/// `bytes` without a trailing incomplete character: the start of a valid
/// character whose end was cut off. Invalid bytes are left for lossy decoding.
pub fn without_split_end(bytes: &[u8]) -> &[u8] {
    for back in 1..=3.min(bytes.len()) {
        let start = bytes.len() - back;
        if is_continuation(bytes[start]) {
            continue;
        }
        let n = char_len(bytes[start]);
        // Only a valid prefix of a longer character is a split one.
        let split = n > back
            && matches!(std::str::from_utf8(&bytes[start..]), Err(e) if e.error_len().is_none());
        return if split { &bytes[..start] } else { bytes };
    }
    bytes
}

/// The largest index at most `at` that does not split a valid character
/// of `bytes`.
pub fn floor_boundary(bytes: &[u8], at: usize) -> usize {
    if at >= bytes.len() || !is_continuation(bytes[at]) {
        return at.min(bytes.len());
    }
    for back in 1..=3.min(at) {
        let start = at - back;
        if is_continuation(bytes[start]) {
            continue;
        }
        let n = char_len(bytes[start]);
        let whole = n > back
            && start + n <= bytes.len()
            && std::str::from_utf8(&bytes[start..start + n]).is_ok();
        return if whole { start } else { at };
    }
    at
}

/// The smallest index at least `at` that does not split a valid character
/// of `bytes`.
pub fn ceil_boundary(bytes: &[u8], at: usize) -> usize {
    let floor = floor_boundary(bytes, at);
    if floor == at {
        at
    } else {
        floor + char_len(bytes[floor])
    }
}

/// Decodes a log that arrives in chunks (a followed log): a character split
/// between two chunks is kept back until its end arrives.
#[derive(Debug, Default)]
pub struct LossyDecoder {
    pending: Vec<u8>,
}

impl LossyDecoder {
    /// The text of everything so far but a split character at the end.
    pub fn push(&mut self, chunk: &[u8]) -> String {
        self.pending.extend_from_slice(chunk);
        let keep = without_split_end(&self.pending).len();
        let text = lossy(&self.pending[..keep]);
        self.pending.drain(..keep);
        text
    }

    /// The rest, when the log ended (a split character is U+FFFD).
    pub fn finish(&mut self) -> String {
        let text = lossy(&self.pending);
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        assert_eq!(lossy(b"ok\n\xff\xfe bad\n"), "ok\n\u{fffd}\u{fffd} bad\n");
        assert_eq!(lossy(b"before\xffafter\n"), "before\u{fffd}after\n");
        assert_eq!(lossy("é€😀".as_bytes()), "é€😀");
    }

    #[test]
    fn a_head_cut_leaves_out_a_split_character() {
        let text = "a€b".as_bytes(); // a, 3 bytes of €, b
        assert_eq!(lossy_head(&text[..2], Some(2)), "a");
        assert_eq!(lossy_head(&text[..3], Some(3)), "a");
        assert_eq!(lossy_head(&text[..4], Some(4)), "a€");
        let emoji = "x😀".as_bytes();
        for n in 2..5 {
            assert_eq!(lossy_head(&emoji[..n], Some(n)), "x", "cut after {n}");
        }
        // Not cut: an incomplete end is the run's own output.
        assert_eq!(lossy_head(&text[..2], Some(10)), "a\u{fffd}");
        assert_eq!(lossy_head(&text[..2], None), "a\u{fffd}");
        // Invalid bytes at the cut stay, as U+FFFD.
        assert_eq!(lossy_head(b"a\xff", Some(2)), "a\u{fffd}");
        assert_eq!(lossy_head(b"a\x80\x80", Some(3)), "a\u{fffd}\u{fffd}");
        assert_eq!(lossy_head(b"a\xe2\x28", Some(3)), "a\u{fffd}(");
    }

    #[test]
    fn boundaries_do_not_split_characters() {
        let b = "aé€😀z".as_bytes(); // 1 + 2 + 3 + 4 + 1 bytes
        let starts = [0, 1, 3, 6, 10, 11];
        for at in 0..=b.len() {
            let floor = floor_boundary(b, at);
            let ceil = ceil_boundary(b, at);
            assert!(
                starts.contains(&floor) && floor <= at,
                "floor {at} = {floor}"
            );
            assert!(starts.contains(&ceil) && ceil >= at, "ceil {at} = {ceil}");
            assert!(std::str::from_utf8(&b[..floor]).is_ok());
            assert!(std::str::from_utf8(&b[ceil..]).is_ok());
        }
        assert_eq!(floor_boundary(b, 8), 6);
        assert_eq!(ceil_boundary(b, 8), 10);
        // Stray continuation bytes are no character: cuts stay where asked.
        assert_eq!(floor_boundary(b"a\x80\x80b", 2), 2);
        assert_eq!(ceil_boundary(b"a\x80\x80b", 2), 2);
    }

    #[test]
    fn chunks_decode_as_the_whole() {
        let whole = "ab€c😀d\u{7f}".as_bytes().to_vec();
        let mut bad = whole.clone();
        bad.extend_from_slice(b"\xff\xfe!\xe2\x82");
        for log in [whole, bad] {
            for size in 1..=log.len() {
                let mut d = LossyDecoder::default();
                let mut out: String = log.chunks(size).map(|c| d.push(c)).collect();
                out.push_str(&d.finish());
                assert_eq!(out, lossy(&log), "chunks of {size}");
            }
        }
    }
}
