//! The node's message: what a client published, or what a route or gateway forwarded, in one
//! shape that belongs to no codec. Every fan-out works on it; it borrows the frame it arrived
//! in, so handing a message on costs no reference count and no copy.

/// One message on its way through the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Subject (the client parser does not validate it).
    pub subject: &'a [u8],
    /// Reply subject, if any.
    pub reply: Option<&'a [u8]>,
    /// Length of the header block at the start of `payload`; 0 without headers (nats-server
    /// treats `HPUB` with a header size of 0 as header-less).
    pub header_len: usize,
    /// Headers followed by the body, exactly the announced total size (trailing CRLF removed).
    pub payload: &'a [u8],
}

impl Message<'_> {
    /// The body without the header block.
    pub fn body(&self) -> &[u8] {
        self.payload.get(self.header_len..).unwrap_or_default()
    }
}

/// The names in a routed message's queue list (`RMSG … | q1 q2 size`), in wire order. Names are
/// separated by spaces, tabs or CRs, as the server-to-server parser splits arguments.
pub fn queue_names(list: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    list.split(|b| crate::proto::frames::is_space(*b) || *b == b'\r').filter(|n| !n.is_empty())
}
