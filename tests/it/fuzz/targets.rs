//! The fuzz targets: what each one feeds and which code it drives. Each `exec_*` is also what
//! `fuzz_regressions.rs` replays saved inputs through.

use std::io::Cursor;
use std::path::Path;

use arkc_binlog::frame::EventFramer;
use arkc_binlog::listing::{EventLister, ListFormat};
use arkc_binlog::{BinlogReader, Decoder};

use super::mutate::mutate_binlog;
use super::{fuzz, seeds_in, text_mutator, tree, CORPORA};

const SQL_TOKENS: &[&str] = &[
    "'",
    "\"",
    "`",
    "\\",
    ";",
    ";\n",
    "/*",
    "*/",
    "/*!50001 ",
    "-- ",
    "#",
    "\n",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "START TRANSACTION",
    "DELIMITER //\n",
    "DELIMITER ;\n",
    "SET ",
    "(",
    ")",
    "SELECT ",
    "INSERT INTO t VALUES ",
    "DELETE FROM t WHERE ",
    "UPDATE t SET a=1 WHERE ",
    "ALTER TABLE t ADD COLUMN c INT",
    "CREATE PROCEDURE p() BEGIN SELECT 1; END",
    "x'",
    "0x",
    "_utf8mb4'",
    "N'",
    "\u{00e9}",
    "\u{8868}",
    "\0",
    "$$",
];

const TOML_TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "\n",
    "#",
    ",",
    "{",
    "}",
    ".",
    "true",
    "false",
    "-1",
    "1e400",
    "9999999999999999999",
    "nan",
    "inf",
    "\\u0000",
    "\\",
    "[instance]\n",
    "[[instance]]\nname = \"x\"\n",
    "[ui]\n",
    "[keys]\n",
    "[colors]\n",
    "ctrl-",
    "alt-",
    "shift-",
    "F13",
    "\u{1F600}",
];

const SLOW_TOKENS: &[&str] = &[
    "# Time: ",
    "# User@Host: ",
    "# Query_time: ",
    " Lock_time: ",
    " Rows_sent: ",
    "\n",
    "SET timestamp=",
    ";\n",
    "use ",
    "# administrator command: ",
    "/*",
    "*/",
    "'",
    "\"",
    "\\",
    "IN (1, 2, 3)",
    "VALUES (1),(2)",
    "-- ",
    "#",
    "`",
    "0x",
    "# Thread_id: ",
    " Schema: ",
    "/usr/sbin/mariadbd, Version: ",
    "Tcp port: ",
    "Time                 Id Command    Argument\n",
    "NULL",
    "-1e-5",
];

/// Frame and decode every event (rows included, through transactions and the listing) of a
/// binlog held in memory; errors are fine, panics are not.
pub fn exec_binlog_file(data: &[u8]) {
    let Ok(mut reader) = BinlogReader::new("fuzz.bin", Cursor::new(data)) else {
        return;
    };
    let mut dec = Decoder::new();
    dec.set_path(Path::new("fuzz.bin"));
    let mut builder = arkc_binlog::txn::TxnBuilder::new(Default::default());
    let mut sink = EventLister::new(std::io::sink(), ListFormat::Json);
    while let Ok(Some(raw)) = reader.next_event() {
        if dec
            .decode_each(raw, &mut |ev| builder.push(ev, &mut sink))
            .is_err()
        {
            break;
        }
    }
}

/// The same bytes as stream arrivals: each event handed to the stream framer by its own size
/// field (whatever it says), then decoded.
pub fn exec_binlog_stream(data: &[u8]) {
    let mut framer = EventFramer::new("fuzz:3306/stream");
    let mut dec = Decoder::new();
    let mut at = data.len().min(4);
    while at < data.len() {
        let rest = &data[at..];
        let size = rest
            .get(9..13)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        if let Ok(raw) = framer.frame(at as u64, &rest[..size]) {
            let _ = dec.decode(raw);
        }
        at += size;
    }
}

/// Parse a slow log into query classes, then fingerprint the input as one statement too.
pub fn exec_slowlog(data: &[u8]) {
    let mut digest = arkc_slowlog::Digest::new(Default::default());
    let _ = digest.add_reader(Cursor::new(data), Path::new("fuzz-slow.log"));
    for class in digest.classes() {
        let _ = arkc_slowlog::query_id(class.fingerprint.as_bytes());
    }
    let fp = arkc_slowlog::fingerprint(data);
    let _ = arkc_slowlog::query_id(&fp);
}

pub fn exec_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = arkc::config::Config::parse(&text, Path::new("fuzz-config.toml"));
}

pub fn exec_keymap(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let base = arkc::app::keymap::Keymap::builtin("default")
        .expect("the default keymap exists")
        .expect("the default keymap parses");
    let _ = base.overlay(&text, "fuzz-keymap.toml");
}

pub fn exec_theme(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = arkc::ui::theme::Theme::fallback().overlay(&text, "fuzz-theme.toml");
}

pub fn exec_review(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = arkc::deploy::review::review(&text, &arkc::config::review::ReviewConfig::default());
}

pub fn exec_sql_split(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = arkc::backend::binlog::flashback::split_units(&text);
}

fn binlog_seeds() -> Vec<Vec<u8>> {
    seeds_in(&Path::new(CORPORA).join("binlogs"), 256 << 10)
}

fn sql_seeds() -> Vec<Vec<u8>> {
    let mut seeds = seeds_in(&tree("src/binlog/tests/sql"), 64 << 10);
    seeds.push(
        b"SET NAMES utf8mb4;\nBEGIN;\nDELETE FROM `d`.`t` WHERE `id`=1 LIMIT 1;\n\
          INSERT INTO `d`.`t` (`id`,`v`) VALUES (2,'a;b''c');\nCOMMIT;\n"
            .to_vec(),
    );
    seeds.push(
        b"ALTER TABLE t ADD COLUMN c INT;\nUPDATE t SET c = 1 WHERE id < 10;\n\
          DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\n"
            .to_vec(),
    );
    seeds
}

fn toml_seeds(dir: &str) -> Vec<Vec<u8>> {
    seeds_in(&tree(dir), 256 << 10)
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_binlog_file() {
    fuzz(
        "binlog_file",
        binlog_seeds(),
        mutate_binlog,
        exec_binlog_file,
    );
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_binlog_stream() {
    fuzz(
        "binlog_stream",
        binlog_seeds(),
        mutate_binlog,
        exec_binlog_stream,
    );
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_slowlog() {
    let mut seeds = seeds_in(&Path::new(CORPORA).join("slowlogs"), 256 << 10);
    seeds.retain(|s| !s.is_empty());
    fuzz("slowlog", seeds, text_mutator(SLOW_TOKENS), exec_slowlog);
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_config() {
    let seeds = vec![std::fs::read(tree("config.example.toml")).unwrap()];
    fuzz("config", seeds, text_mutator(TOML_TOKENS), exec_config);
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_keymap() {
    fuzz(
        "keymap",
        toml_seeds("keymaps"),
        text_mutator(TOML_TOKENS),
        exec_keymap,
    );
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_theme() {
    fuzz(
        "theme",
        toml_seeds("themes"),
        text_mutator(TOML_TOKENS),
        exec_theme,
    );
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_review() {
    fuzz("review", sql_seeds(), text_mutator(SQL_TOKENS), exec_review);
}

#[test]
#[ignore = "fuzzing: run with scripts/fuzz"]
fn fuzz_sql_split() {
    fuzz(
        "sql_split",
        sql_seeds(),
        text_mutator(SQL_TOKENS),
        exec_sql_split,
    );
}
