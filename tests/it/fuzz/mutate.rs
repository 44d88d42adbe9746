//! Structure-aware mutation for the fuzz targets: byte edits, splices, dictionary tokens, and
//! for binlogs edits inside one event whose size field and CRC32 are then made right again, so
//! the decoders (not only the frame checks) see the damage. Deterministic per seed number.

/// xorshift64*: small, fast, and enough to spread mutations; no crate needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xfe, 0xff, b'\n', b'\'', b'"', b'`', b'\\',
];

/// Boundary values for length, count, offset and interval fields: where `+ 1`, `* n` and
/// `- 1` overflow. A single byte edit rarely builds one (u64::MAX needs eight 0xff in a row).
const INTERESTING_INTS: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX - 1,
    u64::MAX,
];

/// One to four random edits of `data`, with `tokens` as a dictionary and `others` to splice from;
/// the result stays under `max` bytes.
pub fn mutate_bytes(
    rng: &mut Rng,
    data: &mut Vec<u8>,
    tokens: &[&str],
    others: &[Vec<u8>],
    max: usize,
) {
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                data.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let copy = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            4 if !tokens.is_empty() => {
                let t = tokens[rng.below(tokens.len())].as_bytes();
                let at = rng.below(len + 1);
                data.splice(at..at, t.iter().copied());
            }
            5 if !others.is_empty() => {
                let other = &others[rng.below(others.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(1024));
                    let at = rng.below(len + 1);
                    data.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => data.truncate(rng.below(len)),
            7 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let noise: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, noise);
            }
            8 if len > 0 => {
                // Overwrite an integer field, little- or big-endian, 1 to 8 bytes wide.
                let width = [1, 2, 3, 4, 6, 8][rng.below(6)];
                let v = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    (v << (64 - 8 * width)).to_be_bytes()
                };
                let i = rng.below(len);
                let n = width.min(len - i);
                data[i..i + n].copy_from_slice(&bytes[..n]);
            }
            _ if len > 1 => {
                // Repeat a short piece many times: deep nesting, long runs.
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(8));
                let piece = data[i..i + n].to_vec();
                let times = 1 + rng.below(200);
                let at = rng.below(len + 1);
                data.splice(at..at, piece.repeat(times));
            }
            _ => {}
        }
    }
    data.truncate(max);
}

/// A CRC32 (IEEE), as binlog event checksums use.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

const HEADER: usize = 19;

/// The events of a binlog file (after its 4-byte magic) as (start, end) byte ranges.
fn events(file: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 4;
    while at + HEADER <= file.len() {
        let size = u32::from_le_bytes(file[at + 9..at + 13].try_into().unwrap()) as usize;
        if size < HEADER || at + size > file.len() {
            break;
        }
        out.push((at, at + size));
        at += size;
    }
    out
}

/// Edit the body of one event of `file`, then fix its size field, its next-position field and,
/// when it carried a valid CRC32, the CRC; sometimes drop or duplicate a whole event instead.
pub fn mutate_binlog(rng: &mut Rng, file: &mut Vec<u8>, others: &[Vec<u8>]) {
    let evs = events(file);
    if evs.is_empty() || rng.below(10) == 0 {
        mutate_bytes(rng, file, &[], others, 1 << 20);
        return;
    }
    let (start, end) = evs[rng.below(evs.len())];
    match rng.below(6) {
        0 => {
            file.drain(start..end);
            return;
        }
        1 => {
            let copy = file[start..end].to_vec();
            file.splice(end..end, copy);
            return;
        }
        _ => {}
    }
    let event = &file[start..end];
    let had_crc = event.len() >= HEADER + 4 && {
        let (body, sum) = event.split_at(event.len() - 4);
        crc32(body) == u32::from_le_bytes(sum.try_into().unwrap())
    };
    let tail = if had_crc { 4 } else { 0 };
    let mut body = event[HEADER..event.len() - tail].to_vec();
    mutate_bytes(rng, &mut body, &[], &[], 1 << 16);
    let mut new = event[..HEADER].to_vec();
    new.extend_from_slice(&body);
    let size = (new.len() + tail) as u32;
    new[9..13].copy_from_slice(&size.to_le_bytes());
    let next = (start as u32).wrapping_add(size);
    new[13..17].copy_from_slice(&next.to_le_bytes());
    if had_crc {
        let sum = crc32(&new);
        new.extend_from_slice(&sum.to_le_bytes());
    }
    file.splice(start..end, new);
}

#[test]
fn crc32_matches_the_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn binlog_mutants_keep_valid_frames_so_the_decoders_see_them() {
    use arkc_binlog::BinlogReader;
    let path = std::path::Path::new(super::CORPORA).join("binlogs/mariadb-bin.000001");
    let seed = std::fs::read(path).unwrap();
    let mut rng = Rng::new(7);
    let mut framed = 0;
    for _ in 0..200 {
        let mut m = seed.clone();
        mutate_binlog(&mut rng, &mut m, &[]);
        let mut r = BinlogReader::new("m", std::io::Cursor::new(&m)).unwrap();
        let mut ok = true;
        loop {
            match r.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        framed += usize::from(ok);
    }
    // Most mutants frame cleanly: the damage is inside events, where the decoders look.
    assert!(framed > 100, "only {framed} of 200 mutants framed");
}
