//! What the three wire parsers (client, gateway, server→client) have in common: the
//! incremental [`FrameParser`] interface, the drivers that run one over a whole input or over
//! chunks (tests, fuzzing, differential checks), and the byte-level helpers of their grammar.

use bytes::BytesMut;

/// An incremental parser: takes the next whole frame off the front of `buf`, or `Ok(None)`
/// when `buf` holds only part of one (the caller reads more and asks again).
pub trait FrameParser {
    /// A parsed frame.
    type Frame;
    /// Why a stream cannot be parsed further.
    type Error;

    /// The next frame of `buf`, removing its bytes.
    fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Frame>, Self::Error>;
}

/// What a parser yields for a stream, up to and including the first error.
pub type Frames<P> = Vec<Result<<P as FrameParser>::Frame, <P as FrameParser>::Error>>;

/// Feeds `chunks` one after the other into `parser`: every frame up to and including the first
/// error, and the most bytes the buffer held after the parser had taken what it could (the
/// number a memory bound speaks of).
pub fn parse_chunks<P, C>(mut parser: P, chunks: impl IntoIterator<Item = C>) -> (Frames<P>, usize)
where
    P: FrameParser,
    C: AsRef<[u8]>,
{
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut held = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk.as_ref());
        loop {
            match parser.next_frame(&mut buf) {
                Ok(Some(frame)) => out.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return (out, held);
                }
            }
        }
        held = held.max(buf.len());
    }
    (out, held)
}

/// Cuts `data` at `cuts` (each taken modulo `data.len() + 1`, in any order): the chunks a
/// fragmentation test feeds to [`parse_chunks`].
pub fn split_at<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        chunks.push(&data[start..cut]);
        start = cut;
    }
    chunks
}

/// Every frame of `data` as one read, up to and including the first error.
pub fn parse_all<P: FrameParser>(parser: P, data: &[u8]) -> Frames<P> {
    parse_chunks(parser, [data]).0
}

/// The argument separators of every op: space and tab.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// nats-server's `parseSize`: 1 to 9 ASCII digits, nothing else (so no overflow is possible).
#[inline]
pub(crate) fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    d.iter().try_fold(0usize, |n, &b| b.is_ascii_digit().then(|| n * 10 + usize::from(b - b'0')))
}
