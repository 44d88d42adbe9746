# scripts/bench flashback [SIZE_MB] [SEED]: build a ROW binlog of at least SIZE_MB (default 200)
# with a seeded mixed workload on a throwaway mariadbd, then time `arkc flashback` and
# `mariadb-binlog --flashback` on the same file and print MB/s, peak RSS and the ratio;
# then `arkc flashback` over its own replication client on the same binlog.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ARKC_ROOT"
ensure_debian_packages
ensure_rust
size_mb="${1:-200}"
seed="${2:-42}"
target="${CARGO_TARGET_DIR:-$ARKC_ROOT/target}"
work="$(mktemp -d /tmp/arkc-bench-flashback.XXXXXX)"
pidfile="$work/mariadbd.pid"
cleanup() {
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$work"
}
trap cleanup EXIT
say "building arkc (release)"
cargo build --release --locked --bin arkc >&2
# A private copy: a shared CARGO_TARGET_DIR may be rebuilt by another checkout meanwhile.
cp "$target/release/arkc" "$work/arkc"

say "starting a throwaway mariadbd in $work"
mariadb-install-db --no-defaults --datadir="$work/data" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$work/install.log" 2>&1
mariadbd --no-defaults --user="$(id -un)" --datadir="$work/data" --socket="$work/sock" \
    --pid-file="$pidfile" --skip-networking --tmpdir="$work" --server-id=1 \
    --log-bin="$work/data/bin" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-row-metadata=FULL --max-binlog-size=1073741824 \
    --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 >"$work/err.log" 2>&1 &
db() { mariadb --no-defaults -S "$work/sock" -uroot "$@"; }
for _ in $(seq 1 60); do db -e "select 1" >/dev/null 2>&1 && break; sleep 0.5; done

say "building a ${size_mb} MB binlog (seed $seed)"
db -e "create database bench; create table bench.orders (id bigint primary key auto_increment,
  customer int not null, status enum('new','paid','shipped','cancelled') not null,
  amount decimal(12,2), note varchar(200), created datetime(6), payload json) default charset=utf8mb4;
  create table bench.events (k varchar(40), v double, at timestamp(3) null) default charset=utf8mb4;
  flush binary logs;"
round=0
binlog="$work/data/$(db -N -e "show master status" | cut -f1)"
while [ "$(stat -c %s "$binlog")" -lt $((size_mb * 1024 * 1024)) ]; do
    round=$((round + 1))
    {
        for t in $(seq 1 20); do
            s=$((seed * 100000 + round * 100 + t))
            echo "begin;
insert into bench.orders (customer, status, amount, note, created, payload)
  select floor(rand($s)*10000), 1 + floor(rand()*4), round(rand()*1000, 2),
    concat('note ', seq, ' é ', md5(seq + $s)), now(6) - interval seq second,
    json_object('seq', seq, 'tags', json_array('a', 'b'))
  from seq_1_to_500;
insert into bench.events select concat('k', seq), rand($s), now(3) from seq_1_to_200;
select max(id) into @top from bench.orders;
update bench.orders set status = 'paid', amount = amount + 1 where id > @top - 5000 and id % 50 = $((t % 50));
delete from bench.events where v < 0.1 limit 50;
commit;"
        done
    } | db -D bench
done
size=$(stat -c %s "$binlog")
say "binlog $binlog: $((size / 1048576)) MiB after $round rounds"

measure() { # label, output file, command...
    local label="$1" out="$2"; shift 2
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$out" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
    read -r secs rss_kb <"$work/time"
    awk -v l="$label" -v s="$secs" -v r="$rss_kb" -v b="$size" \
        'BEGIN { printf "%-28s %7.2f s %8.1f MiB/s  peak RSS %7.1f MiB\n", l, s, b/1048576/s, r/1024 }'
    echo "$secs $rss_kb" >"$work/$label.result"
}
echo "flashback of a $((size / 1048576)) MiB ROW binlog (2 cores: $(nproc) cpus here)"
measure arkc "$work/arkc.sql" "$work/arkc" flashback "$binlog"
measure mariadb-binlog "$work/mariadb.sql" mariadb-binlog --flashback "$binlog"
# The same binlog through arkc's replication client (Unix socket), output compared byte for byte.
measure arkc-stream "$work/arkc-stream.sql" "$work/arkc" flashback \
    --url "mysql://root@localhost/?socket=$work/sock" --start-file "$(basename "$binlog")"
# Only the file run lacks the server, hence its "-- note:" about generated columns.
if cmp -s <(grep -v '^-- note:' "$work/arkc.sql") <(grep -v '^-- note:' "$work/arkc-stream.sql"); then
    echo "stream output: identical to the file's"
else
    echo "stream output: DIFFERS from the file's" >&2
fi
read -r a_s a_rss <"$work/arkc.result"
read -r m_s m_rss <"$work/mariadb-binlog.result"
awk -v a="$a_s" -v m="$m_s" 'BEGIN { printf "speed ratio arkc / mariadb-binlog: %.2fx\n", m/a }'
echo "output: arkc $(stat -c %s "$work/arkc.sql") bytes of SQL, mariadb-binlog $(stat -c %s "$work/mariadb.sql") bytes"
