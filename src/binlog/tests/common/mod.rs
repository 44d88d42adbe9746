//! Cross-check helper: decode a binlog with arkc and with `mariadb-binlog
//! --base64-output=decode-rows -vv`, and compare every row value both can show.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use arkc_binlog::pipeline::scan_files;
use arkc_binlog::render::push_sql_value;
use arkc_binlog::rows::{Image, RowsEvent};
use arkc_binlog::txn::{Filters, Transaction, TxnBuilder, TxnSink};
use arkc_binlog::value::{decimal_to_string, Value};
use arkc_binlog::{BinlogError, Column, Event};

/// One image column value: (1-based column number, canonical text or None if not comparable).
pub type Cell = (usize, Option<String>);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
}

fn canonical(v: &Value, col: &Column) -> Option<String> {
    Some(match *v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) | Value::Bit(u) | Value::Set(u) => u.to_string(),
        Value::Enum(e) => e.to_string(),
        Value::Year(y) => y.to_string(),
        Value::Float(f) => format!("{f:e}"),
        Value::Double(d) => format!("{d:e}"),
        Value::Decimal(b, p, s) => {
            let mut out = String::new();
            decimal_to_string(b, p, s, &mut out);
            out
        }
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => {
            if fsp == 0 {
                seconds.to_string()
            } else {
                let frac = micros / 10u32.pow(6 - fsp as u32);
                format!("{seconds}.{frac:0w$}", w = fsp as usize)
            }
        }
        Value::Date(_) | Value::Time(_) | Value::DateTime(..) => {
            let mut out = String::new();
            push_sql_value(v, col, &mut out);
            out.trim_matches('\'').to_string()
        }
        Value::Bytes(b) | Value::Geometry(b) | Value::Vector(b) => format!("x:{}", hex(b)),
        Value::Json(_) | Value::JsonDiff(_) => return None,
    })
}

struct Collect(Vec<Cell>);

impl TxnSink for Collect {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let mut rd = r.row_reader();
        let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        let err = |e: arkc_binlog::error::DecodeError| BinlogError::Decode {
            path: txn.file.clone().into(),
            offset: ev.offset,
            event: "ROWS",
            reason: e.0,
        };
        while rd.next_row(&mut b, &mut a).map_err(err)? {
            for img in [&b, &a] {
                for (i, v) in img.iter().enumerate() {
                    if let Some(v) = v {
                        self.0.push((i + 1, canonical(v, &r.table.columns[i])));
                    }
                }
            }
            n += 1;
        }
        Ok(n)
    }
    fn commit(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        Ok(())
    }
    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        Ok(())
    }
}

/// Our values, in binlog order (rolled-back transactions are still in the binlog, and
/// mariadb-binlog shows them, so they are kept here too).
pub fn our_cells(path: &Path) -> Result<Vec<Cell>, BinlogError> {
    let mut sink = Collect(Vec::new());
    let mut builder = TxnBuilder::new(Filters::default());
    scan_files(&[path.to_path_buf()], &mut builder, &mut sink)?;
    Ok(sink.0)
}

fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && s.get(i + 1) == Some(&b'x') && i + 3 < s.len() {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&s[i + 2..i + 4]), 16) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Acceptable canonical texts for one `###   @N=value /* TYPE ... */` line.
fn their_canonical(value: &[u8], ty: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(value).trim().to_string();
    if text == "NULL" {
        return vec!["NULL".into()];
    }
    let quoted = value.first() == Some(&b'\'') && value.last() == Some(&b'\'') && value.len() >= 2;
    if ty.starts_with("FLOAT") {
        return vec![text
            .parse::<f32>()
            .map(|f| format!("{f:e}"))
            .unwrap_or(text)];
    }
    if ty.starts_with("DOUBLE") {
        return vec![text
            .parse::<f64>()
            .map(|f| format!("{f:e}"))
            .unwrap_or(text)];
    }
    if ty.starts_with("BIT") || ty.starts_with("SET") {
        let bits = text.trim_start_matches("b'").trim_end_matches('\'');
        return vec![u64::from_str_radix(bits, 2)
            .map(|v| v.to_string())
            .unwrap_or(text)];
    }
    if ty.starts_with("DATE") && !ty.starts_with("DATETIME") {
        return vec![text.trim_matches('\'').replace(':', "-")];
    }
    if ty.starts_with("TIME") && !ty.starts_with("TIMESTAMP") || ty.starts_with("DATETIME") {
        return vec![text.trim_matches('\'').to_string()];
    }
    if quoted {
        return vec![format!("x:{}", hex(&unescape(&value[1..value.len() - 1])))];
    }
    // Integers: "-1 (255)" lists the signed and the unsigned reading.
    text.split(['(', ')', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// mariadb-binlog's values, or None when it cannot read the file.
pub fn reference_cells(path: &Path) -> Option<Vec<(usize, Vec<String>)>> {
    let out = Command::new("mariadb-binlog")
        .args(["--base64-output=decode-rows", "-vv"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut cells = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n') {
        let Some(rest) = line.strip_prefix(b"###   @") else {
            continue;
        };
        let Some(eq) = rest.iter().position(|&b| b == b'=') else {
            continue;
        };
        let col: usize = String::from_utf8_lossy(&rest[..eq]).parse().unwrap_or(0);
        let body = &rest[eq + 1..];
        let cpos = body
            .windows(3)
            .rposition(|w| w == b"/* ")
            .unwrap_or(body.len());
        let value = body[..cpos].trim_ascii_end();
        let ty = String::from_utf8_lossy(&body[(cpos + 3).min(body.len())..]).to_string();
        cells.push((col, their_canonical(value, &ty)));
    }
    Some(cells)
}

/// Compares both decodings; returns the number of values compared, or the differences.
pub fn crosscheck(path: &Path) -> Result<Option<usize>, String> {
    let Some(theirs) = reference_cells(path) else {
        return Ok(None);
    };
    let ours = match our_cells(path) {
        Ok(v) => v,
        // mariadb-binlog silently stops at a truncated tail; nothing to compare then.
        Err(_) if theirs.is_empty() => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if ours.len() != theirs.len() {
        return Err(format!(
            "{}: arkc decoded {} values, mariadb-binlog {}",
            path.display(),
            ours.len(),
            theirs.len()
        ));
    }
    let mut compared = 0;
    let mut diffs = Vec::new();
    for (k, ((oc, ov), (tc, tv))) in ours.iter().zip(theirs.iter()).enumerate() {
        if oc != tc {
            diffs.push(format!("value #{k}: column @{oc} vs @{tc}"));
            continue;
        }
        let Some(ov) = ov else { continue };
        compared += 1;
        if !tv.iter().any(|t| t == ov) {
            diffs.push(format!(
                "value #{k} @{oc}: arkc {ov} vs mariadb-binlog {tv:?}"
            ));
        }
    }
    if diffs.is_empty() {
        Ok(Some(compared))
    } else {
        Err(format!("{}:\n  {}", path.display(), diffs.join("\n  ")))
    }
}
