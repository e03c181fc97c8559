//! Entry points for the cargo-fuzz targets in `fuzz/`; their corpora are replayed by tests.

use bytes::BytesMut;

use crate::proto::client::{Limits, Parser};

/// Parse `data` as a client byte stream, whole and split at a point derived from the data, and
/// check both parses agree.
pub fn client_parser(data: &[u8]) {
    let whole = crate::proto::client::parse_all(data, Limits::default());
    let split_at = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut parser = Parser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut split = Vec::new();
    for chunk in [&data[..split_at], &data[split_at..]] {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => split.push(Ok(op)),
                Ok(None) => break,
                Err(e) => {
                    split.push(Err(e));
                    break;
                }
            }
        }
        if matches!(split.last(), Some(Err(_))) {
            break;
        }
    }
    assert_eq!(whole, split, "split parse differs from whole parse");
}
