# scripts/postgres.sh: find or start a PostgreSQL server for the tests' PostgreSQL pass.
# shellcheck shell=bash
#
# A library: source it from another script (test.sh), don't run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"
#   postgres_ensure                         # exports MYBB_SYNC_TEST_PG_URL and POSTGRES_KIND
#
# postgres_ensure exports MYBB_SYNC_TEST_PG_URL, a server URL without a database such as
# postgres://postgres@127.0.0.1:54321, from the first of these that works:
#   1. MYBB_SYNC_TEST_PG_URL, if already set (used as it is: a server where tests may create
#      and drop databases).
#   2. A throwaway cluster: initdb into a `mktemp -d` directory, `postgres` on a free port with
#      trust for local connections and fsync off (nothing of it outlives the run), stopped and
#      removed by postgres_stop, which the caller's EXIT trap must call. Never the machine's own
#      server: the tests create and drop databases.
#   3. With no server programs (/usr/lib/postgresql/*/bin): on CI (CI=true) as root with
#      apt-get, install Debian's `postgresql` (without its default cluster), then do 2;
#      otherwise fail saying what to install.
# The tests of tests/postgres.rs make clusters of their own from the same programs.
# POSTGRES_KIND tells the caller which one it got: given or throwaway.

_postgres_me=${0##*/}
_postgres_dir=''
_postgres_pid=''

_postgres_say() {
    printf '%s: %s\n' "$_postgres_me" "$*" >&2
}

# Prints the newest PostgreSQL's program directory; returns 1 if there is none.
postgres_bin() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/postgres && -x $dir/initdb ]] || return 1
    printf '%s\n' "$dir"
}

# The prefix that runs a program of the cluster as its owner: the `postgres` user when we are
# root (initdb refuses root), else nothing. setpriv execs the program: its pid is the server's.
_postgres_owner=()
if [[ $(id -u) == 0 ]]; then
    _postgres_owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

# Installs Debian's PostgreSQL server with apt-get, on CI as root only, without the default
# cluster its package would make and start.
_postgres_install() {
    if [[ ${CI:-} == true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        _postgres_say "no PostgreSQL server programs found; installing postgresql with apt-get (CI)"
        mkdir -p /etc/postgresql-common
        echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade postgresql; } >&2; then
            _postgres_say "apt-get install postgresql failed"
            return 1
        fi
        return 0
    fi
    _postgres_say "no PostgreSQL server programs in /usr/lib/postgresql/*/bin: install them"
    _postgres_say "(apt-get install postgresql) or set MYBB_SYNC_TEST_PG_URL to a server where"
    _postgres_say "tests may create and drop databases"
    return 1
}

# Stops the throwaway cluster, if this script started one, and removes its directory.
postgres_stop() {
    if [[ -n $_postgres_pid ]]; then
        kill -INT "$_postgres_pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$_postgres_pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        kill -KILL "$_postgres_pid" 2>/dev/null || true
        _postgres_pid=''
    fi
    if [[ -n $_postgres_dir ]]; then
        rm -rf "$_postgres_dir"
        _postgres_dir=''
    fi
}

# Finds or starts the server; see the top of this file.
postgres_ensure() {
    if [[ -n ${MYBB_SYNC_TEST_PG_URL:-} ]]; then
        export POSTGRES_KIND=given
        return 0
    fi
    local bin
    if ! bin=$(postgres_bin); then
        _postgres_install || return 1
        bin=$(postgres_bin) || {
            _postgres_say "postgresql installed, but no server programs in /usr/lib/postgresql/*/bin"
            return 1
        }
    fi
    _postgres_dir=$(mktemp -d /tmp/mybb-sync-pg.XXXXXX)
    chmod 755 "$_postgres_dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$_postgres_dir"
    if ! "${_postgres_owner[@]}" "$bin/initdb" -D "$_postgres_dir/data" -U postgres -E UTF8 \
        --locale=C --auth=trust --no-sync >"$_postgres_dir/initdb.log" 2>&1; then
        _postgres_say "initdb failed:"
        cat "$_postgres_dir/initdb.log" >&2
        return 1
    fi
    local port attempt
    for attempt in 1 2 3 4 5; do
        port=$((54320 + RANDOM % 1000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        "${_postgres_owner[@]}" "$bin/postgres" -D "$_postgres_dir/data" -p "$port" \
            -c listen_addresses=127.0.0.1 -c "unix_socket_directories=$_postgres_dir" \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=100 </dev/null >"$_postgres_dir/server.log" 2>&1 &
        _postgres_pid=$!
        local deadline=$((SECONDS + 60))
        while ((SECONDS < deadline)) && kill -0 "$_postgres_pid" 2>/dev/null; do
            if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
                export MYBB_SYNC_TEST_PG_URL="postgres://postgres@127.0.0.1:$port"
                export POSTGRES_KIND=throwaway
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$_postgres_pid" 2>/dev/null; then
            _postgres_say "the throwaway postgres did not accept connections within 60 s:"
            cat "$_postgres_dir/server.log" >&2
            return 1
        fi
        grep -q "could not bind" "$_postgres_dir/server.log" || break
    done
    _postgres_say "the throwaway postgres exited (attempt $attempt):"
    cat "$_postgres_dir/server.log" >&2
    return 1
}
