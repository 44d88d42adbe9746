//! Binlog core (see lib docs).
