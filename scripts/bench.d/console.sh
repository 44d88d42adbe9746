# scripts/bench console [SERVERS] [SECONDS]: SERVERS sandbox MariaDB servers (default 10, small
# memory settings) and 1,000 instance entries spread over them, polled every second by the
# console running under tmux; then the same for 100 entries, and idle CPU with 2 entries.
# Prints, for each: share of instances reported up (the console's summary line, and
# `arkc health --once`), key-to-redraw latency (arkc's own, from taking the key to the frame
# written, and as seen through tmux), frame render time (median, p99), arkc's CPU (% of one core
# over SECONDS, default 30) and peak RSS; per health poll: arkc CPU (µs) and statements the
# servers received (from their Questions and Com_show_status counters), the servers' connections
# and CPU. Starts and ends with the machine and its load (figures taken under load from other
# work are worth less: judge CPU per poll and per frame then, not wall-clock latencies).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
die() { echo "bench console: $*" >&2; exit 1; }
cd "$ARKC_ROOT"
ensure_debian_packages
ensure_rust
servers="${1:-10}"
seconds="${2:-30}"
target="${CARGO_TARGET_DIR:-$ARKC_ROOT/target}"
work="$(mktemp -d /tmp/arkc-bench-console.XXXXXX)"
sock="arkc-bench-$$"
fleet_pid=""
cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    exec 3>&- 2>/dev/null || true
    if [ -n "$fleet_pid" ]; then wait "$fleet_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# ARKC_BENCH_PROFILE=dev measures the debug build (quicker to build, slower to run);
# ARKC_BENCH_NO_BUILD=1 measures the binaries already built for that profile (a loaded host can
# take most of an hour for a release build).
profile="${ARKC_BENCH_PROFILE:-release}"
build() { if [ -z "${ARKC_BENCH_NO_BUILD:-}" ]; then cargo build "$@" >&2; fi; }
say "building arkc and the sandbox starter ($profile)"
case "$profile" in
    release) build --release --locked --bin arkc --example fleet_sandboxes; out="$target/release" ;;
    dev) build --locked --bin arkc --example fleet_sandboxes; out="$target/debug" ;;
    *) die "ARKC_BENCH_PROFILE must be release or dev" ;;
esac
[ -x "$out/arkc" ] && [ -x "$out/examples/fleet_sandboxes" ] || die "no $profile build in $out"
# Private copies: a shared CARGO_TARGET_DIR may be rebuilt by another checkout meanwhile.
cp "$out/arkc" "$work/arkc"
cp "$out/examples/fleet_sandboxes" "$work/fleet_sandboxes"

say "starting $servers sandbox servers"
mkfifo "$work/hold"
"$work/fleet_sandboxes" --servers "$servers" --dir "$work" --entries 1000,100,2 \
    <"$work/hold" >"$work/fleet.out" 2>"$work/fleet.err" &
fleet_pid=$!
exec 3>"$work/hold" # the servers run while this stays open
for _ in $(seq 1 600); do grep -q '^ready' "$work/fleet.out" 2>/dev/null && break; sleep 0.5; done
grep -q '^ready' "$work/fleet.out" || { cat "$work/fleet.err" >&2; die "sandboxes did not start"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
server_pids=$(sed -n 's/^pids //p' "$work/fleet.out")
servers_cpu_ticks() { local t=0 p; for p in $server_pids; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
# Sum over the servers of Questions, Com_show_status (one per health poll) and Threads_connected.
server_counters() {
    local port
    for port in $(sed -n 's/^port = //p' "$1" | sort -u); do
        mariadb --protocol=tcp -h 127.0.0.1 -P "$port" -u root -N -B -e \
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_show_status', 'Threads_connected')"
    done | awk '{ v[$1] += $2 } END { print v["Questions"] + 0, v["Com_show_status"] + 0, v["Threads_connected"] + 0 }'
}
machine() {
    echo "machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
}
percentile() { # p (0-100), reads numbers on stdin
    sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
        i = int((NR - 1) * p / 100 + 0.5) + 1; print v[i] }'
}
screen() { tmux -L "$sock" capture-pane -p -t bench; }
now_ns() { date +%s%N; }

# One console run: config, label, number of timed key presses.
run_console() {
    local config="$1" label="$2" presses="$3" entries
    entries=$(grep -c '^\[\[instance\]\]' "$config")
    mkdir -p "$work/state-$label"
    tmux -L "$sock" new-session -d -s bench -x 120 -y 40 \
        "XDG_STATE_HOME=$work/state-$label ARKC_FRAME_LOG=$work/frames-$label $work/arkc --config $config"
    local pid=""
    for _ in $(seq 1 100); do
        pid=$(pgrep -f "^$work/arkc --config $config" | head -1 || true)
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || die "arkc did not start"
    # Warm up: every entry polled at least once (no "waiting" left), at most 60 s.
    for _ in $(seq 1 120); do
        screen | grep -q ' up · ' && ! screen | grep -q ' waiting' && break
        sleep 0.5
    done
    sleep 3
    local t0 c0 t1 c1 hz
    hz=$(getconf CLK_TCK)
    local q0 p0 q1 p1 conns s0 s1 load0
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    read -r q0 p0 _ <<<"$(server_counters "$config")"
    s0=$(servers_cpu_ticks)
    t0=$(now_ns); c0=$(cpu_ticks "$pid")
    # Keys during the CPU window: presses of `j`, each timed until the selected instance
    # (top right of the screen) changes in tmux.
    tmux -L "$sock" send-keys -t bench g
    sleep 1
    : >"$work/tmux-$label"
    for _ in $(seq 1 "$presses"); do
        local before after start
        before=$(screen | head -1)
        start=$(now_ns)
        tmux -L "$sock" send-keys -t bench j
        for _ in $(seq 1 500); do
            after=$(screen | head -1)
            [ "$after" != "$before" ] && break
        done
        echo $((($(now_ns) - start) / 1000)) >>"$work/tmux-$label"
        sleep 0.3
    done
    local rest=$((seconds - ($(now_ns) - t0) / 1000000000))
    [ "$rest" -gt 0 ] && sleep "$rest"
    t1=$(now_ns); c1=$(cpu_ticks "$pid")
    s1=$(servers_cpu_ticks)
    read -r q1 p1 conns <<<"$(server_counters "$config")"
    local rss summary up slow down
    rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
    summary=$(screen | grep -o '[0-9]* up · [0-9]* slow · [0-9]* down' | head -1)
    read -r up slow down <<<"$(echo "$summary" | awk '{ print $1, $4, $7 }')"
    # arkc's own queueing, if its polls could not keep the interval (said in the summary line).
    local pace
    pace=$(screen | grep -o 'arkc behind [0-9.]* s: [0-9/]* polls queued' | head -1 || true)
    tmux -L "$sock" send-keys -t bench q
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    tmux -L "$sock" kill-server 2>/dev/null || true

    local cpu key_med key_p99 frame_med frame_p99 tmux_med tmux_p99
    cpu=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" \
        'BEGIN { printf "%.1f", 100 * c / hz / (ns / 1e9) }')
    key_med=$(awk '$1 == "key" { print $3 / 1000 }' "$work/frames-$label" | percentile 50)
    key_p99=$(awk '$1 == "key" { print $3 / 1000 }' "$work/frames-$label" | percentile 99)
    frame_med=$(awk '{ print $2 / 1000 }' "$work/frames-$label" | percentile 50)
    frame_p99=$(awk '{ print $2 / 1000 }' "$work/frames-$label" | percentile 99)
    tmux_med=$(awk '{ print $1 / 1000 }' "$work/tmux-$label" | percentile 50)
    tmux_p99=$(awk '{ print $1 / 1000 }' "$work/tmux-$label" | percentile 99)
    local frames
    frames=$(wc -l <"$work/frames-$label")
    printf '%-22s %5s entries  up %s/%s (slow %s, down %s); %s\n' "$label" "$entries" \
        "${up:-?}" "$entries" "${slow:-?}" "${down:-?}" "${pace:-polls keep the interval}"
    printf '  key to redraw: arkc %s ms median, %s ms p99; through tmux %s ms median, %s ms p99\n' \
        "$key_med" "$key_p99" "$tmux_med" "$tmux_p99"
    printf '  frame render: %s ms median, %s ms p99 (%s frames)\n' "$frame_med" "$frame_p99" "$frames"
    printf '  arkc CPU: %s %% of one core over %s s; peak RSS %s MiB\n' "$cpu" "$(((t1 - t0) / 1000000000))" \
        "$((rss / 1024))"
    # The counters' own statements (one per server and sample) are left out.
    local nservers polls
    nservers=$(sed -n 's/^port = //p' "$config" | sort -u | wc -l)
    polls=$((p1 - p0 - nservers))
    awk -v polls="$polls" -v q="$((q1 - q0 - 2 * nservers))" -v c="$((c1 - c0))" -v s="$((s1 - s0))" \
        -v hz="$hz" -v ns="$((t1 - t0))" -v conns="$conns" -v n="$nservers" -v load_at_start="$load0" 'BEGIN {
        secs = ns / 1e9
        if (polls <= 0) { print "  per poll: no health polls counted"; exit }
        printf "  per poll: %.2f polls/s, arkc CPU %.0f us/poll, %.2f statements/poll (all arkc statements / health polls)\n",
            polls / secs, 1e6 * c / hz / polls, q / polls
        printf "  servers (%d): %d connections open, mariadbd CPU %.1f %% of one core in all; load at start %s\n",
            n, conns, 100 * s / hz / secs, load_at_start
    }'
}

health_once() { # config: share of "up" in `arkc health --once`
    local config="$1" t0 out
    t0=$(now_ns)
    out=$(XDG_STATE_HOME="$work/state-once" "$work/arkc" --config "$config" health --once --format json || true)
    echo "$out" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
up = sum(1 for r in rows if r["status"] == "up")
print(f"  arkc health --once: {up}/{len(rows)} up ({100 * up / len(rows):.1f} %)", end="")
'
    echo " in $(((($(now_ns) - t0) / 1000000))) ms"
}

echo "console bench ($profile build): $servers sandbox servers, refresh 1 s, ${seconds} s CPU window"
machine
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in 1000 100; do
    run_console "$work/fleet-$n.toml" "console-$n" 40
    health_once "$work/fleet-$n.toml"
done
run_console "$work/fleet-2.toml" "idle-2" 0
machine
echo "load after: $(uptime)"
