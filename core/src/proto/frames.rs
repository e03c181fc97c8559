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

/// The arguments of a control line as `(start, end)` offsets: the runs of bytes between
/// separators (spaces and tabs, and CRs when `cr_is_space`, as nats-server's `splitArg` does;
/// a line's `\n` is never inside it). One splitter for every parser.
#[derive(Clone, Debug)]
pub(crate) struct ArgSpans<'a> {
    arg: &'a [u8],
    at: usize,
    cr_is_space: bool,
}

impl<'a> ArgSpans<'a> {
    #[inline]
    pub(crate) fn new(arg: &'a [u8], cr_is_space: bool) -> Self {
        Self { arg, at: 0, cr_is_space }
    }
}

impl Iterator for ArgSpans<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        let seps = if self.cr_is_space { SPACE | CR } else { SPACE };
        let arg = self.arg;
        let mut i = self.at;
        while i < arg.len() && LINE_CLASSES[usize::from(arg[i])] & seps != 0 {
            i += 1;
        }
        if i >= arg.len() {
            self.at = i;
            return None;
        }
        let start = i;
        while i < arg.len() && LINE_CLASSES[usize::from(arg[i])] & seps == 0 {
            i += 1;
        }
        self.at = i;
        Some((start, i))
    }
}

/// Byte classes for [`ArgSpans`] and [`scan_line`] (a table lookup per byte is the cheapest
/// test on the hot path): space and tab, CR, LF.
const SPACE: u8 = 1;
const CR: u8 = 2;
const LF: u8 = 4;

static LINE_CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[b'\r' as usize] = CR;
    table[b'\n' as usize] = LF;
    table
};

/// How many fields the fast paths take; a longer line is left to the state machines.
pub(crate) const LINE_FIELDS: usize = 8;

/// A field's place in a frame, `start..end`: half the size of a pair of `usize`, which
/// matters in the values a parser moves per message. Frames are bounded by the 9-digit size
/// field and the control-line limit; a parser refuses a line past `u32` before making one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span(u32, u32);

impl Span {
    /// `None` for offsets past `u32`.
    #[inline]
    pub(crate) fn new(start: usize, end: usize) -> Option<Self> {
        Some(Self(u32::try_from(start).ok()?, u32::try_from(end).ok()?))
    }

    #[inline]
    pub(crate) fn start(self) -> usize {
        self.0 as usize
    }

    #[inline]
    pub(crate) fn end(self) -> usize {
        self.1 as usize
    }

    /// Appends `part` to `frame` and returns its span (frames built from parts, for tests
    /// and fuzzing; a part past `u32` gets an empty span).
    pub(crate) fn append(frame: &mut BytesMut, part: &[u8]) -> Self {
        let start = frame.len();
        frame.extend_from_slice(part);
        Self::new(start, frame.len()).unwrap_or_default()
    }

    /// From the start of `self` to the end of `last`.
    #[inline]
    pub(crate) fn through(self, last: Self) -> Self {
        Self(self.0, last.1)
    }

    /// The bytes of `frame` this span covers (empty if out of range).
    #[inline]
    pub(crate) fn of(self, frame: &[u8]) -> &[u8] {
        frame.get(self.start()..self.end()).unwrap_or_default()
    }

    /// A refcounted slice of `frame`.
    #[inline]
    pub(crate) fn slice(self, frame: &bytes::Bytes) -> bytes::Bytes {
        frame.slice(self.start()..self.end())
    }
}

/// A control line's fields and the place of its `\n`, found in one pass by [`scan_line`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineFields {
    /// Each field, as [`ArgSpans`] would split the line without its CRLF.
    pub(crate) spans: [Span; LINE_FIELDS],
    pub(crate) len: usize,
    /// Offset of the `\n`.
    pub(crate) nl: usize,
    /// Length of the argument without the line ending (`nl`, less a CR before it).
    pub(crate) end: usize,
}

/// The fast paths' scan of the bytes after an op name and its separator: the fields up to
/// the first `\n` and its place, in one pass (splitting and then searching for the line end
/// cost twice as much on short lines). `None` when no `\n` is in `rest` yet or the line has
/// more than [`LINE_FIELDS`] fields.
#[inline(always)]
pub(crate) fn scan_line(rest: &[u8], cr_is_space: bool) -> Option<LineFields> {
    let seps = if cr_is_space { SPACE | CR } else { SPACE };
    // Offsets must fit a `Span`; a longer line is the state machine's.
    let rest = rest.get(..rest.len().min(u32::MAX as usize))?;
    let class = |i: usize| rest.get(i).map(|b| LINE_CLASSES[usize::from(*b)]);
    let mut f = LineFields { spans: [Span::default(); LINE_FIELDS], len: 0, nl: 0, end: 0 };
    let mut i = 0;
    loop {
        while class(i)? & seps != 0 {
            i += 1;
        }
        if class(i)? == LF {
            break;
        }
        let start = i;
        i += 1;
        while class(i).is_some_and(|c| c & (seps | LF) == 0) {
            i += 1;
        }
        *f.spans.get_mut(f.len)? = Span(start as u32, i as u32);
        f.len += 1;
    }
    f.nl = i;
    f.end = if i > 0 && rest.get(i - 1) == Some(&b'\r') { i - 1 } else { i };
    // A CR just before the LF ends the line; it is not part of the last field.
    if let Some(last) = f.len.checked_sub(1).and_then(|l| f.spans.get_mut(l))
        && last.end() > f.end
    {
        last.1 = f.end as u32;
        if last.0 == last.1 {
            f.len -= 1;
        }
    }
    Some(f)
}
