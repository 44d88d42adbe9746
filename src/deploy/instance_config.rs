//! Adding and removing a deployed instance's `[[instance]]` entry in the config file with
//! `toml_edit`, so the user's comments and order stay as they were.

use std::path::Path;

use anyhow::{bail, Context};
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

/// The tag that marks an instance `arkc deploy instance` created (and `deploy remove` may stop).
pub const DEPLOYED_TAG: &str = "arkc-deployed";

/// What the new entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceEntry {
    pub name: String,
    pub port: u16,
    pub user: String,
    pub password_file: String,
    pub root: String,
    pub binlog_dir: String,
    pub slow_log: String,
}

impl InstanceEntry {
    fn table(&self) -> Table {
        let mut t = Table::new();
        t.insert("name", value(&self.name));
        t.insert("host", value("127.0.0.1"));
        t.insert("port", value(i64::from(self.port)));
        t.insert("user", value(&self.user));
        t.insert(
            "password_cmd",
            value(format!("cat '{}'", self.password_file)),
        );
        let mut tags = Array::new();
        tags.push(DEPLOYED_TAG);
        tags.push(format!("root={}", self.root));
        t.insert("tags", value(tags));
        t.insert("binlog_dir", value(&self.binlog_dir));
        t.insert("slow_log", value(&self.slow_log));
        t
    }

    /// The entry as TOML text, for printing when the config cannot be written.
    pub fn to_toml(&self) -> String {
        let mut doc = DocumentMut::new();
        let mut list = ArrayOfTables::new();
        list.push(self.table());
        doc.insert("instance", Item::ArrayOfTables(list));
        doc.to_string()
    }
}

/// `text` with `entry` appended to the `[[instance]]` list; refuses a name already there.
pub fn add_instance(text: &str, path: &Path, entry: &InstanceEntry) -> anyhow::Result<String> {
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let list = doc
        .entry("instance")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .with_context(|| {
            format!(
                "{}: `instance` is not a list of [[instance]] tables",
                path.display()
            )
        })?;
    if list
        .iter()
        .any(|t| t.get("name").and_then(|n| n.as_str()) == Some(entry.name.as_str()))
    {
        bail!(
            "{} already has an instance named `{}`",
            path.display(),
            entry.name
        );
    }
    list.push(entry.table());
    Ok(doc.to_string())
}

/// `text` without the instance `name`; returns the new text and the removed entry's tags.
pub fn remove_instance(
    text: &str,
    path: &Path,
    name: &str,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let list = doc
        .get_mut("instance")
        .and_then(|i| i.as_array_of_tables_mut())
        .with_context(|| format!("{} has no [[instance]] entries", path.display()))?;
    let at = list
        .iter()
        .position(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
        .with_context(|| format!("{} has no instance named `{name}`", path.display()))?;
    let tags = list
        .get(at)
        .and_then(|t| t.get("tags"))
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    list.remove(at);
    Ok((doc.to_string(), tags))
}

/// Replace `path` atomically (a temporary file renamed over it), keeping its permissions.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write next to {}", path.display()))?;
    std::fs::write(tmp.path(), text)
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> InstanceEntry {
        InstanceEntry {
            name: "new".into(),
            port: 3310,
            user: "arkc_admin".into(),
            password_file: "/srv/new/secrets/admin.pass".into(),
            root: "/srv/new".into(),
            binlog_dir: "/srv/new/data".into(),
            slow_log: "/srv/new/slow.log".into(),
        }
    }

    #[test]
    fn adding_and_removing_keeps_comments_and_order() {
        let text = "# my arkc config\n[ui]\ntheme = \"light\" # I like it\n\n# the primary\n[[instance]]\nname = \"primary\"\nhost = \"db1\"\n\n[review]\nmax_indexes = 3 # strict\n";
        let p = Path::new("c.toml");
        let added = add_instance(text, p, &entry()).unwrap();
        assert!(added.starts_with("# my arkc config\n[ui]\ntheme = \"light\" # I like it\n\n# the primary\n[[instance]]\nname = \"primary\""), "{added}");
        assert!(added.contains("max_indexes = 3 # strict"), "{added}");
        let cfg = crate::config::Config::parse(&added, p).unwrap();
        let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["primary", "new"]);
        assert_eq!(cfg.instances[1].port, Some(3310));
        assert!(add_instance(&added, p, &entry())
            .unwrap_err()
            .to_string()
            .contains("already has"));
        let (back, tags) = remove_instance(&added, p, "new").unwrap();
        assert_eq!(tags, [DEPLOYED_TAG, "root=/srv/new"]);
        assert_eq!(
            crate::config::Config::parse(&back, p)
                .unwrap()
                .instances
                .len(),
            1
        );
        assert!(
            back.contains("# the primary") && back.contains("# I like it"),
            "{back}"
        );
    }

    #[test]
    fn the_printed_entry_parses_as_a_config() {
        let cfg = crate::config::Config::parse(&entry().to_toml(), Path::new("x")).unwrap();
        assert_eq!(cfg.instances[0].name, "new");
    }
}
