//! `arkc completions` sourced in a real bash (and checked by zsh/fish when installed), and the
//! hidden `arkc man` page the package ships.

use std::path::{Path, PathBuf};
use std::process::Command;

fn arkc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn script(dir: &Path, shell: &str) -> PathBuf {
    let text = stdout_of(arkc().args(["completions", shell]));
    let path = dir.join(format!("arkc.{shell}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A config with two instances, for the dynamic part.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        "[[instance]]\nname = \"alpha\"\nhost = \"h1\"\n\n[[instance]]\nname = \"beta\"\nhost = \"h2\"\n",
    )
    .unwrap();
    path
}

/// Source the bash script in a non-interactive bash with the test binary first on PATH, set
/// COMP_WORDS/COMP_CWORD as bash would for `words`, call the registered function, and return
/// COMPREPLY one per line.
fn bash_complete(script: &Path, config: &Path, words: &[&str]) -> Vec<String> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_arkc")).parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source '{script}'
func=$(complete -p arkc | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$func" ] || {{ echo "no completion registered: $(complete -p arkc)" >&2; exit 1; }}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$func" arkc "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = quoted.join(" "),
    );
    let text = stdout_of(
        Command::new("bash")
            .arg("-c")
            .arg(program)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin_dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("ARKC_CONFIG", config),
    );
    text.lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_subcommands_options_and_instance_names() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path(), "bash");
    let config = config(dir.path());

    let registered = stdout_of(
        Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}'; complete -p arkc", script.display())),
    );
    assert!(
        registered.contains("-F _arkc_with_instances"),
        "{registered}"
    );

    let top = bash_complete(&script, &config, &["arkc", ""]);
    for sub in [
        "digest",
        "health",
        "binlog",
        "flashback",
        "config",
        "completions",
    ] {
        assert!(
            top.iter().any(|w| w == sub),
            "`arkc <tab>` lacks {sub}: {top:?}"
        );
    }
    assert!(
        !top.iter().any(|w| w.starts_with("__")),
        "hidden commands offered: {top:?}"
    );

    let di = bash_complete(&script, &config, &["arkc", "di"]);
    assert_eq!(di, vec!["digest"]);

    let config_sub = bash_complete(&script, &config, &["arkc", "config", ""]);
    assert!(config_sub.contains(&"check".to_string()), "{config_sub:?}");
    assert!(config_sub.contains(&"init".to_string()), "{config_sub:?}");

    let options = bash_complete(&script, &config, &["arkc", "health", "--"]);
    assert!(options.contains(&"--instance".to_string()), "{options:?}");

    let names = bash_complete(&script, &config, &["arkc", "health", "--instance", ""]);
    assert_eq!(names, vec!["alpha", "beta"]);
    let names = bash_complete(
        &script,
        &config,
        &["arkc", "binlog", "list", "--instance", "b"],
    );
    assert_eq!(names, vec!["beta"]);
}

#[test]
fn instance_names_come_from_the_config_arkc_would_use() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let names = stdout_of(
        arkc()
            .arg("--config")
            .arg(&config)
            .arg("__complete-instances"),
    );
    assert_eq!(names, "alpha\nbeta\n");
    let names = stdout_of(
        arkc()
            .arg("__complete-instances")
            .env("ARKC_CONFIG", &config),
    );
    assert_eq!(names, "alpha\nbeta\n");
}

#[test]
fn zsh_and_fish_scripts_are_valid_where_those_shells_exist() {
    let dir = tempfile::tempdir().unwrap();
    let zsh = script(dir.path(), "zsh");
    let text = std::fs::read_to_string(&zsh).unwrap();
    assert!(
        text.starts_with("#compdef arkc\n"),
        "{}",
        &text[..80.min(text.len())]
    );
    let specs: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("--instance=["))
        .collect();
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in specs {
        assert!(
            spec.ends_with(":_arkc_instances' \\"),
            "not dynamic: {spec}"
        );
    }
    let fish = script(dir.path(), "fish");
    let text = std::fs::read_to_string(&fish).unwrap();
    assert!(
        text.contains("-l instance -x -a '(arkc __complete-instances"),
        "{text}"
    );
    assert!(!text.contains("-a \"man\""), "hidden `man` offered by fish");
    let zsh_text = std::fs::read_to_string(&zsh).unwrap();
    assert!(!zsh_text.contains("'man:"), "hidden `man` offered by zsh");
    assert!(
        !zsh_text.contains("'__complete-instances:"),
        "hidden command offered by zsh"
    );
    for (shell, path) in [("zsh", &zsh), ("fish", &fish)] {
        if Command::new(shell).arg("--version").output().is_err() {
            eprintln!("SKIPPED: {shell} is not installed; only the script text was checked");
            continue;
        }
        let out = Command::new(shell).arg("-n").arg(path).output().unwrap();
        assert!(
            out.status.success(),
            "{shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_page_is_roff_for_arkc_1_listing_the_subcommands() {
    let page = stdout_of(arkc().arg("man"));
    assert!(
        page.contains(".TH arkc 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    for sub in ["digest", "health", "flashback", "completions", "config"] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
    assert!(
        !page.contains("__complete-instances"),
        "hidden command in the man page"
    );
    // man itself must be able to format it (man-db is installed by scripts/lib.sh).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arkc.1");
    std::fs::write(&file, &page).unwrap();
    match Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "man -l: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                text.contains("SUBCOMMANDS") || text.contains("COMMANDS"),
                "{text}"
            );
        }
        Err(e) => panic!("man is not installed ({e}); scripts/lib.sh installs man-db"),
    }
}

#[test]
fn fish_completes_subcommands_and_instance_names() {
    if Command::new("fish").arg("--version").output().is_err() {
        eprintln!("SKIPPED: fish is not installed (scripts/lib.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path(), "fish");
    let config = config(dir.path());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_arkc")).parent().unwrap();
    let complete = |line: &str| -> Vec<String> {
        let text = stdout_of(
            Command::new("fish")
                .arg("--no-config")
                .arg("-c")
                .arg(format!(
                    "source '{}'; complete -C '{line}'",
                    script.display()
                ))
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        bin_dir.display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                )
                .env("ARKC_CONFIG", &config),
        );
        // Each candidate is `word<TAB>description`.
        text.lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(complete("arkc di"), vec!["digest"]);
    assert_eq!(complete("arkc health --instance "), vec!["alpha", "beta"]);
    assert_eq!(complete("arkc binlog list --instance a"), vec!["alpha"]);
}

#[test]
fn man_dir_writes_a_page_per_visible_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(arkc().arg("man").arg("--dir").arg(dir.path()));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "arkc.1",
        "arkc-digest.1",
        "arkc-binlog-events.1",
        "arkc-config-init.1",
    ] {
        assert!(
            pages.iter().any(|p| p == page),
            "{page} missing from {pages:?}"
        );
    }
    assert!(
        !pages
            .iter()
            .any(|p| p.contains("man.1") || p.contains("complete")),
        "hidden commands got pages: {pages:?}"
    );
    let digest = std::fs::read_to_string(dir.path().join("arkc-digest.1")).unwrap();
    assert!(
        digest.contains("order\\-by"),
        "arkc-digest(1) lacks --order-by"
    );
}
