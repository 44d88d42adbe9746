//! The needs file of a spilled check (`check_spill`): per row and pass, what its verdict
//! needs (decided by the walk, or a count of rows a lookup must or must not match), written
//! as the walk goes and read back in rollback order for the verdicts.

use std::io::Read;

use crate::check::{Need, RowState};

/// A row's needs in one pass, as the needs file holds them (`read_needs` reads them back).
pub(crate) fn encode_needs(ordinal: u64, at: u64, needs: &[(u8, Need)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(24 + needs.len() * 11);
    buf.extend_from_slice(&ordinal.to_le_bytes());
    buf.extend_from_slice(&at.to_le_bytes());
    buf.push(needs.len() as u8);
    for (slot, need) in needs {
        buf.push(*slot);
        match need {
            Need::Decided(s) => buf.extend_from_slice(&[0, state_code(s)]),
            Need::AtLeast { l, n, fail } => {
                buf.push(1);
                put_u32(&mut buf, *l as u32);
                put_u32(&mut buf, *n);
                buf.push(state_code(fail));
            }
            Need::None { l, fail } => {
                buf.push(2);
                put_u32(&mut buf, *l as u32);
                buf.push(state_code(fail));
            }
        }
    }
    buf
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn state_code(s: &RowState) -> u8 {
    match s {
        RowState::AsLeft => 0,
        RowState::ChangedSince => 1,
        RowState::KeyTaken => 2,
        RowState::Restored => 3,
        RowState::NotRestored => 4,
        RowState::Unknown(_) => 5,
    }
}

fn state_of(code: u8) -> RowState {
    match code {
        0 => RowState::AsLeft,
        1 => RowState::ChangedSince,
        2 => RowState::KeyTaken,
        3 => RowState::Restored,
        4 => RowState::NotRestored,
        _ => RowState::Unknown("not known".into()),
    }
}

/// A row's needs in one pass: (row ordinal, its place, (place in its list, need)...); None
/// at the end of the file.
pub(crate) type NeedsRecord = (u64, u64, Vec<(u8, Need)>);

pub(crate) fn read_needs(input: &mut impl Read) -> std::io::Result<Option<NeedsRecord>> {
    let mut head = [0u8; 17];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    let (ordinal, at) = (word(&head[..8]), word(&head[8..16]));
    let mut needs = Vec::with_capacity(head[16] as usize);
    for _ in 0..head[16] {
        let mut tag = [0u8; 2];
        input.read_exact(&mut tag)?;
        let word = |input: &mut dyn Read| -> std::io::Result<u32> {
            let mut b = [0u8; 4];
            input.read_exact(&mut b)?;
            Ok(u32::from_le_bytes(b))
        };
        let code = |input: &mut dyn Read| -> std::io::Result<RowState> {
            let mut b = [0u8; 1];
            input.read_exact(&mut b)?;
            Ok(state_of(b[0]))
        };
        needs.push((
            tag[0],
            match tag[1] {
                0 => Need::Decided(code(input)?),
                1 => Need::AtLeast {
                    l: word(input)? as usize,
                    n: word(input)?,
                    fail: code(input)?,
                },
                _ => Need::None {
                    l: word(input)? as usize,
                    fail: code(input)?,
                },
            },
        ));
    }
    Ok(Some((ordinal, at, needs)))
}
