//! `login_path = "NAME"`: user, password, host, port and socket from the obfuscated
//! `~/.mylogin.cnf` that `mysql_config_editor` writes, as the mysql client's `--login-path` reads it.
//!
//! File layout: 4 unused bytes, a 20-byte key, then one record per line of an option file, each a
//! 4-byte little-endian length followed by that many bytes of AES-128-ECB ciphertext (PKCS#7
//! padded). The AES key is the 20 bytes folded into 16 by XOR. This is obfuscation, not secrecy:
//! the key sits in the file, which is why the file must stay private to its owner.

use std::path::{Path, PathBuf};

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit};

const UNUSED_HEADER: usize = 4;
const KEY_MATTER: usize = 20;
const BLOCK: usize = 16;

/// What one login path supplies; every field is optional, as in the file. The password is never
/// printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LoginPath {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
}

impl std::fmt::Debug for LoginPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPath")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginFileError {
    #[error("cannot read {}: {source} (write it with `mysql_config_editor set --login-path=NAME ...`)", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a login path file: {problem} at byte {offset}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: usize,
        problem: &'static str,
    },
    #[error("{} has no [{name}] group (groups there: {found})", path.display())]
    NoGroup {
        path: PathBuf,
        name: String,
        found: String,
    },
    #[error("{} [{group}]: port {value:?} is not a port number", path.display())]
    BadPort {
        path: PathBuf,
        group: String,
        value: String,
    },
}

/// `$MYSQL_TEST_LOGIN_FILE` (honoured by the MySQL clients too), else `~/.mylogin.cnf`.
pub fn login_file_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MYSQL_TEST_LOGIN_FILE").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join(".mylogin.cnf"))
        .unwrap_or_else(|| ".mylogin.cnf".into())
}

/// The AES key: the 20 stored bytes XORed onto a zeroed 16-byte buffer, wrapping around.
fn fold_key(matter: &[u8]) -> [u8; BLOCK] {
    let mut key = [0u8; BLOCK];
    for (i, b) in matter.iter().enumerate() {
        key[i % BLOCK] ^= b;
    }
    key
}

/// The plaintext option file inside a login path file's bytes; `path` is only for messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<String, LoginFileError> {
    let corrupt = |offset: usize, problem: &'static str| LoginFileError::Corrupt {
        path: path.to_path_buf(),
        offset,
        problem,
    };
    if bytes.len() < UNUSED_HEADER + KEY_MATTER {
        return Err(corrupt(bytes.len(), "shorter than its 24-byte header"));
    }
    let key = fold_key(&bytes[UNUSED_HEADER..UNUSED_HEADER + KEY_MATTER]);
    let mut text = Vec::new();
    let mut at = UNUSED_HEADER + KEY_MATTER;
    while at < bytes.len() {
        let Some(len_bytes) = bytes.get(at..at + 4) else {
            return Err(corrupt(at, "a record length is cut short"));
        };
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let start = at + 4;
        if len == 0 || !len.is_multiple_of(BLOCK) {
            return Err(corrupt(
                at,
                "a record length is not a whole number of AES blocks",
            ));
        }
        let Some(cipher) = bytes.get(start..start + len) else {
            return Err(corrupt(at, "a record runs past the end of the file"));
        };
        let mut buf = cipher.to_vec();
        let line = ecb::Decryptor::<aes::Aes128>::new(&key.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| corrupt(at, "a record does not decrypt (bad padding)"))?;
        text.extend_from_slice(line);
        at = start + len;
    }
    String::from_utf8(text).map_err(|_| corrupt(0, "the decrypted text is not UTF-8"))
}

/// The inverse of [`decode`]: `plaintext` (an option file) as `mysql_config_editor` stores it,
/// one record per line, under the given 20 key bytes. Used to write test fixtures.
pub fn encode(plaintext: &str, key_matter: [u8; KEY_MATTER]) -> Vec<u8> {
    let key = fold_key(&key_matter);
    let mut out = vec![0u8; UNUSED_HEADER];
    out.extend_from_slice(&key_matter);
    for line in plaintext.split_inclusive('\n') {
        let mut buf = line.as_bytes().to_vec();
        let padded_len = (buf.len() / BLOCK + 1) * BLOCK;
        buf.resize(padded_len, 0);
        let cipher = ecb::Encryptor::<aes::Aes128>::new(&key.into())
            .encrypt_padded_mut::<Pkcs7>(&mut buf, line.len())
            .expect("buffer sized for one block of padding");
        out.extend_from_slice(&(cipher.len() as u32).to_le_bytes());
        out.extend_from_slice(cipher);
    }
    out
}

/// The login path `name` from the file at `path`: `[client]` values, overridden by `[name]`'s,
/// as the mysql client reads both groups for `--login-path=name`.
pub fn read_login_path(path: &Path, name: &str) -> Result<LoginPath, LoginFileError> {
    let bytes = std::fs::read(path).map_err(|source| LoginFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode(&bytes, path)?;
    let groups = option_groups(&text);
    if !groups.iter().any(|(g, _)| g == name) {
        let mut found: Vec<&str> = groups.iter().map(|(g, _)| g.as_str()).collect();
        found.dedup();
        return Err(LoginFileError::NoGroup {
            path: path.to_path_buf(),
            name: name.to_string(),
            found: if found.is_empty() {
                "none".into()
            } else {
                found.join(", ")
            },
        });
    }
    let mut login = LoginPath::default();
    for group in ["client", name] {
        for (_, options) in groups.iter().filter(|(g, _)| g == group) {
            for (key, value) in options {
                match key.as_str() {
                    "user" => login.user = Some(value.clone()),
                    "password" => login.password = Some(value.clone()),
                    "host" => login.host = Some(value.clone()),
                    "socket" => login.socket = Some(PathBuf::from(value)),
                    "port" => {
                        login.port = Some(value.parse().map_err(|_| LoginFileError::BadPort {
                            path: path.to_path_buf(),
                            group: group.to_string(),
                            value: value.clone(),
                        })?)
                    }
                    _ => {} // other client options are not arkc's business
                }
            }
        }
    }
    Ok(login)
}

impl super::Config {
    /// Fill each `login_path` instance's gaps from the login path file, as the mysql client lets
    /// command-line options win over option files: keys set in the config stay as they are.
    pub(super) fn apply_login_paths(
        &mut self,
        text: &str,
        login_file: &Path,
    ) -> Result<(), super::ConfigError> {
        let shown = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        for inst in &mut self.instances {
            let Some(name) = inst.login_path.clone() else {
                continue;
            };
            let line = key_line_after(text, inst.line, "login_path").unwrap_or(inst.line);
            let login =
                read_login_path(login_file, &name).map_err(|e| super::ConfigError::Invalid {
                    path: shown.clone(),
                    line,
                    message: format!("instance `{}`: key `login_path`: {e}", inst.name),
                })?;
            inst.login_file = Some(login_file.to_path_buf());
            if inst.user.is_none() {
                inst.user = login.user;
            }
            // Key by key, as the mysql client merges options; but a socket from the login path is
            // used only when the config names no host or port and the login host is `localhost`
            // (or unset), and a socket in the config keeps the login host and port out.
            if inst.socket.is_none() {
                if inst.host.is_none() {
                    let local = login.host.as_deref().is_none_or(|h| h == "localhost");
                    match login.socket {
                        Some(socket) if local && inst.port.is_none() => inst.socket = Some(socket),
                        _ => inst.host = login.host,
                    }
                }
                if inst.host.is_some() && inst.port.is_none() {
                    inst.port = login.port;
                }
            }
        }
        Ok(())
    }
}

/// The line of `key` within the table that starts at `from` (1-based), for messages.
fn key_line_after(text: &str, from: usize, key: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| l.trim_start().starts_with(key))
        .map(|(i, _)| i + 1)
}

type OptionGroup = (String, Vec<(String, String)>);

/// Groups of `key = value` lines in option-file syntax, in file order.
fn option_groups(text: &str) -> Vec<OptionGroup> {
    let mut groups: Vec<OptionGroup> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            groups.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        let Some((_, options)) = groups.last_mut() else {
            continue;
        };
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        // Option files allow `-` and `_` interchangeably in names.
        let key = key.trim().replace('-', "_");
        options.push((key, unquote(value.trim())));
    }
    groups
}

/// Option-file values may be quoted; inside quotes backslash escapes apply
/// (`mysql_config_editor` quotes every value it writes).
fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')));
    let Some(inner) = inner else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 20] = *b"arkc-test-key-matter";
    const EXAMPLE: &str = "[client]\nuser = \"mydefaultname\"\npassword = \"mydefaultpass\"\nhost = \"127.0.0.1\"\n[mypath]\nuser = \"myothername\"\npassword = \"my\\\"other pass\"\nhost = \"localhost\"\nport = 3307\n";

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join(".mylogin.cnf");
        std::fs::write(&path, encode(text, KEY)).unwrap();
        path
    }

    #[test]
    fn layout_is_header_key_then_length_prefixed_blocks() {
        let bytes = encode("[client]\nuser = \"root\"\n", KEY);
        assert_eq!(&bytes[..4], &[0, 0, 0, 0]);
        assert_eq!(&bytes[4..24], &KEY);
        // "[client]\n" is 9 bytes: one padded block.
        assert_eq!(&bytes[24..28], &16u32.to_le_bytes());
        // `user = "root"\n` is 14 bytes: one block too; nothing after it.
        assert_eq!(&bytes[44..48], &16u32.to_le_bytes());
        assert_eq!(bytes.len(), 64);
    }

    #[test]
    fn the_key_folds_twenty_bytes_into_sixteen() {
        let mut matter = [0u8; 20];
        matter[0] = 0x0f;
        matter[16] = 0xf0;
        matter[19] = 0x01;
        let key = fold_key(&matter);
        assert_eq!(key[0], 0xff);
        assert_eq!(key[3], 0x01);
        assert!(key[4..].iter().all(|b| *b == 0));
    }

    #[test]
    fn a_line_of_exactly_one_block_gets_a_whole_padding_block() {
        let line = "password = \"12\"\n"; // 16 bytes
        assert_eq!(line.len(), 16);
        let bytes = encode(line, KEY);
        assert_eq!(&bytes[24..28], &32u32.to_le_bytes());
        assert_eq!(decode(&bytes, Path::new("x")).unwrap(), line);
    }

    #[test]
    fn round_trip_and_group_override_client() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), EXAMPLE);
        let login = read_login_path(&path, "mypath").unwrap();
        assert_eq!(login.user.as_deref(), Some("myothername"));
        assert_eq!(login.password.as_deref(), Some("my\"other pass"));
        assert_eq!(login.host.as_deref(), Some("localhost"));
        assert_eq!(login.port, Some(3307));
        let client = read_login_path(&path, "client").unwrap();
        assert_eq!(client.user.as_deref(), Some("mydefaultname"));
        assert_eq!(client.port, None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), EXAMPLE);
        let shown = format!("{:?}", read_login_path(&path, "mypath").unwrap());
        assert!(!shown.contains("other pass"), "{shown}");
        assert!(shown.contains("****"), "{shown}");
    }

    #[test]
    fn a_missing_group_lists_the_groups_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), EXAMPLE);
        let err = read_login_path(&path, "prod").unwrap_err().to_string();
        assert!(err.contains("no [prod] group"), "{err}");
        assert!(err.contains("client, mypath"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_the_offset() {
        let err = decode(&[0u8; 10], Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("24-byte header"), "{err}");
        let mut bytes = encode("[client]\n", KEY);
        bytes[24] = 7; // a length that is not a multiple of 16
        let err = decode(&bytes, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("at byte 24"), "{err}");
        let mut bytes = encode("[client]\n", KEY);
        bytes.truncate(bytes.len() - 3);
        let err = decode(&bytes, Path::new("f")).unwrap_err().to_string();
        assert!(err.contains("past the end"), "{err}");
    }

    #[test]
    fn a_bad_port_names_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "[db]\nport = \"x1\"\n");
        let err = read_login_path(&path, "db").unwrap_err().to_string();
        assert!(err.contains("[db]: port \"x1\""), "{err}");
    }
}
