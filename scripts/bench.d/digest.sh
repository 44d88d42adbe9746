# scripts/bench digest [--mb N] [--replicate K] [--seed S] [--runs R]
#
# Times `arkc digest` (release build) against `pt-query-digest` on the same slow log, in one
# run: MB/s, peak RSS (/usr/bin/time -v) and the speed ratio. The log is written by a sandbox
# MariaDB with long_query_time=0 running the seeded workload of tests/it/support/workload.rs
# (examples/slowlog_workload.rs). It is generated in full by default (about 3 minutes for
# 200 MB); with --replicate K, 1/K of it is generated and the file is concatenated K times.
# The log is cached in target/bench/ and reused when the parameters match. Each tool runs R
# times (default 3) on the shared machine and its fastest run is reported.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ARKC_ROOT"

mb=200 replicate=1 seed=42 runs=3
while [ $# -gt 0 ]; do
    case "$1" in
        --mb) mb="$2"; shift 2 ;;
        --replicate) replicate="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        *) say "unknown argument $1 (use --mb N, --replicate K, --seed S, --runs R)"; exit 2 ;;
    esac
done

ensure_debian_packages
ensure_rust
say "building arkc and the workload generator (release)"
cargo build --release --locked --bin arkc --example slowlog_workload
target="${CARGO_TARGET_DIR:-$ARKC_ROOT/target}"
arkc="$target/release/arkc"

out="$target/bench"
mkdir -p "$out"
log="$out/digest-slow-${mb}mb-seed${seed}-x${replicate}.log"
# About 0.6 KB of MariaDB slow log (query_plan,explain verbosity) per statement, plus margin.
statements=$(( mb * 1800 / replicate + 2000 ))
if [ ! -s "$log" ]; then
    part="$log.part"
    say "generating a slow log: $statements statements through a sandbox MariaDB (seed $seed)"
    "$target/release/examples/slowlog_workload" --statements "$statements" --seed "$seed" --out "$part"
    : > "$log.tmp"
    for _ in $(seq "$replicate"); do cat "$part" >> "$log.tmp"; done
    rm -f "$part"
    mv "$log.tmp" "$log"
fi
bytes=$(stat -c %s "$log")
size_mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
how=$([ "$replicate" = 1 ] && echo "generated in full" || echo "generated 1/$replicate, concatenated $replicate times")
say "slow log: $log ($size_mb MB, $how)"
[ "$bytes" -ge $(( mb * 1000000 )) ] || say "warning: the log is smaller than $mb MB"

# run NAME OUTPUT CMD...: prints "wall_seconds cpu_seconds max_rss_kb" of one run
run() {
    local name="$1" output="$2"; shift 2
    local timing="$out/digest-$name.time"
    /usr/bin/time -v -o "$timing" "$@" > "$output" 2> "$out/digest-$name.stderr"
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        /User time \(seconds\)/ || /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { print wall, cpu, rss }' "$timing"
}

# best NAME OUTPUT CMD...: the fastest of $runs runs
best() {
    for _ in $(seq "$runs"); do run "$@"; done | sort -n | head -1
}

say "timing arkc digest ($runs runs)"
read -r arkc_s arkc_cpu arkc_rss < <(best arkc "$out/digest-arkc.json" "$arkc" digest --format json --limit 0 "$log")
say "timing pt-query-digest ($runs runs, this takes a while)"
read -r pt_s pt_cpu pt_rss < <(best pt "$out/digest-pt.json" pt-query-digest --output json --limit 1000000 --order-by pos_in_log:cnt --no-version-check "$log")

report="$out/digest.txt"
awk -v mb="$size_mb" -v as="$arkc_s" -v ac="$arkc_cpu" -v ar="$arkc_rss" -v ps="$pt_s" -v pc="$pt_cpu" -v pr="$pt_rss" \
    -v how="$how" -v runs="$runs" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" -v cpus="$(nproc)" '
function nz(x) { return x > 0 ? x : 0.001 }
BEGIN {
    printf "slow log: %s MB (%s), %d CPUs, load average %s, fastest of %d runs each\n", mb, how, cpus, la, runs
    printf "%-16s %9s %10s %9s %12s %12s\n", "tool", "wall s", "MB/s", "CPU s", "MB/CPU-s", "peak RSS MB"
    printf "%-16s %9.2f %10.1f %9.2f %12.1f %12.1f\n", "arkc digest", as, mb / nz(as), ac, mb / nz(ac), ar / 1024
    printf "%-16s %9.2f %10.1f %9.2f %12.1f %12.1f\n", "pt-query-digest", ps, mb / nz(ps), pc, mb / nz(pc), pr / 1024
    printf "speed ratio: %.1fx pt-query-digest by wall clock, %.1fx by CPU time (goal: 30x)\n", ps / nz(as), pc / nz(ac)
}' | tee "$report"

if command -v python3 >/dev/null; then
    python3 - "$out/digest-arkc.json" "$out/digest-pt.json" <<'PY' | tee -a "$report"
import json, sys
ours = {c["query_id"]: c["count"] for c in json.load(open(sys.argv[1]))}
raw = open(sys.argv[2], "rb").read()
theirs = {c["checksum"]: int(c["query_count"]) for c in json.loads(raw[raw.find(b"{"):])["classes"]} if b"{" in raw else {}
ids = set(ours) | set(theirs)
same = sum(1 for i in ids if ours.get(i) == theirs.get(i))
print(f"classes: arkc {len(ours)}, pt-query-digest {len(theirs)}; same ID and count: {same}/{len(ids)}")
PY
fi
say "report written to $report"
