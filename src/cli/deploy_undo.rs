//! `arkc deploy undo`: the flashback of exactly a deploy's binlog range (its recorded start
//! and stop positions, and only the transactions its statements wrote, by GTID), through the same check
//! and execute code as `arkc flashback --url ... --check/--execute`. DDL is refused.

use std::path::Path;

use anyhow::bail;
use arkc_binlog::event::QueryEvent;
use arkc_binlog::plan::FlashbackOptions;
use arkc_binlog::rows::RowsEvent;
use arkc_binlog::txn::{Transaction, TxnSink};
use arkc_binlog::{BinlogError, Event};

use super::binlog::{FilterArgs, SourceArgs};
use crate::config::{resolve_password, InstanceConfig};
use crate::deploy::history::DeployRecord;

/// Collects the DDL statements of the kept range.
#[derive(Default)]
struct DdlFinder {
    ddl: Vec<String>,
}

impl TxnSink for DdlFinder {
    fn rows(
        &mut self,
        _: &Transaction,
        _: &Event<'_>,
        _: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        Ok(0)
    }
    fn statement(
        &mut self,
        _: &Transaction,
        _: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        self.ddl.push(q.query_text().trim().to_string());
        Ok(())
    }
    fn commit(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        Ok(())
    }
    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        Ok(())
    }
}

/// `mysql://` URL for the instance, the form `arkc flashback --url` takes. It stays in this
/// process (never on a command line or in a message).
fn instance_url(inst: &InstanceConfig) -> anyhow::Result<String> {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let password = resolve_password(inst)?.unwrap_or_default();
    let auth = format!("{}:{}", enc(inst.user()), enc(&password));
    let mut url = match &inst.socket {
        Some(sock) => format!(
            "mysql://{auth}@localhost/?socket={}",
            enc(&sock.display().to_string())
        ),
        None => format!(
            "mysql://{auth}@{}:{}/",
            inst.host.as_deref().unwrap_or("127.0.0.1"),
            inst.port.unwrap_or(3306)
        ),
    };
    if inst.tls != crate::config::TlsMode::Off {
        url.push_str(if url.contains('?') { "&" } else { "?" });
        url.push_str("require_ssl=true&verify_ca=false&verify_identity=false");
    }
    Ok(url)
}

pub(super) fn undo(
    d: &DeployRecord,
    inst: &InstanceConfig,
    config: Option<&Path>,
    yes: bool,
    force: bool,
) -> anyhow::Result<i32> {
    let (before, after) = super::deploy::undo_range(d)?;
    let gtids = crate::deploy::history::DeployHistory::gtids(d);
    if gtids.is_empty() {
        bail!(
            "deploy {} recorded no GTID: it wrote nothing to the binlog, or the server is not MariaDB (undo reads each transaction's GTID from @@last_gtid; MySQL is not supported yet); nothing to undo",
            d.id
        );
    }
    let url = instance_url(inst)?;
    let source_args = SourceArgs {
        files: Vec::new(),
        binlog_dir: None,
        from_server: Some(before.file.clone()),
        url: Some(url.clone()),
        instance: None,
        server_id: None,
    };
    let filter_args = FilterArgs {
        start_file: Some(before.file.clone()),
        start_position: Some(before.position),
        stop_file: Some(after.file.clone()),
        stop_position: Some(after.position),
        start_datetime: None,
        stop_datetime: None,
        // Exactly the deploy's own transactions: other sessions' writes in the range stay.
        // (MariaDB binlogs carry no thread id for row transactions, so GTIDs select them.)
        gtid: Some(gtids.join(",")),
        exclude_gtid: None,
        databases: Vec::new(),
        tables: Vec::new(),
        sql_type: Vec::new(),
        thread_ids: Vec::new(),
    };
    eprintln!(
        "deploy {} on {}: binlog {}:{} to {}:{} (GTID {} to {}), its transactions {}",
        d.id,
        inst.name,
        before.file,
        before.position,
        after.file,
        after.position,
        before.gtid,
        after.gtid,
        gtids.join(",")
    );
    let source = super::binlog_source::resolve(&source_args, Some(&before.file), config)?;
    let mut finder = DdlFinder::default();
    let mut builder = super::binlog::builder_for(&source_args, &filter_args, &source, config)?;
    super::binlog::scan(&source, &mut builder, &mut finder)?;
    if !finder.ddl.is_empty() {
        for q in &finder.ddl {
            eprintln!("  DDL: {q}");
        }
        bail!(
            "deploy {} cannot be undone: its range holds {} DDL statement(s) (listed above), which a flashback cannot reverse; nothing was sent",
            d.id,
            finder.ddl.len()
        );
    }
    let mut builder = super::binlog::builder_for(&source_args, &filter_args, &source, config)?;
    let target = super::flashback_server::Target {
        server: crate::backend::binlog::stream::StreamServer::from_instance(inst)?,
        audit_name: inst.name.clone(),
    };
    let check = super::flashback_server::run_check(&source, &mut builder, &target)?;
    if check != 0 && !force {
        bail!(
            "deploy {} not undone: rows it changed were changed again since (listed above); undo with --force to overwrite them; nothing was sent",
            d.id
        );
    }
    let builder = super::binlog::builder_for(&source_args, &filter_args, &source, config)?;
    super::flashback_server::run_execute(
        &source,
        &builder,
        &builder.filters,
        FlashbackOptions::default(),
        &target,
        (yes, 1),
    )
}
