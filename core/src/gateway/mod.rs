//! Gateways (links between clusters of a supercluster): the pieces that are not wire codecs.

pub mod reply;
