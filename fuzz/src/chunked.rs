//! The `chunked` target: the chunked-coding checker (http/chunked.rs).

use super::*;

/// What a decoder reported over one input fed in some way.
#[derive(Debug)]
struct Framing {
    /// For each consumed byte, whether it is data.
    data: Vec<bool>,
    done: bool,
    /// The error, and the input range that was handed to the call that returned it.
    error: Option<(ChunkError, usize, usize)>,
}

/// Feeds `input` to a decoder in reads of the sizes `next_read` gives. After each read, the
/// decoder is called until it has consumed everything buffered, as the relay does.
fn decode(input: &[u8], mut next_read: impl FnMut() -> usize) -> Framing {
    let mut d = Decoder::new();
    let mut out = Framing {
        data: Vec::with_capacity(input.len()),
        done: false,
        error: None,
    };
    let mut consumed = 0;
    let mut received = 0;
    while received < input.len() && !d.is_done() {
        received = (received + next_read().max(1)).min(input.len());
        while consumed < received && !d.is_done() {
            match d.advance(&input[consumed..received]) {
                Ok((n, seg)) => {
                    assert!(n > 0, "advance consumed nothing of a non-empty buffer");
                    assert!(consumed + n <= received, "advance consumed past its input");
                    out.data
                        .extend(std::iter::repeat_n(seg == Segment::Data, n));
                    consumed += n;
                }
                Err(e) => {
                    out.error = Some((e, consumed, received));
                    return out;
                }
            }
        }
    }
    out.done = d.is_done();
    if out.done {
        // A finished decoder consumes nothing more.
        assert_eq!(d.advance(&input[consumed..]), Ok((0, Segment::Framing)));
        assert_eq!(d.advance(b"0\r\n\r\n"), Ok((0, Segment::Framing)));
    }
    out
}

/// Checks that the framing agrees with the chunk sizes: every data run follows a size line
/// naming its length (a shorter last run when the input ends inside the chunk), and the
/// CRLF after the data comes next.
fn check_sizes(input: &[u8], f: &Framing) {
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, &is_data) in f.data.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.2 == is_data => r.1 = i + 1,
            _ => runs.push((i, i + 1, is_data)),
        }
    }
    for (k, &(start, end, is_data)) in runs.iter().enumerate() {
        if !is_data {
            continue;
        }
        assert!(k > 0, "data before any chunk size");
        let (fs, fe, _) = runs[k - 1];
        let framing = &input[fs..fe];
        assert!(framing.ends_with(b"\r\n"), "the size line ends in CRLF");
        let line = &framing[..framing.len() - 2];
        let line = match line.iter().rposition(|&b| b == b'\n') {
            Some(p) => &line[p + 1..],
            None => line,
        };
        let digits: Vec<u8> = line
            .iter()
            .copied()
            .take_while(u8::is_ascii_hexdigit)
            .collect();
        assert!(!digits.is_empty(), "a size line without a size: {line:?}");
        let significant = &digits[digits.iter().take_while(|&&d| d == b'0').count()..];
        let size = std::str::from_utf8(significant)
            .ok()
            .and_then(|s| u128::from_str_radix(s, 16).ok())
            .unwrap_or(if significant.is_empty() { 0 } else { u128::MAX });
        let len = (end - start) as u128;
        if k + 1 < runs.len() {
            assert_eq!(len, size, "data run of {len} bytes after size {size:#x}");
            assert_eq!(input[end], b'\r', "the data is followed by CRLF");
        } else {
            assert!(len <= size, "data run of {len} bytes after size {size:#x}");
        }
    }
    if f.done {
        assert!(
            input[..f.data.len()].ends_with(b"\r\n"),
            "the body ends in CRLF"
        );
        assert!(
            runs.last().is_some_and(|r| !r.2),
            "the body ends with framing"
        );
    }
}

/// Input: two bytes seeding the read sizes, then a chunked body and whatever follows it.
pub fn chunked(data: &[u8]) {
    let seed = u64::from(u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]));
    let input = data.get(2..).unwrap_or(&[]);
    let whole = decode(input, || usize::MAX / 2);
    let bytewise = decode(input, || 1);
    let mut rng = Rng::new(seed);
    let max_read = 1 + (seed as usize % 64);
    let split = decode(input, || 1 + rng.below(max_read));
    check_sizes(input, &whole);

    match bytewise.error {
        None => {
            for other in [&whole, &split] {
                assert!(
                    other.error.is_none(),
                    "an error in one split only: {other:?}"
                );
                assert_eq!(
                    other.data, bytewise.data,
                    "the framing depends on the split"
                );
                assert_eq!(other.done, bytewise.done);
            }
        }
        Some((kind, at, _)) => {
            // Fed byte by byte, the failing byte is exactly known; any other split must fail
            // the same way in the read holding that byte, and agree on everything before it.
            assert_eq!(bytewise.data.len(), at);
            for other in [&whole, &split] {
                let Some((k, start, end)) = other.error else {
                    panic!("an error in one split only: {kind:?} at {at}");
                };
                assert_eq!(k, kind, "a different error for another split");
                assert!(
                    start <= at && at < end,
                    "error read {start}..{end}, byte {at}"
                );
                assert_eq!(other.data[..], bytewise.data[..other.data.len()]);
            }
        }
    }
}
