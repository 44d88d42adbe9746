# scripts/bench prometheus-fleet [--instances N] [--runs R] [--debug]
#
# One refresh of a fleet read from a real Prometheus: `arkc health --once --format json` with a
# single [[prometheus]] source, timed with /usr/bin/time (arkc's CPU = user + sys, process start
# included). The fleet is N instances (default 1000) of mysqld_exporter series (the names and
# labels arkc queries, half of them replicas) written as OpenMetrics, turned into TSDB blocks by
# `promtool tsdb create-blocks-from openmetrics`, and served by the Debian `prometheus` on a free
# port: real PromQL evaluation over 1,000 series per figure, without 1,000 live exporters.
# Samples every 15 s from 3 minutes ago to 12 minutes ahead, so `rate(...[1m])` has an answer
# whenever the runs happen. Release build unless --debug.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ARKC_ROOT"

instances=1000 runs=3 profile=release
while [ $# -gt 0 ]; do
    case "$1" in
        --instances) instances="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --debug) profile=debug; shift ;;
        *) say "unknown argument $1 (use --instances N, --runs R, --debug)"; exit 2 ;;
    esac
done

ensure_debian_packages
ensure_rust
target="${CARGO_TARGET_DIR:-$ARKC_ROOT/target}"
if [ "$profile" = release ]; then
    say "building arkc (release)"
    cargo build --release --locked --bin arkc
else
    cargo build --locked --bin arkc
fi
arkc="$target/$profile/arkc"

work="$(mktemp -d)"
prom_pid=""
cleanup() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

say "writing $instances instances of mysqld_exporter series (OpenMetrics)"
now=$(date +%s)
awk -v n="$instances" -v now="$now" '
function series(name, labels, kind,    i, t, v, base) {
    printf "# TYPE %s gauge\n", name
    for (i = 1; i <= n; i++) {
        if (kind == "replica" && i % 2) continue
        for (t = now - 180; t <= now + 720; t += 15) {
            base = t - (now - 180)
            if (kind == "counter") v = i * 1000 + base * (i % 50 + 1)
            else if (kind == "const") v = labels == "" ? 1 : 1
            else if (kind == "replica") v = (i % 10 == 0) ? 30 : 0
            else v = i % 40 + 1
            printf "%s{job=\"mysql\",instance=\"db-%04d\"%s} %s %d\n", name, i, labels, v, t
        }
    }
}
BEGIN {
    series("up", "", "const")
    series("mysql_up", "", "const")
    series("mysql_global_status_queries", "", "counter")
    series("mysql_global_status_commands_total", ",command=\"commit\"", "counter")
    series("mysql_global_status_threads_connected", "", "gauge")
    series("mysql_global_status_threads_running", "", "gauge")
    series("mysql_global_variables_max_connections", "", "gauge")
    series("mysql_global_status_uptime", "", "counter")
    series("mysql_global_status_innodb_buffer_pool_reads", "", "counter")
    series("mysql_global_status_innodb_buffer_pool_read_requests", "", "counter")
    series("mysql_global_status_buffer_pool_dirty_pages", "", "gauge")
    series("mysql_global_status_buffer_pool_pages", ",state=\"data\"", "counter")
    series("mysql_global_variables_innodb_buffer_pool_size", "", "gauge")
    series("mysql_slave_status_seconds_behind_master", "", "replica")
    series("mysql_slave_status_slave_io_running", "", "const")
    series("mysql_slave_status_slave_sql_running", "", "const")
    series("mysql_version_info", ",version=\"10.11.19-MariaDB\"", "const")
    print "# EOF"
}' > "$work/fleet.om"
say "$(wc -l < "$work/fleet.om") samples; building TSDB blocks with promtool"
mkdir -p "$work/tsdb"
promtool tsdb create-blocks-from openmetrics -q "$work/fleet.om" "$work/tsdb" >/dev/null
rm -f "$work/fleet.om"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $(( 20000 + RANDOM % 20000 )))
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" > "$work/prometheus.log" 2>&1 &
prom_pid=$!
deadline=$(( $(date +%s) + 120 ))
until curl -fsS "http://127.0.0.1:$port/api/v1/query" --data-urlencode 'query=count(mysql_up{job="mysql"})' 2>/dev/null \
        | grep -q "\"$instances\""; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        say "Prometheus did not serve $instances mysql_up series within 120 s:"
        tail -20 "$work/prometheus.log" >&2
        exit 1
    fi
    sleep 0.5
done

cat > "$work/config.toml" <<EOF
[[prometheus]]
name = "fleet"
url = "http://127.0.0.1:$port"
selector = '{job="mysql"}'
EOF

say "arkc health --once over $instances instances from Prometheus ($profile build, $runs runs)"
printf '%-5s %9s %9s %9s %6s %6s %9s\n' RUN WALL_S CPU_S RSS_MB ROWS UP WITH_QPS
for r in $(seq "$runs"); do
    /usr/bin/time -v -o "$work/time" "$arkc" --config "$work/config.toml" health --once --format json \
        > "$work/out.json" 2> "$work/err" || true
    read -r wall cpu rss < <(awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        /User time \(seconds\)/ || /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.2f %.2f %.1f\n", wall, cpu, rss / 1024 }' "$work/time")
    rows=$(grep -c '"instance"' "$work/out.json" || true)
    up=$(grep -c '"status": "up"' "$work/out.json" || true)
    qps=$(grep -c '"qps": [0-9]' "$work/out.json" || true)
    printf '%-5s %9s %9s %9s %6s %6s %9s\n' "$r" "$wall" "$cpu" "$rss" "$rows" "$up" "$qps"
done
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
