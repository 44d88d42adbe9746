# scripts/bench flashback-apply [SIZE_MB] [RUNS] [SEED]: time to restore. On a throwaway
# mariadbd, seed tables, then write a ROW binlog of at least SIZE_MB (default 100) of mixed
# updates, deletes and inserts (the incident, alone in its binlog file). Then, RUNS times each
# (default 3), alternately: `arkc flashback --execute --apply-connections N FILE` (N from ARKC_APPLY_CONNECTIONS,
# default 4) and the peer's whole pipeline
# `mariadb-binlog --flashback FILE | mariadb`, each timed end to end (generate + apply) with
# its peak RSS; after each restore the checksums must be the pre-incident ones, then the
# incident is re-forwarded (`mariadb-binlog FILE | mariadb`, not timed) and the checksums must
# be the post-incident ones again. Prints medians and the ratio peer / arkc, and for each run
# the CPU seconds of the client side (arkc, or mariadb-binlog and mariadb) and of mariadbd.
# Every timed run starts once mariadbd is idle (see `settle`).
# `arkc flashback --execute` sends a MariaDB rollback as row events (BINLOG statements) when
# the account may; its stderr line saying which path ran is printed once.
# ARKC_BENCH_NO_BUILD=1 measures the release binary already built (a loaded host can spend
# many minutes building).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ARKC_ROOT"
ensure_debian_packages
ensure_rust
size_mb="${1:-100}"
runs="${2:-3}"
seed="${3:-42}"
target="${CARGO_TARGET_DIR:-$ARKC_ROOT/target}"
work="$(mktemp -d /tmp/arkc-bench-fbapply.XXXXXX)"
pidfile="$work/mariadbd.pid"
cleanup() {
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${ARKC_BENCH_NO_BUILD:-}" ]; then
    say "building arkc (release)"
    cargo build --release --locked --bin arkc >&2
fi
cp "$target/release/arkc" "$work/arkc"

say "starting a throwaway mariadbd in $work"
mariadb-install-db --no-defaults --datadir="$work/data" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$work/install.log" 2>&1
mariadbd --no-defaults --user="$(id -un)" --datadir="$work/data" --socket="$work/sock" \
    --pid-file="$pidfile" --skip-networking --tmpdir="$work" --server-id=1 \
    --log-bin="$work/data/bin" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-row-metadata=FULL --max-binlog-size=1073741824 --max-allowed-packet=64M \
    --innodb-buffer-pool-size=512M \
    --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 >"$work/err.log" 2>&1 &
db() { mariadb --no-defaults -S "$work/sock" -uroot "$@"; }
for _ in $(seq 1 60); do db -e "select 1" >/dev/null 2>&1 && break; sleep 0.5; done

say "seeding (not in the measured binlog)"
db -e "create database bench;
  create table bench.orders (id bigint primary key, customer int not null,
    status enum('new','paid','shipped','cancelled') not null, amount decimal(12,2),
    note varchar(200), created datetime(6), payload json) default charset=utf8mb4;
  create table bench.items (order_id bigint, line int, sku varchar(40), qty int, price double,
    primary key (order_id, line)) default charset=utf8mb4;
  insert into bench.orders select seq, seq % 10000, 1 + seq % 4, seq / 7,
    concat('note ', seq, ' é ', md5(seq)), '2026-01-01' + interval seq second,
    json_object('seq', seq, 'tags', json_array('a', 'b')) from bench.seq_1_to_300000;
  insert into bench.items select o.seq, l.seq, concat('sku-', o.seq % 977), l.seq, o.seq / 13
    from bench.seq_1_to_100000 o, bench.seq_1_to_3 l;"
checksums() { db -N -e "checksum table bench.orders, bench.items extended" | cut -f2 | paste -sd' '; }
before="$(checksums)"
db -e "flush binary logs"
binlog="$work/data/$(db -N -e "show master status" | cut -f1)"

say "writing the incident: a ${size_mb} MB binlog (seed $seed)"
round=0
while [ "$(stat -c %s "$binlog")" -lt $((size_mb * 1024 * 1024)) ]; do
    round=$((round + 1))
    {
        for t in $(seq 1 20); do
            s=$((seed * 100000 + round * 100 + t))
            lo=$(( (s * 7919) % 290000 + 1 ))
            next_id=$(( 1000000 + (round * 20 + t) * 1000 ))
            echo "begin;
update bench.orders set status = 'cancelled', amount = amount * 2, note = concat(note, ' x')
  where id between $lo and $lo + 199;
delete from bench.items where order_id between $lo and $lo + 29;
insert into bench.orders select $next_id + seq, $s % 10000, 'new', seq, concat('late ', seq),
  '2026-02-01' + interval seq second, json_object('r', $round) from seq_1_to_100;
update bench.items set qty = qty + 1 where order_id between $lo + 100 and $lo + 149;
commit;"
        done
    } | db -D bench
done
db -e "flush binary logs"
after="$(checksums)"
size=$(stat -c %s "$binlog")
txns=$(( round * 20 ))
say "incident: $(basename "$binlog"), $((size / 1048576)) MiB, $txns transactions"
[ "$before" != "$after" ] || { echo "the incident changed nothing" >&2; exit 1; }

export XDG_DATA_HOME="$work/xdg"
url="mysql://root@localhost/?socket=$work/sock"
server_cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$(cat "$pidfile")/stat"; }
# Each timed run starts on an idle server: the work the run before it left behind (InnoDB
# purging the old row versions of the re-forward) is charged to neither side. Waits until
# mariadbd used at most one clock tick in half a second, for two minutes at most (said if not).
settle() {
    local a b
    for _ in $(seq 1 240); do
        a=$(awk '{ print $14 + $15 }' "/proc/$(cat "$pidfile")/stat")
        sleep 0.5
        b=$(awk '{ print $14 + $15 }' "/proc/$(cat "$pidfile")/stat")
        [ $((b - a)) -le 1 ] && return 0
    done
    echo "note: mariadbd was still busy after two minutes; this run shares the CPU with it" >&2
}
timed() { # label, command string (run by sh -c)
    local cpu0 cpu1
    settle
    cpu0=$(server_cpu)
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" sh -c "$2" >"$work/out" 2>"$work/stderr" \
        || { cat "$work/stderr" >&2; return 1; }
    cpu1=$(server_cpu)
    read -r secs rss_kb user sys <"$work/time"
    awk -v l="$1" -v s="$secs" -v r="$rss_kb" -v u="$user" -v y="$sys" -v a="$cpu0" -v b="$cpu1" \
        'BEGIN { printf "%-6s %7.2f s  peak RSS %7.1f MiB  cpu: client %5.2f s, mariadbd %5.2f s\n", l, s, r / 1024, u + y, b - a }'
    echo "$secs $rss_kb" >>"$work/$1.results"
    if [ "$1" = arkc ] && [ ! -f "$work/path.said" ]; then
        grep -h "^applying as" "$work/stderr" >&2 && touch "$work/path.said" || true
    fi
}
expect() { # what, wanted checksums
    local got; got="$(checksums)"
    [ "$got" = "$2" ] || { echo "checksums after $1 DIFFER: $got, wanted $2" >&2; exit 1; }
}
reforward() { mariadb-binlog --no-defaults "$binlog" | db; expect "re-forward" "$after"; }
# The exact check of every row of the incident, as --check runs it before a rollback.
/usr/bin/time -f "%e %M" -o "$work/time" "$work/arkc" flashback --check --url "$url" "$binlog" \
    >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; exit 1; }
read -r check_s check_rss <"$work/time"
echo "check: $(tail -1 "$work/check.out") in $check_s s, peak RSS $((check_rss / 1024)) MiB"
echo "restore of a $((size / 1048576)) MiB ROW binlog ($txns transactions), $runs runs each, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$runs"); do
    timed arkc "'$work/arkc' flashback --execute --yes --apply-connections ${ARKC_APPLY_CONNECTIONS:-4} --url '$url' '$binlog'"
    expect "arkc flashback --execute" "$before"
    reforward
    timed peer "mariadb-binlog --no-defaults --flashback '$binlog' | mariadb --no-defaults -S '$work/sock' -uroot"
    expect "mariadb-binlog --flashback | mariadb" "$before"
    reforward
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(cut -d' ' -f1 "$work/arkc.results" | median)
p=$(cut -d' ' -f1 "$work/peer.results" | median)
a_rss=$(cut -d' ' -f2 "$work/arkc.results" | sort -n | tail -1)
echo "checksums: restored and re-forwarded exactly after every run"
awk -v a="$a" -v p="$p" -v r="$a_rss" 'BEGIN { printf "median time to restore: arkc %.2f s, mariadb-binlog --flashback | mariadb %.2f s; ratio %.2fx (peer / arkc); arkc peak RSS %.1f MiB\n", a, p, p / a, r / 1024 }'
