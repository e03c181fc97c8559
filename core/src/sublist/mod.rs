//! The interest index: literal, `*` and `>` matching, queue groups and a match cache.
