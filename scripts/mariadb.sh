# scripts/mariadb.sh: find or start a MariaDB server for tests, demos and benchmarks.
# shellcheck shell=bash
#
# A library: source it from another script (test.sh, demo.sh, bench.sh), don't run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/mariadb.sh"
#   mariadb_ensure                          # exports MYBB_SYNC_TEST_URL and MARIADB_KIND
#   mariadb_client "$MYBB_SYNC_TEST_URL" -e 'SELECT VERSION()'
#
# mariadb_ensure picks the first of these that works and exports MYBB_SYNC_TEST_URL, a server URL
# without a database such as mysql://root@127.0.0.1:3306:
#   1. MYBB_SYNC_TEST_URL, if already set (it must answer; no fallback when it does not).
#   2. The machine's own server at 127.0.0.1:$MYBB_SYNC_LOCAL_PORT (default 3306) as root with
#      an empty password. Skipped when MYBB_SYNC_FORCE_THROWAWAY=1.
#   3. A throwaway mariadbd in a `mktemp -d` directory on a free port from 33060 up (from a
#      random start, so that parallel runs rarely collide), stopped and removed when the calling
#      script exits (an EXIT trap; a caller that needs its own EXIT trap must call mariadb_stop
#      from it).
#   4. With no server binaries: on CI (CI=true) as root with apt-get, install mariadb-server and
#      mariadb-client, then do 3; otherwise fail saying what to install.
# MARIADB_KIND tells the caller which one it got: given, local or throwaway.
#
# Errors go to stderr prefixed with the calling script's name, and make mariadb_ensure return 1
# (which ends a caller running under `set -e`).

# The calling script's name, for messages.
_mariadb_me=${0##*/}

# Where server binaries are looked for besides $PATH (a normal user's PATH lacks the sbin dirs).
# Tests of this library narrow it to simulate a machine without MariaDB.
MARIADB_SEARCH_PATH=${MARIADB_SEARCH_PATH:-$PATH:/usr/sbin:/usr/local/sbin:/usr/libexec:/usr/local/mysql/bin:/usr/local/mysql/libexec}

# State of the throwaway server, if this script started one.
_mariadb_dir=''
_mariadb_pid=''

# Prints a message on stderr, prefixed with the calling script's name.
_mariadb_say() {
    printf '%s: %s\n' "$_mariadb_me" "$*" >&2
}

# Prints the full path of the first of the named programs found in MARIADB_SEARCH_PATH.
# Returns 1 if none is found.
_mariadb_find() {
    local name dir dirs
    IFS=: read -r -a dirs <<<"$MARIADB_SEARCH_PATH"
    for name in "$@"; do
        for dir in "${dirs[@]}"; do
            if [[ -n $dir && -x $dir/$name && ! -d $dir/$name ]]; then
                printf '%s\n' "$dir/$name"
                return 0
            fi
        done
    done
    return 1
}

# Splits a mysql://user[:password]@host[:port][/database][?options] URL into the variables
# mariadb_url_user (default root), mariadb_url_pass, mariadb_url_host, mariadb_url_port (default
# 3306) and mariadb_url_db (empty for a server URL), undoing %XX escapes as the mysql crate does.
# Returns 1 (with a message) if the URL does not have that shape.
mariadb_parse_url() {
    local url=$1
    local re='^mysql://(([^:@/]*)(:([^@/]*))?@)?([^:@/?]+|\[[0-9a-fA-F:]+\])(:([0-9]+))?(/([^?]*))?(\?.*)?$'
    if [[ ! $url =~ $re ]]; then
        _mariadb_say "not a mysql:// URL: $(mariadb_redact "$url") (expected mysql://user[:password]@host[:port][/database])"
        return 1
    fi
    mariadb_url_user=$(_mariadb_unescape "${BASH_REMATCH[2]:-root}")
    mariadb_url_pass=$(_mariadb_unescape "${BASH_REMATCH[4]}")
    mariadb_url_host=${BASH_REMATCH[5]}
    mariadb_url_host=${mariadb_url_host#[}
    mariadb_url_host=${mariadb_url_host%]}
    mariadb_url_port=${BASH_REMATCH[7]:-3306}
    mariadb_url_db=$(_mariadb_unescape "${BASH_REMATCH[9]}")
}

# Prints S with its %XX escapes replaced by the bytes they stand for.
_mariadb_unescape() {
    local s=${1//\\/\\\\}
    printf '%b' "${s//%/\\x}"
}

# Prints a URL with its password, if any, replaced by ***.
mariadb_redact() {
    sed -E 's#^(mysql://[^:@/]*):[^@/]*@#\1:***@#' <<<"$1"
}

# Runs the mariadb (or mysql) client against URL, which names a server and maybe a database,
# over TCP, ignoring option files; the remaining arguments go to the client.
# Fails with a message if no client is installed.
mariadb_client() {
    local url=$1
    shift
    local client
    if ! client=$(_mariadb_find mariadb mysql); then
        _mariadb_say "no MariaDB client (mariadb or mysql) found; install one with: apt-get install mariadb-client"
        return 1
    fi
    mariadb_parse_url "$url" || return 1
    local args=(--no-defaults --protocol=TCP --host="$mariadb_url_host" --port="$mariadb_url_port" --user="$mariadb_url_user")
    if [[ -n $mariadb_url_db ]]; then
        args+=(--database="$mariadb_url_db")
    fi
    # MYSQL_PWD keeps the password off the command line (visible in ps) and out of messages.
    MYSQL_PWD=$mariadb_url_pass "$client" "${args[@]}" "$@"
}

# Returns 0 if and only if a server answers at URL within a few seconds. With a client
# installed, that means logging in and running SELECT 1; without one, only that the TCP port
# accepts connections. Prints the client's complaint on stderr when QUIET is not 1.
_mariadb_answers() {
    local url=$1 quiet=${2:-0}
    mariadb_parse_url "$url" || return 1
    if _mariadb_find mariadb mysql >/dev/null; then
        if [[ $quiet == 1 ]]; then
            mariadb_client "$url" --connect-timeout=5 --batch --skip-column-names -e 'SELECT 1' >/dev/null 2>&1
        else
            mariadb_client "$url" --connect-timeout=5 --batch --skip-column-names -e 'SELECT 1' >/dev/null
        fi
    else
        _mariadb_port_open "$mariadb_url_host" "$mariadb_url_port"
    fi
}

# Returns 0 if and only if something accepts TCP connections at HOST:PORT.
_mariadb_port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Prints the seconds since STARTED (an $EPOCHREALTIME value), to a tenth.
_mariadb_since() {
    local now=$EPOCHREALTIME
    local tenths=$(((${now/./} - ${1/./}) / 100000))
    printf '%d.%d' $((tenths / 10)) $((tenths % 10))
}

# Stops the throwaway server, if this script started one, and removes its directory.
# Safe to call more than once. Waits up to 30 s for a clean shutdown, then kills it.
mariadb_stop() {
    if [[ -n $_mariadb_pid ]]; then
        kill -TERM "$_mariadb_pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$_mariadb_pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if kill -0 "$_mariadb_pid" 2>/dev/null; then
            _mariadb_say "throwaway mariadbd (pid $_mariadb_pid) ignored SIGTERM for 30 s; killing it"
            kill -KILL "$_mariadb_pid" 2>/dev/null || true
        fi
        wait "$_mariadb_pid" 2>/dev/null || true
        _mariadb_pid=''
    fi
    if [[ -n $_mariadb_dir ]]; then
        rm -rf -- "$_mariadb_dir"
        _mariadb_dir=''
    fi
}

# Installs MariaDB's server and client with apt-get. Only on CI, as root: elsewhere installing
# packages is the developer's decision. Returns 1 with a message naming what is missing otherwise.
_mariadb_install() {
    local missing=$1
    if [[ ${CI:-} == true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        _mariadb_say "no $missing found; installing mariadb-server and mariadb-client with apt-get (CI)"
        # --no-upgrade: never upgrade (and so restart) a server that is already installed.
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade mariadb-server mariadb-client; } >&2; then
            _mariadb_say "apt-get install mariadb-server mariadb-client failed"
            return 1
        fi
        # The packages install into the standard directories, whatever MARIADB_SEARCH_PATH said.
        MARIADB_SEARCH_PATH=$MARIADB_SEARCH_PATH:/usr/bin:/usr/sbin
        return 0
    fi
    _mariadb_say "no MariaDB server reachable and no $missing found to start a throwaway one."
    _mariadb_say "Either install MariaDB (apt-get install mariadb-server mariadb-client) or set"
    _mariadb_say "MYBB_SYNC_TEST_URL to a server URL such as mysql://root:PASSWORD@127.0.0.1:3306"
    return 1
}

# Starts a throwaway mariadbd in a fresh temporary directory and sets MYBB_SYNC_TEST_URL to it.
# Registers the EXIT trap that stops it. Returns 1 with a message (and the server's log) if it
# does not come up within 60 s.
_mariadb_start_throwaway() {
    local mariadbd install_db
    mariadbd=$(_mariadb_find mariadbd mysqld) || { _mariadb_install 'mariadbd or mysqld' || return 1; }
    mariadbd=$(_mariadb_find mariadbd mysqld) || { _mariadb_say "still no mariadbd after installing MariaDB"; return 1; }
    install_db=$(_mariadb_find mariadb-install-db mysql_install_db) || { _mariadb_install 'mariadb-install-db' || return 1; }
    install_db=$(_mariadb_find mariadb-install-db mysql_install_db) || { _mariadb_say "still no mariadb-install-db after installing MariaDB"; return 1; }

    local user started=$EPOCHREALTIME
    user=$(id -un)
    _mariadb_dir=$(mktemp -d "${TMPDIR:-/tmp}/mybb-sync-mariadb.XXXXXX")
    trap mariadb_stop EXIT
    # Turn INT and TERM into a normal exit so that the EXIT trap runs.
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # --auth-root-authentication-method=normal: Debian's default makes root unix_socket-only,
    # and the tests log in as root over TCP with an empty password.
    # --tmpdir of its own: bootstraps and servers sharing /tmp (a test run starts several at
    # once) lost each other's temporary tables there ("Could not remove temporary table").
    mkdir "$_mariadb_dir/tmp"
    if ! "$install_db" --no-defaults --auth-root-authentication-method=normal --skip-test-db \
        --datadir="$_mariadb_dir/data" --user="$user" --tmpdir="$_mariadb_dir/tmp" \
        >"$_mariadb_dir/install.log" 2>&1; then
        _mariadb_say "$install_db failed:"
        sed 's/^/    /' "$_mariadb_dir/install.log" >&2
        return 1
    fi

    # Try a few ports: another process may take the one we picked before mariadbd binds it.
    local attempt port=$((33060 + RANDOM % 500))
    for attempt in 1 2 3 4 5; do
        while _mariadb_port_open 127.0.0.1 "$port"; do
            port=$((port + 1))
        done
        rm -f "$_mariadb_dir/error.log"
        # --user: mariadbd refuses to run as root without being told to.
        "$mariadbd" --no-defaults --datadir="$_mariadb_dir/data" --socket="$_mariadb_dir/sock" \
            --port="$port" --bind-address=127.0.0.1 --pid-file="$_mariadb_dir/mariadbd.pid" \
            --log-error="$_mariadb_dir/error.log" --user="$user" --tmpdir="$_mariadb_dir/tmp" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            --skip-log-bin --max-allowed-packet=64M </dev/null >/dev/null 2>&1 &
        _mariadb_pid=$!
        local url="mysql://root@127.0.0.1:$port"
        local deadline=$((SECONDS + 60))
        while ((SECONDS < deadline)); do
            if ! kill -0 "$_mariadb_pid" 2>/dev/null; then
                break
            fi
            if _mariadb_answers "$url" 1; then
                export MYBB_SYNC_TEST_URL=$url
                export MARIADB_KIND=throwaway
                _mariadb_say "started a throwaway MariaDB at $url in $(_mariadb_since "$started") s (data in $_mariadb_dir, removed on exit)"
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$_mariadb_pid" 2>/dev/null; then
            _mariadb_say "throwaway mariadbd did not accept connections on port $port within 60 s; its log:"
            sed 's/^/    /' "$_mariadb_dir/error.log" >&2 || true
            return 1
        fi
        wait "$_mariadb_pid" 2>/dev/null || true
        _mariadb_pid=''
        if grep -q -i -e 'address already in use' -e 'bind on tcp/ip port' "$_mariadb_dir/error.log" 2>/dev/null; then
            port=$((port + 1))
            continue
        fi
        _mariadb_say "throwaway mariadbd exited during startup; its log:"
        sed 's/^/    /' "$_mariadb_dir/error.log" >&2 || true
        return 1
    done
    _mariadb_say "throwaway mariadbd found no free port after $attempt attempts"
    return 1
}

# Finds or starts a server (see the top of this file) and exports MYBB_SYNC_TEST_URL and
# MARIADB_KIND. Returns 1 with a message if there is none to be had.
mariadb_ensure() {
    if [[ -n ${MYBB_SYNC_TEST_URL:-} ]]; then
        local given=${MYBB_SYNC_TEST_URL%/}
        mariadb_parse_url "$given" || return 1
        if [[ -n $mariadb_url_db ]]; then
            _mariadb_say "MYBB_SYNC_TEST_URL must name a server, not a database: $(mariadb_redact "$given")"
            return 1
        fi
        if ! _mariadb_answers "$given"; then
            _mariadb_say "no MariaDB server answers at MYBB_SYNC_TEST_URL=$(mariadb_redact "$given")"
            _mariadb_say "fix or unset it (unset, a local or throwaway server is used)"
            return 1
        fi
        export MYBB_SYNC_TEST_URL=$given
        export MARIADB_KIND=given
        return 0
    fi

    local local_url="mysql://root@127.0.0.1:${MYBB_SYNC_LOCAL_PORT:-3306}"
    if [[ ${MYBB_SYNC_FORCE_THROWAWAY:-0} != 1 ]] && _mariadb_answers "$local_url" 1; then
        export MYBB_SYNC_TEST_URL=$local_url
        export MARIADB_KIND=local
        return 0
    fi

    _mariadb_start_throwaway
}
