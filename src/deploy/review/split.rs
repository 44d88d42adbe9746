//! A change file cut into statements, each with its 1-based index and the lines it spans.
//! Quotes, backticks and comments are respected, so a `;` inside them never cuts a statement.

/// One statement of a change file, without its `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatement {
    /// 1-based position in the file.
    pub index: usize,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based line of its terminating `;` (or last character).
    pub end_line: usize,
    pub text: String,
}

/// Why a file could not be cut into statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: unterminated {what} (statement {index} starts there)")]
pub struct SplitError {
    pub index: usize,
    pub line: usize,
    pub what: &'static str,
}

/// Cut `sql` into statements; comments between statements are dropped, those inside kept.
pub fn split_statements(sql: &str) -> Result<Vec<SourceStatement>, SplitError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start_line = 0;
    let mut line = 1;
    let mut chars = sql.chars().peekable();
    let push = |out: &mut Vec<SourceStatement>, cur: &mut String, start: usize, end: usize| {
        let text = cur.trim().to_string();
        if !text.is_empty() {
            out.push(SourceStatement {
                index: out.len() + 1,
                line: start,
                end_line: end,
                text,
            });
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        let begins = cur.trim().is_empty();
        match c {
            '\n' => {
                line += 1;
                if !begins {
                    cur.push(c);
                }
            }
            ';' => push(&mut out, &mut cur, start_line, line),
            '-' if chars.peek() == Some(&'-') => {
                let mut comment = String::from("-");
                comment.push(chars.next().unwrap_or('-'));
                // MySQL: `--` starts a comment only when followed by whitespace or the end.
                if chars.peek().is_none_or(|n| n.is_whitespace()) {
                    skip_line(&mut chars);
                    line += 1;
                    if !begins {
                        cur.push('\n');
                    }
                } else {
                    if begins {
                        start_line = line;
                    }
                    cur.push_str(&comment);
                }
            }
            '#' => {
                skip_line(&mut chars);
                line += 1;
                if !begins {
                    cur.push('\n');
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let opened = line;
                chars.next();
                let executable = chars.peek() == Some(&'!');
                let mut body = String::from("/*");
                let mut closed = false;
                while let Some(n) = chars.next() {
                    body.push(n);
                    if n == '\n' {
                        line += 1;
                    }
                    if n == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        body.push('/');
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(SplitError {
                        index: out.len() + 1,
                        line: opened,
                        what: "/* comment",
                    });
                }
                // `/*! ... */` is code to MySQL and MariaDB: keep it.
                if executable || !begins {
                    if begins {
                        start_line = opened;
                    }
                    cur.push_str(if executable { &body } else { " " });
                }
            }
            '\'' | '"' | '`' => {
                if begins {
                    start_line = line;
                }
                let opened = line;
                cur.push(c);
                let mut closed = false;
                while let Some(n) = chars.next() {
                    cur.push(n);
                    if n == '\n' {
                        line += 1;
                    }
                    if n == '\\' && c != '`' {
                        if let Some(esc) = chars.next() {
                            if esc == '\n' {
                                line += 1;
                            }
                            cur.push(esc);
                        }
                        continue;
                    }
                    if n == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(SplitError {
                        index: out.len() + 1,
                        line: opened,
                        what: match c {
                            '\'' => "' string",
                            '"' => "\" string",
                            _ => "` identifier",
                        },
                    });
                }
            }
            c if c.is_whitespace() => {
                if !begins {
                    cur.push(c);
                }
            }
            c => {
                if begins {
                    start_line = line;
                }
                cur.push(c);
            }
        }
    }
    push(&mut out, &mut cur, start_line, line);
    Ok(out)
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for n in chars.by_ref() {
        if n == '\n' {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_comments_do_not_cut_and_lines_are_kept() {
        let sql = "-- header\nUPDATE t SET a = ';' WHERE id = 1;\n\n/* c; */ DELETE FROM t\n  WHERE b = \"x;\" # tail;\n;SELECT `a;b` FROM t; SELECT 1";
        let s = split_statements(sql).unwrap();
        let got: Vec<(usize, usize, usize)> =
            s.iter().map(|s| (s.index, s.line, s.end_line)).collect();
        assert_eq!(got, vec![(1, 2, 2), (2, 4, 6), (3, 6, 6), (4, 6, 6)]);
        assert_eq!(s[0].text, "UPDATE t SET a = ';' WHERE id = 1");
        assert!(s[1].text.starts_with("DELETE FROM t"), "{}", s[1].text);
        assert_eq!(s[2].text, "SELECT `a;b` FROM t");
    }

    #[test]
    fn an_unterminated_string_names_its_line() {
        let e = split_statements("SELECT 1;\nUPDATE t SET a = 'x;\n").unwrap_err();
        assert_eq!((e.index, e.line), (2, 2));
    }
}
