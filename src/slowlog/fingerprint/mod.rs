//! Query fingerprints and class IDs, byte-for-byte compatible with pt-query-digest 3.2.1
//! (`QueryRewriter::fingerprint` and `make_checksum`).
//!
//! The Perl original is a chain of regex substitutions; each step here is a hand-written
//! linear scan that reproduces the same regex semantics (including its quirks, such as
//! `db2.tbl` becoming `d?tbl`), run only when a cheap pre-check says it can apply.

mod collapse;
mod passes;
pub(crate) use passes::{is_space, is_word};
#[cfg(test)]
mod tests;

use md5::{Digest, Md5};

/// Reusable fingerprinting state: two scratch buffers, so the hot path does not allocate.
#[derive(Default)]
pub struct Fingerprinter {
    a: Vec<u8>,
    b: Vec<u8>,
}

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fingerprints `query` into `out` (cleared first).
    pub fn fingerprint_into(&mut self, query: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if let Some(special) = passes::special_case(query) {
            out.extend_from_slice(special);
            return;
        }
        if let Some(call) = passes::call_prefix(query) {
            out.extend(call.iter().map(u8::to_ascii_lowercase));
            return;
        }
        let query = passes::shorten_multi_insert(query);
        let (a, b) = (&mut self.a, &mut self.b);
        a.clear();
        a.extend_from_slice(query);
        if passes::strip_block_comments(a, b) {
            std::mem::swap(a, b);
        }
        if passes::strip_line_comments(a, b) {
            std::mem::swap(a, b);
        }
        if let Some(keep_newline) = passes::is_use_statement(a) {
            out.extend_from_slice(b"use ?");
            if keep_newline {
                out.push(b'\n');
            }
            return;
        }
        if passes::strip_escaped_quotes(a, b) {
            std::mem::swap(a, b);
        }
        if passes::replace_quoted(a, b, b'"') {
            std::mem::swap(a, b);
        }
        if passes::replace_quoted(a, b, b'\'') {
            std::mem::swap(a, b);
        }
        passes::abstract_literals(a, b);
        std::mem::swap(a, b);
        if collapse::replace_null(a, b) {
            std::mem::swap(a, b);
        }
        if collapse::collapse_lists(a, b) {
            std::mem::swap(a, b);
        }
        if collapse::collapse_union(a, b) {
            std::mem::swap(a, b);
        }
        if collapse::collapse_limit(a, b) {
            std::mem::swap(a, b);
        }
        if collapse::drop_order_by_asc(a, b) {
            std::mem::swap(a, b);
        }
        out.extend_from_slice(a);
    }
}

/// The fingerprint of one query, as pt-query-digest computes it (bytes, since logs need
/// not be UTF-8).
pub fn fingerprint(query: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Fingerprinter::new().fingerprint_into(query, &mut out);
    out
}

/// pt-query-digest's class ID: the upper-case hex MD5 of the fingerprint (32 characters
/// since 3.0.11; reports print it with a `0x` prefix).
pub fn query_id(fingerprint: &[u8]) -> String {
    let digest = Md5::digest(fingerprint);
    let mut id = String::with_capacity(32);
    for byte in digest {
        id.push(HEX[(byte >> 4) as usize] as char);
        id.push(HEX[(byte & 15) as usize] as char);
    }
    id
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";
