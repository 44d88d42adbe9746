//! `arkc completions SHELL` and the hidden `arkc man`: shell completion scripts and the man page,
//! both generated from the clap definitions so they never drift from the real options.
//!
//! clap_complete's scripts are static; instance names live in the user's config, so each script
//! gets a small addition that asks the hidden `arkc __complete-instances` for them.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use super::Cli;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// The value name of the `--instance` options.
pub const INSTANCE_VALUE: &str = "INSTANCE";

/// The completion script for `shell`, static part from clap plus the instance-name addition.
pub fn script(shell: CompletionShell) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    let mut generated = Vec::new();
    let target = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(target, &mut cmd, "arkc", &mut generated);
    let generated = String::from_utf8(generated).context("clap_complete wrote non-UTF-8")?;
    let hidden: Vec<String> = cmd
        .get_subcommands()
        .filter(|c| c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect();
    let generated = without_hidden(&generated, shell, &hidden);
    Ok(match shell {
        CompletionShell::Bash => generated + BASH_INSTANCES,
        CompletionShell::Fish => generated + FISH_INSTANCES,
        CompletionShell::Zsh => with_zsh_instances(&generated)?,
    })
}

/// clap_complete offers hidden subcommands too; take `man` and `__complete-instances` back out of
/// the lists a user sees: bash's `opts="..."` words, zsh's `'name:help'` entries, fish's `-a "name"`.
fn without_hidden(script: &str, shell: CompletionShell, hidden: &[String]) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let trimmed = line.trim_start();
        match shell {
            CompletionShell::Bash if trimmed.starts_with("opts=\"") => {
                let indent = &line[..line.len() - trimmed.len()];
                let words = trimmed
                    .trim_end()
                    .trim_start_matches("opts=\"")
                    .trim_end_matches('"');
                let kept: Vec<&str> = words
                    .split(' ')
                    .filter(|w| !hidden.iter().any(|h| h == w))
                    .collect();
                out.push_str(&format!("{indent}opts=\"{}\"\n", kept.join(" ")));
                continue;
            }
            CompletionShell::Zsh
                if hidden
                    .iter()
                    .any(|h| trimmed.starts_with(&format!("'{h}:"))) =>
            {
                continue
            }
            CompletionShell::Fish
                if hidden.iter().any(|h| line.contains(&format!("-a \"{h}\""))) =>
            {
                continue
            }
            _ => out.push_str(line),
        }
    }
    out
}

// `_arkc` is clap's function; the wrapper answers `--instance` itself and hands everything else on.
const BASH_INSTANCES: &str = r#"
# Instance names from the config arkc would use ($ARKC_CONFIG, else ~/.config/arkc/config.toml).
_arkc_with_instances() {
    if [[ "${COMP_WORDS[COMP_CWORD-1]}" == "--instance" ]]; then
        local cur="${COMP_WORDS[COMP_CWORD]}"
        COMPREPLY=($(compgen -W "$(arkc __complete-instances 2>/dev/null)" -- "$cur"))
        return 0
    fi
    _arkc "$@"
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _arkc_with_instances -o nosort -o bashdefault -o default arkc
else
    complete -F _arkc_with_instances -o bashdefault -o default arkc
fi
"#;

// fish merges this with the per-subcommand `-l instance` lines clap wrote.
const FISH_INSTANCES: &str = r#"
# Instance names from the config arkc would use ($ARKC_CONFIG, else ~/.config/arkc/config.toml).
complete -c arkc -l instance -x -a '(arkc __complete-instances 2>/dev/null)'
"#;

const ZSH_INSTANCES: &str = r#"
# Instance names from the config arkc would use ($ARKC_CONFIG, else ~/.config/arkc/config.toml).
(( $+functions[_arkc_instances] )) ||
_arkc_instances() {
    local -a names
    names=(${(f)"$(arkc __complete-instances 2>/dev/null)"})
    _describe -t instances 'instance' names
}
"#;

/// zsh: every `--instance=[...]` spec ends in `:VALUE:_default`; point those at
/// `_arkc_instances`, defined right after the `#compdef` line so it exists before clap's `_arkc`.
fn with_zsh_instances(generated: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(generated.len() + ZSH_INSTANCES.len());
    let mut replaced = 0;
    for (i, line) in generated.split_inclusive('\n').enumerate() {
        if i == 1 {
            out.push_str(ZSH_INSTANCES);
            out.push('\n');
        }
        let spec = line.trim_end();
        let is_instance = spec.contains("--instance=[") && spec.ends_with(":_default' \\");
        match spec.strip_suffix(":_default' \\").filter(|_| is_instance) {
            Some(head) => {
                out.push_str(&format!("{head}:_arkc_instances' \\\n"));
                replaced += 1;
            }
            None => out.push_str(line),
        }
    }
    if replaced == 0 {
        anyhow::bail!("the zsh script has no `--instance` spec to complete instances with");
    }
    Ok(out)
}

pub fn run_completions(shell: CompletionShell) -> anyhow::Result<i32> {
    print_all(&script(shell)?)
}

/// `arkc man`: the arkc(1) page in roff, for the package (gzipped into /usr/share/man/man1);
/// `--dir DIR` writes it and a page per visible subcommand (`arkc-digest.1` ...) into DIR.
pub fn run_man(dir: Option<&Path>) -> anyhow::Result<i32> {
    if let Some(dir) = dir {
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("writing man pages into {}", dir.display()))?;
        return Ok(0);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("rendering the man page")?;
    std::io::stdout()
        .lock()
        .write_all(&page)
        .context("writing the man page")?;
    Ok(0)
}

/// `arkc __complete-instances`: one configured instance name per line, for the scripts above.
pub fn run_instances(config: Option<&Path>) -> anyhow::Result<i32> {
    let cfg = crate::config::Config::load_located(config)?;
    let names: String = cfg
        .instances
        .iter()
        .map(|i| format!("{}\n", i.name))
        .collect();
    print_all(&names)
}

fn print_all(text: &str) -> anyhow::Result<i32> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(0)
}
