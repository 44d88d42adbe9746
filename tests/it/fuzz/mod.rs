//! Fuzzing on the stable toolchain (cargo-fuzz/libFuzzer needs nightly): structure-aware
//! mutation of seeds from the shared corpora and the tree's own files, each input run under
//! `catch_unwind`. A panic saves the input under `target/tmp/fuzz-crashes/` and fails the test
//! naming it; that input then becomes a regression: saved under `tests/it/fuzz/regressions/
//! TARGET/`, it is replayed on every test run by `replay_saved_crashes`.
//!
//! These are ignored tests: `scripts/fuzz [--seconds N | --runs N | --ci] [TARGET]` runs them
//! with `ARKC_FUZZ_SECONDS` (default 10) or `ARKC_FUZZ_RUNS` (a fixed number of mutants, which
//! with `ARKC_FUZZ_SEED` makes a run repeatable input for input: what CI does) and optionally
//! `ARKC_FUZZ_SEED` (random when unset: what a campaign wants).

pub mod mutate;
pub mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mutate::Rng;

pub const CORPORA: &str = env!("ARKC_CORPORA");
const TREE: &str = env!("CARGO_MANIFEST_DIR");

/// The files of `dir` (not recursing) of at most `max` bytes, LICENSE texts left out.
pub fn seeds_in(dir: &Path, max: u64) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("seed folder {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && !p.to_string_lossy().contains("LICENSE"))
        .filter(|p| p.metadata().is_ok_and(|m| m.len() <= max))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

pub fn tree(rel: &str) -> PathBuf {
    Path::new(TREE).join(rel)
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
    )
}

/// How long a run lasts: a number of mutants (`ARKC_FUZZ_RUNS_<TARGET>`, else
/// `ARKC_FUZZ_RUNS`), which never depends on the clock, or else `ARKC_FUZZ_SECONDS`.
#[derive(Debug, Clone, Copy)]
enum Budget {
    Runs(u64),
    Time(Duration),
}

impl Budget {
    fn for_target(target: &str) -> Budget {
        let own = format!("ARKC_FUZZ_RUNS_{}", target.to_ascii_uppercase());
        match env_number(&own).or_else(|| env_number("ARKC_FUZZ_RUNS")) {
            Some(runs) => Budget::Runs(runs),
            None => Budget::Time(Duration::from_secs(
                env_number("ARKC_FUZZ_SECONDS").unwrap_or(10),
            )),
        }
    }

    fn allows(self, mutants: u64, started: Instant) -> bool {
        match self {
            Budget::Runs(n) => mutants < n,
            Budget::Time(t) => started.elapsed() < t,
        }
    }
}

/// Run `exec` on the seeds, then on mutants of them, for the target's `Budget`. Given the
/// seed number and a run count, the inputs are the same on every machine and at any speed:
/// every choice (which pool entry, which edit, which mutant to keep) comes from the seeded Rng.
pub fn fuzz(
    target: &str,
    seeds: Vec<Vec<u8>>,
    mutate: impl Fn(&mut Rng, &mut Vec<u8>, &[Vec<u8>]),
    exec: impl Fn(&[u8]),
) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let seed = std::env::var("ARKC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = Rng::new(seed);
    let budget = Budget::for_target(target);
    let started = Instant::now();
    let mut pool = seeds.clone();
    let mut mutants = 0u64;
    // `mutants` is the number of mutants run before this input: `--runs mutants + 1` with the
    // same seed stops right after it.
    let run = |input: &[u8], mutants: Option<u64>| {
        if catch_unwind(AssertUnwindSafe(|| exec(input))).is_err() {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{target}-{:08x}.bin", mutate::crc32(input)));
            std::fs::write(&path, input).unwrap();
            let which = match mutants {
                Some(n) => format!(
                    "mutant {} of seed {seed} (again: scripts/fuzz --seed {seed} --runs {} \
                     {target})",
                    n + 1,
                    n + 1
                ),
                None => "an unmutated seed file".to_string(),
            };
            panic!(
                "{target}: crash on {which}; input saved to {} — add it to \
                 tests/it/fuzz/regressions/{target}/",
                path.display()
            );
        }
    };
    for s in &seeds {
        run(s, None);
    }
    while budget.allows(mutants, started) {
        let mut input = pool[rng.below(pool.len())].clone();
        mutate(&mut rng, &mut input, &seeds);
        run(&input, Some(mutants));
        mutants += 1;
        // Keep some mutants to mutate further (deeper damage), bounded.
        if rng.below(32) == 0 {
            if pool.len() < 512 {
                pool.push(input);
            } else {
                let i = seeds.len() + rng.below(pool.len() - seeds.len());
                pool[i] = input;
            }
        }
    }
    let how = match budget {
        Budget::Runs(_) => "fixed count",
        Budget::Time(_) => "time budget",
    };
    eprintln!(
        "fuzz {target}: {} inputs (seed files: {}, mutants: {mutants}, {how}) in {:.1}s, no \
         crash (seed {seed})",
        seeds.len() as u64 + mutants,
        seeds.len(),
        started.elapsed().as_secs_f64(),
    );
}

pub fn text_mutator(
    tokens: &'static [&'static str],
) -> impl Fn(&mut Rng, &mut Vec<u8>, &[Vec<u8>]) {
    move |rng, data, others| mutate::mutate_bytes(rng, data, tokens, others, 256 << 10)
}

/// Every input saved under `regressions/TARGET/` runs through its target without a panic.
#[test]
fn replay_saved_crashes() {
    type Target = (&'static str, fn(&[u8]));
    let targets: &[Target] = &[
        ("binlog_file", targets::exec_binlog_file),
        ("binlog_stream", targets::exec_binlog_stream),
        ("slowlog", targets::exec_slowlog),
        ("config", targets::exec_config),
        ("keymap", targets::exec_keymap),
        ("theme", targets::exec_theme),
        ("review", targets::exec_review),
        ("sql_split", targets::exec_sql_split),
    ];
    let root = tree("tests/it/fuzz/regressions");
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() {
            continue;
        }
        let exec = targets
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("{}: no fuzz target named {name}", root.display()))
            .1;
        for input in std::fs::read_dir(entry.path()).unwrap().flatten() {
            let data = std::fs::read(input.path()).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| exec(&data)));
            assert!(
                outcome.is_ok(),
                "{} crashes {name} again",
                input.path().display()
            );
        }
    }
}
