# Shared set-up for scripts/demo, scripts/test and scripts/bench: install what is missing.
# Sourced, not run.

ARKC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-$([ -t 1 ] && echo auto || echo never)}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root to run: $*  (install sudo or run as root)"; return 1
    fi
}

# Debian packages arkc needs at run and test time, by the command that proves each is there.
ensure_debian_packages() {
    local missing=()
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
    command -v mariadb >/dev/null || missing+=(mariadb-client)
    command -v mariadb-dump >/dev/null || missing+=(mariadb-client) # deploy instance --replica-of seeds with it
    command -v pt-query-digest >/dev/null || missing+=(percona-toolkit)
    command -v pt-heartbeat >/dev/null || missing+=(percona-toolkit) # the Replication view's heartbeat test
    command -v tmux >/dev/null || missing+=(tmux)
    command -v mydumper >/dev/null || missing+=(mydumper)
    command -v mariadb-backup >/dev/null || missing+=(mariadb-backup)
    command -v zstd >/dev/null || missing+=(zstd)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v openssl >/dev/null || missing+=(openssl)
    # scripts/package and its test: man pages (man -w), dpkg-deb, strip.
    command -v man >/dev/null || missing+=(man-db)
    command -v dpkg-deb >/dev/null || missing+=(dpkg)
    command -v strip >/dev/null || missing+=(binutils)
    # tests/completions.rs checks the zsh and fish scripts in the real shells.
    command -v zsh >/dev/null || missing+=(zsh)
    command -v fish >/dev/null || missing+=(fish)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # The Debian package may start its own server; arkc never uses it, its sandboxes run on their own ports.
    export PATH="$PATH:/usr/sbin"
}

ensure_rust() {
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || { say "cargo not found: install Rust (rustup) first"; return 1; }
}
