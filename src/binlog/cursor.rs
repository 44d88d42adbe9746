//! Bounds-checked little helpers to read binlog bodies without ever panicking.

use crate::error::{DResult, DecodeError};

/// A forward reader over a byte slice; every read checks bounds and names what it wanted.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn take(&mut self, n: usize, what: &str) -> DResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(DecodeError(format!(
                "{what}: needs {n} bytes at body offset {}, only {} left",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// `take` without the error text, for paths that only need to know it failed.
    #[inline]
    pub fn try_take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    pub fn skip(&mut self, n: usize, what: &str) -> DResult<()> {
        self.take(n, what).map(|_| ())
    }

    pub fn u8(&mut self, what: &str) -> DResult<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// Little-endian unsigned integer of `n` (1..=8) bytes.
    pub fn uint_le(&mut self, n: usize, what: &str) -> DResult<u64> {
        Ok(le_uint(self.take(n, what)?))
    }

    pub fn u16(&mut self, what: &str) -> DResult<u16> {
        Ok(self.uint_le(2, what)? as u16)
    }

    pub fn u32(&mut self, what: &str) -> DResult<u32> {
        Ok(self.uint_le(4, what)? as u32)
    }

    pub fn u64(&mut self, what: &str) -> DResult<u64> {
        self.uint_le(8, what)
    }

    /// MySQL length-encoded integer (packed integer).
    pub fn lenenc(&mut self, what: &str) -> DResult<u64> {
        match self.u8(what)? {
            n @ 0..=250 => Ok(n as u64),
            251 => Err(DecodeError(format!("{what}: NULL length-encoded integer"))),
            252 => self.uint_le(2, what),
            253 => self.uint_le(3, what),
            254 => self.uint_le(8, what),
            _ => Err(DecodeError(format!(
                "{what}: invalid length-encoded integer prefix 0xff"
            ))),
        }
    }

    pub fn lenenc_bytes(&mut self, what: &str) -> DResult<&'a [u8]> {
        let n = self.lenenc(what)?;
        let n =
            usize::try_from(n).map_err(|_| DecodeError(format!("{what}: length {n} too big")))?;
        self.take(n, what)
    }

    /// MySQL serialization-library variable-length unsigned integer (tagged GTID events).
    pub fn varlen_uint(&mut self, what: &str) -> DResult<u64> {
        let first = self.u8(what)?;
        let n = first.trailing_ones() as usize + 1;
        if n == 9 {
            return self.uint_le(8, what);
        }
        let mut buf = [0u8; 8];
        buf[0] = first;
        buf[1..n].copy_from_slice(self.take(n - 1, what)?);
        Ok(u64::from_le_bytes(buf) >> n)
    }
}

/// Little-endian unsigned integer from up to 8 bytes.
pub fn le_uint(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

/// Big-endian unsigned integer from up to 8 bytes.
pub fn be_uint(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

/// Bit `i` of a little-endian bitmap (bit 0 = lowest bit of byte 0).
pub fn bit(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varlen_uint_matches_serialization_library_examples() {
        // 0x25 has one trailing one bit: a two-byte value 0x0225 >> 2 = 0x89.
        let mut c = Cursor::new(&[0xaa, 0x25, 0x02, 0xff, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(c.varlen_uint("a").unwrap(), 0x55);
        assert_eq!(c.varlen_uint("b").unwrap(), 0x89);
        assert_eq!(c.varlen_uint("c").unwrap(), 1);
        assert!(c.varlen_uint("d").is_err());
    }

    #[test]
    fn lenenc_and_bounds() {
        let mut c = Cursor::new(&[0xfc, 0x34, 0x12, 0x03, b'a', b'b']);
        assert_eq!(c.lenenc("x").unwrap(), 0x1234);
        assert!(c.lenenc_bytes("y").is_err());
        assert_eq!(be_uint(&[1, 2]), 0x102);
        assert!(bit(&[0b10], 1) && !bit(&[0b10], 0) && !bit(&[], 5));
    }
}
