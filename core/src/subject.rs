//! Subjects: validation and tokenisation (`shared/docs/client-protocol.md` §11).
