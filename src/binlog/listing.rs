//! `arkc binlog events`: one record per transaction with its row changes, as text or
//! as one JSON object per line.

use std::fmt::Write as _;
use std::io::Write;

use crate::decoder::Event;
use crate::error::BinlogError;
use crate::event::redact_statement;
use crate::jsonb::write_json_string;
use crate::render::{push_ident, push_json_diff, push_json_value, push_sql_value};
use crate::rows::{Image, RowsEvent};
use crate::tablemap::TableMap;
use crate::txn::{Transaction, TxnSink};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Json,
}

/// A `TxnSink` writing each committed transaction as it completes.
pub struct EventLister<W: Write> {
    out: W,
    format: ListFormat,
    /// Row records of the current transaction, rendered.
    rows: String,
    first_row: bool,
    pub transactions: u64,
}

impl<W: Write> EventLister<W> {
    pub fn new(out: W, format: ListFormat) -> Self {
        EventLister {
            out,
            format,
            rows: String::new(),
            first_row: true,
            transactions: 0,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn row_text(&mut self, t: &TableMap, kind: &str, before: &Image, after: &Image) {
        let s = &mut self.rows;
        let _ = write!(s, "  {kind} ");
        push_ident(&t.schema, s);
        s.push('.');
        push_ident(&t.table, s);
        for (label, img) in [("before", before), ("after", after)] {
            if img.is_empty() {
                continue;
            }
            let _ = write!(s, "\n    {label}: ");
            let mut first = true;
            for (i, v) in img.iter().enumerate() {
                let Some(v) = v else { continue };
                if !first {
                    s.push_str(", ");
                }
                first = false;
                let name = t.column_name(i);
                s.push_str(&name);
                s.push('=');
                match v {
                    Value::JsonDiff(d) => push_json_diff(&name, d, s),
                    _ => push_sql_value(v, &t.columns[i], s),
                }
            }
        }
        s.push('\n');
    }

    fn row_json(&mut self, t: &TableMap, kind: &str, before: &Image, after: &Image) {
        let s = &mut self.rows;
        if !self.first_row {
            s.push(',');
        }
        self.first_row = false;
        let _ = write!(s, "{{\"type\":\"{kind}\",\"schema\":");
        write_json_string(&t.schema, s);
        s.push_str(",\"table\":");
        write_json_string(&t.table, s);
        for (label, img) in [("before", before), ("after", after)] {
            if img.is_empty() {
                continue;
            }
            let _ = write!(s, ",\"{label}\":{{");
            let mut first = true;
            for (i, v) in img.iter().enumerate() {
                let Some(v) = v else { continue };
                if !first {
                    s.push(',');
                }
                first = false;
                write_json_string(&t.column_name(i), s);
                s.push(':');
                push_json_value(v, &t.columns[i], s);
            }
            s.push('}');
        }
        s.push('}');
    }

    fn write_txn(&mut self, txn: &Transaction) -> std::io::Result<()> {
        match self.format {
            ListFormat::Json => {
                let mut head = serde_json::to_string(txn).map_err(std::io::Error::other)?;
                head.pop();
                writeln!(
                    self.out,
                    "{head},\"time\":\"{}\",\"rows\":[{}]}}",
                    txn.time_utc(),
                    self.rows
                )
            }
            ListFormat::Text => {
                let gtid = txn.gtid.as_deref().unwrap_or("-");
                write!(
                    self.out,
                    "# {} GTID {gtid} at {} UTC",
                    txn.position(),
                    txn.time_utc()
                )?;
                if let Some(t) = txn.thread_id {
                    write!(self.out, " thread {t}")?;
                }
                writeln!(
                    self.out,
                    "\n#   tables: {}  insert={} update={} delete={}",
                    txn.tables.join(", "),
                    txn.inserts,
                    txn.updates,
                    txn.deletes
                )?;
                for a in &txn.annotate {
                    writeln!(self.out, "#   statement: {}", a.replace('\n', " "))?;
                }
                for d in &txn.ddl {
                    writeln!(
                        self.out,
                        "#   ddl: {}",
                        redact_statement(d).replace('\n', " ")
                    )?;
                }
                self.out.write_all(self.rows.as_bytes())
            }
        }
    }
}

impl<W: Write> TxnSink for EventLister<W> {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let mut reader = r.row_reader();
        let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
        let mut n = 0;
        let kind = r.kind.as_str();
        while reader
            .next_row(&mut b, &mut a)
            .map_err(|e| BinlogError::Decode {
                path: txn.file.clone().into(),
                offset: ev.offset,
                event: "ROWS",
                reason: e.0,
            })?
        {
            match self.format {
                ListFormat::Text => self.row_text(&r.table, kind, &b, &a),
                ListFormat::Json => self.row_json(&r.table, kind, &b, &a),
            }
            n += 1;
        }
        Ok(n)
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if !txn.is_empty() {
            self.transactions += 1;
            self.write_txn(txn).map_err(BinlogError::Output)?;
        }
        self.rows.clear();
        self.first_row = true;
        Ok(())
    }

    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        self.rows.clear();
        self.first_row = true;
        Ok(())
    }
}
