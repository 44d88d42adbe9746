//! The `:` command palette: parse a typed line into a command, or explain what is wrong.

use super::Pane;

/// A parsed palette command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteCommand {
    Pane(Pane),
    Instance(String),
    Theme(String),
    /// `:readonly` (on), `:readonly on`, `:readonly off`.
    ReadOnly(bool),
    Quit,
    /// `:scope SCHEMA[.TABLE] [insert|update|delete ...]`, or None for `:scope clear`.
    Scope(Option<Box<arkc_binlog::scope::RowScope>>),
    /// `:mark all` (true) / `:mark none` (false): the Binlog pane's listed transactions.
    Mark(bool),
    /// `:tag NAME`: the Health list shows that tag group; `:tag` alone, the whole fleet.
    Tag(Option<String>),
}

/// The commands as the help screen lists them.
pub const USAGE: &[(&str, &str)] = &[
    (":pane NAME", "go to pane NAME"),
    (":instance NAME", "select instance"),
    (":theme NAME", "switch theme"),
    (":readonly on|off", "refuse writes"),
    (":quit", "leave arkc"),
    (
        ":scope DB[.TABLE] [insert|update|delete]",
        "binlog: rows to roll back",
    ),
    (":scope clear", "binlog: every row"),
    (":mark all|none", "binlog: mark listed transactions"),
    (":tag [NAME]", "health: one tag group, or all"),
];

/// Parse the palette line (without the leading `:`). `instances` are the configured names, so
/// a unique prefix selects an instance.
pub fn parse(line: &str, instances: &[String]) -> Result<PaletteCommand, String> {
    let mut words = line.split_whitespace();
    let Some(verb) = words.next() else {
        return Err("empty command; try :pane, :instance, :theme, :readonly or :quit".into());
    };
    if verb == "scope" {
        let rest = line.trim_start().trim_start_matches("scope").trim();
        return match rest {
            "clear" | "none" => Ok(PaletteCommand::Scope(None)),
            _ => arkc_binlog::scope::RowScope::parse(rest)
                .map(|s| PaletteCommand::Scope(Some(Box::new(s))))
                .map_err(|e| format!(":scope: {e}")),
        };
    }
    let arg = words.next();
    if let Some(extra) = words.next() {
        return Err(format!(":{verb}: unexpected `{extra}`"));
    }
    match verb {
        "pane" | "p" => parse_pane(need(verb, arg)?).map(PaletteCommand::Pane),
        "instance" | "i" => {
            pick_instance(need(verb, arg)?, instances).map(PaletteCommand::Instance)
        }
        "theme" => Ok(PaletteCommand::Theme(need(verb, arg)?.to_string())),
        "readonly" | "ro" => match arg {
            None | Some("on") => Ok(PaletteCommand::ReadOnly(true)),
            Some("off") => Ok(PaletteCommand::ReadOnly(false)),
            Some(other) => Err(format!(":readonly takes on or off, not `{other}`")),
        },
        "mark" => match arg {
            Some("all") => Ok(PaletteCommand::Mark(true)),
            Some("none") => Ok(PaletteCommand::Mark(false)),
            _ => Err(":mark takes all or none".into()),
        },
        "tag" | "t" => Ok(PaletteCommand::Tag(arg.map(str::to_string))),
        "quit" | "q" => match arg {
            None => Ok(PaletteCommand::Quit),
            Some(other) => Err(format!(":quit takes no argument (got `{other}`)")),
        },
        other => Err(format!(
            "unknown command :{other}; try :pane, :instance, :theme, :readonly or :quit"
        )),
    }
}

fn need<'a>(verb: &str, arg: Option<&'a str>) -> Result<&'a str, String> {
    arg.ok_or_else(|| format!(":{verb} needs a NAME"))
}

/// Pane names are matched loosely: `slow`, `slow_sql`, `slow-sql`, `Slow SQL` prefixes all work.
pub fn parse_pane(name: &str) -> Result<Pane, String> {
    let wanted: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let hits: Vec<Pane> = Pane::ALL
        .into_iter()
        .filter(|p| {
            let title: String = p
                .title()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            !wanted.is_empty() && title.starts_with(&wanted)
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!(
            "unknown pane `{name}`; panes are health, slow, binlog, jobs"
        )),
    }
}

/// Exact name first, then a unique prefix.
fn pick_instance(name: &str, instances: &[String]) -> Result<String, String> {
    if instances.iter().any(|i| i == name) {
        return Ok(name.to_string());
    }
    let hits: Vec<&String> = instances.iter().filter(|i| i.starts_with(name)).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no instance named `{name}`")),
        many => Err(format!(
            "`{name}` matches {}: {}",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What could come next on the palette line, for the hint shown while typing: matching command
/// forms while the verb is typed, then matching values (`themes` are the known theme names).
pub fn suggestions(line: &str, instances: &[String], themes: &[&str]) -> Vec<String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("");
    let arg = words.next();
    let typing_verb = arg.is_none() && !line.ends_with(' ');
    if typing_verb {
        return USAGE
            .iter()
            .map(|(usage, _)| usage.trim_start_matches(':'))
            .filter(|usage| usage.starts_with(verb))
            .map(String::from)
            .collect();
    }
    let prefix = arg.unwrap_or("");
    let values: Vec<String> = match verb {
        "pane" | "p" => ["health", "slow", "binlog", "jobs"]
            .map(String::from)
            .to_vec(),
        "instance" | "i" => instances.to_vec(),
        "theme" => themes.iter().map(|t| t.to_string()).collect(),
        "readonly" | "ro" => vec!["on".into(), "off".into()],
        "mark" => vec!["all".into(), "none".into()],
        "scope" => vec!["clear".into()],
        _ => Vec::new(),
    };
    values
        .into_iter()
        .filter(|v| v.starts_with(prefix))
        .collect()
}
