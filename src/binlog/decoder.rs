//! Turns framed raw events into typed events, keeping the state decoding needs: the
//! current FORMAT_DESCRIPTION_EVENT and the table maps by id.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cursor::Cursor;
use crate::error::{BinlogError, DResult, DecodeError};
use crate::event::*;
use crate::frame::{EventHeader, RawEvent, HEADER_LEN};
use crate::rows::{rows_table_id, RowsEvent, RowsKind};
use crate::tablemap::TableMap;

/// A decoded event with where it was found.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub header: EventHeader,
    /// Offset of the event in its file (for events inside a TRANSACTION_PAYLOAD, the
    /// payload event's offset).
    pub offset: u64,
    /// Offset just past the event in its file (for events inside a payload, past the payload).
    pub end: u64,
    pub body: EventBody<'a>,
}

#[derive(Debug, Clone)]
pub enum EventBody<'a> {
    FormatDescription(FormatDescription),
    Rotate {
        position: u64,
        next_file: String,
    },
    Query(QueryEvent<'a>),
    Xid(u64),
    TableMap(Arc<TableMap>),
    Rows(RowsEvent<'a>),
    Gtid(GtidEvent),
    PreviousGtids(String),
    GtidList(String),
    BinlogCheckpoint(String),
    /// MariaDB ANNOTATE_ROWS or MySQL ROWS_QUERY: the statement that produced the rows.
    Annotate(Cow<'a, str>),
    XaPrepare,
    Stop,
    /// An event arkc does not interpret (INTVAR, RAND, HEARTBEAT...): passed through.
    Other,
}

/// Decoding state across the events of one or more files.
#[derive(Default)]
pub struct Decoder {
    fde: FormatDescription,
    schema: Option<Arc<crate::schema::SchemaInfo>>,
    /// Asked for tables `schema` does not hold, once per table (see `ColumnSource`).
    columns: Option<Arc<dyn crate::schema::ColumnSource>>,
    looked_up: HashMap<(String, String), Option<Arc<Vec<crate::schema::ColumnInfo>>>>,
    tables: HashMap<u64, Arc<TableMap>>,
    path: PathBuf,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("fde", &self.fde)
            .field("tables", &self.tables.len())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Names the file the next events come from (for error messages).
    pub fn set_path(&mut self, path: &Path) {
        self.path = path.to_path_buf();
    }

    /// Column definitions from the server: names for table maps logged without them, and
    /// generated columns for all.
    pub fn set_schema_info(&mut self, info: Option<Arc<crate::schema::SchemaInfo>>) {
        self.schema = info;
    }

    /// Column definitions looked up as each table's first TABLE_MAP arrives.
    pub fn set_column_source(&mut self, source: Option<Arc<dyn crate::schema::ColumnSource>>) {
        self.columns = source;
        self.looked_up.clear();
    }

    /// The column source's definition of `key`, asked once per table.
    fn columns_of(
        &mut self,
        key: &(String, String),
    ) -> Option<Arc<Vec<crate::schema::ColumnInfo>>> {
        let source = self.columns.as_ref()?;
        if let Some(found) = self.looked_up.get(key) {
            return found.clone();
        }
        let found = source.columns(&key.0, &key.1);
        self.looked_up.insert(key.clone(), found.clone());
        found
    }

    pub fn format_description(&self) -> &FormatDescription {
        &self.fde
    }

    pub fn table(&self, id: u64) -> Option<&Arc<TableMap>> {
        self.tables.get(&id)
    }

    fn error(&self, raw: &RawEvent, e: DecodeError) -> BinlogError {
        BinlogError::Decode {
            path: self.path.clone(),
            offset: raw.offset,
            event: event_type_name(raw.header.type_code),
            reason: e.0,
        }
    }

    /// Decodes one event and hands it (or, for a TRANSACTION_PAYLOAD, each event inside
    /// it) to `sink`.
    pub fn decode_each<F>(&mut self, raw: RawEvent<'_>, sink: &mut F) -> Result<(), BinlogError>
    where
        F: FnMut(&Event<'_>) -> Result<(), BinlogError>,
    {
        if raw.header.type_code == code::TRANSACTION_PAYLOAD {
            let inner = parse_transaction_payload(raw.body()).map_err(|e| self.error(&raw, e))?;
            return self.decode_payload(&raw, &inner, sink);
        }
        let ev = self.decode(raw)?;
        sink(&ev)
    }

    fn decode_payload<F>(
        &mut self,
        outer: &RawEvent<'_>,
        inner: &[u8],
        sink: &mut F,
    ) -> Result<(), BinlogError>
    where
        F: FnMut(&Event<'_>) -> Result<(), BinlogError>,
    {
        let mut pos = 0;
        while pos < inner.len() {
            let Some(hb) = inner.get(pos..pos.saturating_add(HEADER_LEN)) else {
                let e = DecodeError::new("payload ends inside an event header");
                return Err(self.error(outer, e));
            };
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(hb);
            let header = EventHeader::parse(&h);
            let size = header.event_size as usize;
            let end = pos.saturating_add(size);
            let Some(data) = inner.get(pos..end).filter(|_| size >= HEADER_LEN) else {
                let e = DecodeError(format!("payload event at {pos} has bad size {size}"));
                return Err(self.error(outer, e));
            };
            if header.type_code == code::TRANSACTION_PAYLOAD {
                return Err(self.error(outer, DecodeError::new("nested transaction payload")));
            }
            let raw = RawEvent {
                header,
                offset: outer.offset,
                data,
            };
            let mut ev = self.decode(raw)?;
            ev.end = outer.end_offset();
            sink(&ev)?;
            pos += size;
        }
        Ok(())
    }

    /// Decodes one (non-payload) event.
    pub fn decode<'a>(&mut self, raw: RawEvent<'a>) -> Result<Event<'a>, BinlogError> {
        let body = self.decode_body(&raw).map_err(|e| self.error(&raw, e))?;
        Ok(Event {
            header: raw.header,
            offset: raw.offset,
            end: raw.end_offset(),
            body,
        })
    }

    fn decode_body<'a>(&mut self, raw: &RawEvent<'a>) -> DResult<EventBody<'a>> {
        let t = raw.header.type_code;
        let body = raw.body();
        let phl = self.fde.post_header_len(t).unwrap_or(0);
        Ok(match t {
            code::FORMAT_DESCRIPTION => {
                let fde = FormatDescription::parse(body)?;
                self.fde = fde.clone();
                EventBody::FormatDescription(fde)
            }
            code::ROTATE => {
                let (position, next_file) = parse_rotate(body, phl.max(8))?;
                EventBody::Rotate {
                    position,
                    next_file,
                }
            }
            code::QUERY => EventBody::Query(QueryEvent::parse(body, phl.max(11), false)?),
            code::MARIA_QUERY_COMPRESSED => {
                let phl = self.fde.post_header_len(code::QUERY).unwrap_or(13);
                EventBody::Query(QueryEvent::parse(body, phl, true)?)
            }
            code::XID => EventBody::Xid(Cursor::new(body).u64("xid")?),
            code::TABLE_MAP => {
                let mut tm = TableMap::parse(body, phl.max(6))?;
                // Also for named table maps: only the server knows which columns are generated.
                let key = (tm.schema.clone(), tm.table.clone());
                if let Some(cols) = self.schema.as_ref().and_then(|s| s.tables.get(&key)) {
                    tm.apply_schema(cols);
                } else if self.columns.is_some() {
                    if let Some(cols) = self.columns_of(&key) {
                        tm.apply_schema(&cols);
                    }
                }
                let tm = Arc::new(tm);
                self.tables.insert(tm.table_id, tm.clone());
                EventBody::TableMap(tm)
            }
            code::GTID => EventBody::Gtid(parse_mysql_gtid(body, false)?),
            code::ANONYMOUS_GTID => EventBody::Gtid(parse_mysql_gtid(body, true)?),
            code::GTID_TAGGED => EventBody::Gtid(parse_tagged_gtid(body)?),
            code::PREVIOUS_GTIDS => EventBody::PreviousGtids(parse_previous_gtids(body)?),
            code::MARIA_GTID => EventBody::Gtid(parse_mariadb_gtid(body, raw.header.server_id)?),
            code::MARIA_GTID_LIST => EventBody::GtidList(parse_mariadb_gtid_list(body)?),
            code::MARIA_BINLOG_CHECKPOINT => {
                let mut c = Cursor::new(body);
                let n = c.u32("checkpoint name length")? as usize;
                EventBody::BinlogCheckpoint(
                    String::from_utf8_lossy(c.take(n, "checkpoint name")?).into_owned(),
                )
            }
            code::MARIA_ANNOTATE_ROWS => EventBody::Annotate(String::from_utf8_lossy(body)),
            code::ROWS_QUERY => {
                EventBody::Annotate(String::from_utf8_lossy(body.get(1..).unwrap_or(&[])))
            }
            code::XA_PREPARE => EventBody::XaPrepare,
            code::STOP => EventBody::Stop,
            code::MARIA_START_ENCRYPTION => return Err(DecodeError::new(
                "the binlog is encrypted (encrypt_binlog=ON); read it through the server instead",
            )),
            _ if RowsKind::from_type_code(t).is_some() => {
                let row_phl = match t {
                    166..=168 => self.fde.post_header_len(code::WRITE_ROWS_V1).unwrap_or(8),
                    169..=171 => self.fde.post_header_len(code::WRITE_ROWS_V2).unwrap_or(10),
                    _ => phl,
                };
                let id = rows_table_id(body, row_phl)?;
                let table = self.tables.get(&id).cloned().ok_or_else(|| {
                    DecodeError(format!(
                        "rows event for table id {id} whose TABLE_MAP was not seen \
                         (start reading at or before the transaction's first event)"
                    ))
                })?;
                EventBody::Rows(RowsEvent::parse(t, body, row_phl, table)?)
            }
            _ => EventBody::Other,
        })
    }
}
