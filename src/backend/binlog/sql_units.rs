//! Plan text to runnable units: the session settings, each BEGIN..COMMIT transaction, and any
//! statement outside one. Quotes, backticks and comments are respected, so a `;` inside a
//! value never splits a statement; used by apply, whether the text was generated or edited.

/// A run of statements: the session set-up, one BEGIN..COMMIT transaction, or a bare statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub label: String,
    pub statements: Vec<String>,
    pub transaction: bool,
}

/// Split plan text into units: statements before the first BEGIN (session set-up), each
/// BEGIN..COMMIT block, and any statement outside a block on its own. Quotes, backticks and
/// comments are respected, so a `;` inside a value never splits a statement.
pub fn split_units(sql: &str) -> Result<Vec<Unit>, String> {
    let mut units = Vec::new();
    let mut open: Option<Unit> = None;
    let mut session = Unit {
        label: "session settings".into(),
        statements: Vec::new(),
        transaction: false,
    };
    let mut seen_begin = false;
    for (stmt, comment) in split_statements(sql)? {
        let is = |word: &str| stmt.eq_ignore_ascii_case(word);
        match () {
            _ if is("BEGIN") || is("START TRANSACTION") => {
                if open.is_some() {
                    return Err(format!("BEGIN inside an open transaction ({stmt})"));
                }
                seen_begin = true;
                open = Some(Unit {
                    label: comment.unwrap_or_else(|| format!("transaction {}", units.len() + 1)),
                    statements: Vec::new(),
                    transaction: true,
                });
            }
            _ if is("COMMIT") => match open.take() {
                Some(u) => units.push(u),
                None => return Err("COMMIT without BEGIN".into()),
            },
            _ => match (&mut open, seen_begin) {
                (Some(u), _) => u.statements.push(stmt),
                (None, false) => session.statements.push(stmt),
                (None, true) => units.push(Unit {
                    label: format!("statement `{}`", stmt.chars().take(40).collect::<String>()),
                    statements: vec![stmt],
                    transaction: false,
                }),
            },
        }
    }
    if let Some(u) = open {
        return Err(format!("{} has BEGIN but no COMMIT", u.label));
    }
    if !session.statements.is_empty() {
        units.insert(0, session);
    }
    Ok(units)
}

/// Statements without their `;`, each with the last `--` comment line seen before it.
/// Plain text is copied a run at a time (up to the next byte that may start a quote, a
/// comment or the end of a statement): a plan of hundreds of MB is split in one pass.
fn split_statements(sql: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut comment: Option<String> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => {
                let start = i;
                i += 1;
                loop {
                    let Some(at) = b[i.min(b.len())..]
                        .iter()
                        .position(|&n| n == c || (n == b'\\' && c != b'`'))
                    else {
                        cur.push_str(&sql[start..]);
                        return Err(format!(
                            "unterminated {} quote in `{}`",
                            c as char,
                            short(&cur)
                        ));
                    };
                    i += at;
                    if b[i] == b'\\' {
                        // The escaped character may be several bytes: the search goes on
                        // from its second byte, which is never an ASCII quote or backslash.
                        i += 2;
                    } else if b.get(i + 1) == Some(&c) {
                        i += 2;
                    } else {
                        i += 1;
                        break;
                    }
                }
                cur.push_str(&sql[start..i]);
            }
            b'-' if b.get(i + 1) == Some(&b'-') && cur.trim().is_empty() => {
                let end = line_end(b, i + 1);
                let line = &sql[i + 1..end];
                comment = Some(line.trim_start_matches('-').trim().to_string());
                i = (end + 1).min(b.len());
            }
            b'#' if cur.trim().is_empty() => i = (line_end(b, i + 1) + 1).min(b.len()),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                i = match b[i..].windows(2).position(|w| w == b"*/") {
                    Some(at) => i + at + 2,
                    None => b.len(),
                };
                cur.push(' ');
            }
            b';' => {
                let stmt = cur.trim().to_string();
                if !stmt.is_empty() {
                    out.push((stmt, comment.clone()));
                }
                cur.clear();
                i += 1;
            }
            _ => {
                let end = b[i + 1..]
                    .iter()
                    .position(|n| b"'\"`-#/;".contains(n))
                    .map_or(b.len(), |at| i + 1 + at);
                cur.push_str(&sql[i..end]);
                i = end;
            }
        }
    }
    if !cur.trim().is_empty() {
        out.push((cur.trim().to_string(), comment));
    }
    Ok(out)
}

/// Where the line that goes on at `from` ends (its `\n`, or the end of the text).
fn line_end(b: &[u8], from: usize) -> usize {
    b[from.min(b.len())..]
        .iter()
        .position(|&n| n == b'\n')
        .map_or(b.len(), |at| from + at)
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_begin_commit_and_keep_labels() {
        let sql = "-- arkc flashback: rollback of 2\nSET NAMES utf8mb4;\nSET time_zone='+00:00';\n\n\
                   -- undo GTID 0-1-9 at b.000001:10-20\nBEGIN;\nUPDATE `t` SET `a` = 'x;y' WHERE `id` = 1 LIMIT 1;\n\
                   DELETE FROM `t` WHERE `id` = 2 LIMIT 1;\nCOMMIT;\n\n-- undo GTID 0-1-8 at b.000001:1-9\nBEGIN;\n\
                   INSERT INTO `t` (`a`) VALUES ('it''s -- not a comment');\nCOMMIT;\n";
        let units = split_units(sql).expect("units");
        assert_eq!(units.len(), 3);
        assert!(!units[0].transaction);
        assert_eq!(
            units[0].statements,
            ["SET NAMES utf8mb4", "SET time_zone='+00:00'"]
        );
        assert_eq!(units[1].label, "undo GTID 0-1-9 at b.000001:10-20");
        assert_eq!(
            units[1].statements,
            [
                "UPDATE `t` SET `a` = 'x;y' WHERE `id` = 1 LIMIT 1",
                "DELETE FROM `t` WHERE `id` = 2 LIMIT 1"
            ]
        );
        assert_eq!(
            units[2].statements,
            ["INSERT INTO `t` (`a`) VALUES ('it''s -- not a comment')"]
        );
    }

    #[test]
    fn unbalanced_blocks_and_quotes_are_errors() {
        assert!(split_units("BEGIN;\nDELETE FROM t;\n")
            .unwrap_err()
            .contains("no COMMIT"));
        assert!(split_units("COMMIT;")
            .unwrap_err()
            .contains("without BEGIN"));
        assert!(split_units("UPDATE t SET a = 'x;")
            .unwrap_err()
            .contains("unterminated"));
    }

    /// The char-by-char splitter this module had before, the reference for the fast one.
    /// Statements without their `;`, each with the last `--` comment line seen before it.
    fn reference_split(sql: &str) -> Result<Vec<(String, Option<String>)>, String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut comment: Option<String> = None;
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' | '"' | '`' => {
                    cur.push(c);
                    loop {
                        let Some(n) = chars.next() else {
                            return Err(format!("unterminated {c} quote in `{}`", short(&cur)));
                        };
                        cur.push(n);
                        if n == '\\' && c != '`' {
                            if let Some(esc) = chars.next() {
                                cur.push(esc);
                            }
                        } else if n == c {
                            if chars.peek() == Some(&c) {
                                cur.push(c);
                                chars.next();
                            } else {
                                break;
                            }
                        }
                    }
                }
                '-' if chars.peek() == Some(&'-') && cur.trim().is_empty() => {
                    let line: String = chars.by_ref().take_while(|&n| n != '\n').collect();
                    comment = Some(line.trim_start_matches('-').trim().to_string());
                }
                '#' if cur.trim().is_empty() => {
                    chars.by_ref().take_while(|&n| n != '\n').for_each(drop);
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut prev = ' ';
                    for n in chars.by_ref() {
                        if prev == '*' && n == '/' {
                            break;
                        }
                        prev = n;
                    }
                    cur.push(' ');
                }
                ';' => {
                    let stmt = cur.trim().to_string();
                    if !stmt.is_empty() {
                        out.push((stmt, comment.clone()));
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            }
        }
        if !cur.trim().is_empty() {
            out.push((cur.trim().to_string(), comment));
        }
        Ok(out)
    }

    #[test]
    fn the_fast_splitter_splits_as_the_char_by_char_one() {
        let cases = [
            "-- c1\nBEGIN;\nUPDATE `t` SET `a` = 'x;y' WHERE `id` = 1 LIMIT 1;\nCOMMIT;\n",
            "SELECT 'a\\'b;c', \"d\"\"e;\", `f``g;h`; x",
            "SELECT 'é\\é;', 'ü''ü' /* c;* / */ ;-- é tail\n--x\n# hash; line\nSELECT 1 - -2 # no\n;",
            "a-b;-- only a comment",
            "x /* unterminated",
            "SELECT 'x\\",
            "SELECT `a\\`;b",
            "/*/ still */ SELECT 1;;;  ;\n-- l1\n-- l2\nBEGIN;",
            "SELECT 'unterminated;",
            "SELECT \"x\" # not at the start\n;#c\n--\n-- -- dashes\nCOMMIT",
            "",
        ];
        for sql in cases {
            assert_eq!(split_statements(sql), reference_split(sql), "{sql:?}");
        }
        // Every prefix of a mixed text, so each construct is also cut at every byte.
        let mixed = "-- undo é at b:1-2\nBEGIN;\nINSERT INTO `t``x` (`a`) VALUES ('it''s -- no; \\' ü', \"q\"\"\", 0x2d2d);\n/* c */ DELETE FROM t WHERE a = 1 # x\n;\nCOMMIT;\n";
        for end in (0..=mixed.len()).filter(|&e| mixed.is_char_boundary(e)) {
            let sql = &mixed[..end];
            assert_eq!(split_statements(sql), reference_split(sql), "{sql:?}");
        }
    }
}
