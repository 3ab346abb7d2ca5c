#!/usr/bin/env bash
# scripts/demo.sh: the main job of mybb-sync on the bundled sample data, end to end, then a
# short guided tour against what it made.
#
# Usage: scripts/demo.sh [--keep] [--reset] [--sqlite]
#
#   --sqlite  run on a SQLite board built from the sample (a file, no server) even when MariaDB
#             is here; the same as MYBB_SYNC_DEMO_SQLITE=1
#   --keep    with a throwaway server: leave it running (and the demo database in it) and print
#             how to stop it; without --keep it is removed as the script ends (the files stay)
#   --reset   drop the demo database and the demo's sync root left by an earlier run first
#
# Builds the release binary (cargo's progress shown), loads the MyBB 1.8.37 sample tables
# (tests/fixtures/mybb-1.8.37-sync-tables.sql) into a database, exports its templates and
# stylesheets to the sync root with `mybb-sync export`, then tours: edit a template, `status`,
# `import`, the row in the database, a conflict and its resolution; and prints the commands to
# try next against the same database and tree.
#
# The database:
# - --sqlite (or MYBB_SYNC_DEMO_SQLITE=1), or a machine with no MariaDB server binaries and no
#   local server to load the sample into (a throwaway server asked for included): a SQLite board,
#   MYBB_SYNC_DEMO_DB.db in the clone, built from the sample by examples/sqlite-board.rs. Cargo
#   is then all the demo needs.
# - MYBB_DATABASE_URL set (mysql://user:password@host:port/database): the sample is loaded into
#   that database, but only if it has none of the sample's tables (mybb_templates, mybb_themes,
#   mybb_settings, ...) yet: the script never drops or overwrites anything there.
# - otherwise: the database named by MYBB_SYNC_DEMO_DB (default mybb_sync_demo) on the server
#   that scripts/mariadb.sh finds or starts: the one at 127.0.0.1:3306 as root, or a throwaway
#   server. A database of that name left by an earlier run is kept, and the script stops saying
#   so: --reset drops it and loads the sample afresh.
#
# Environment: MYBB_SYNC_DEMO_DB (the database name), MYBB_SYNC_DEMO_ROOT (the sync root,
# default mybb_sync in the clone; a relative path is taken from the current directory),
# MYBB_SYNC_DEMO_BIN (use this mybb-sync binary instead of building one), MYBB_SYNC_DEMO_BOARD (the
# SQLite board's file), MYBB_SYNC_DEMO_BOARD_TOOL (a built examples/sqlite-board), MYBB_SYNC_FORCE_THROWAWAY=1
# (use a throwaway server even when one answers at 127.0.0.1:3306).
set -euo pipefail

me=demo.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }

keep=0
reset=0
sqlite=0
[[ ${MYBB_SYNC_DEMO_SQLITE:-0} == 1 ]] && sqlite=1
for arg in "$@"; do
    case $arg in
        --keep) keep=1 ;;
        --reset) reset=1 ;;
        --sqlite) sqlite=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            say "unknown argument: $arg (use --keep, --reset, --sqlite or --help)"
            exit 2
            ;;
    esac
done

# Returns $1 as an absolute path, a relative one taken from the caller's directory $2: the
# commands the tour prints then work when pasted anywhere.
absolute() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$2" "${1#./}" ;;
    esac
}

caller_dir=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh

fixture=tests/fixtures/mybb-1.8.37-sync-tables.sql
# The default is in the clone; a path the caller gives is the caller's.
if [[ -n ${MYBB_SYNC_DEMO_ROOT:-} ]]; then
    root=$(absolute "$MYBB_SYNC_DEMO_ROOT" "$caller_dir")
else
    root=$PWD/mybb_sync
fi
demo_db=${MYBB_SYNC_DEMO_DB:-mybb_sync_demo}
if [[ ! $demo_db =~ ^[A-Za-z0-9_]{1,64}$ ]]; then
    say "MYBB_SYNC_DEMO_DB must be a plain database name (letters, digits, _), not: $demo_db"
    exit 2
fi

# With no MariaDB to use, the embedded default: no server binaries to start a throwaway one, and
# no local server with a client to load the sample (or a throwaway one was asked for).
if [[ $sqlite == 0 && -z ${MYBB_DATABASE_URL:-} && -z ${MYBB_SYNC_TEST_URL:-} ]] &&
    ! _mariadb_find mariadbd mysqld >/dev/null; then
    if [[ ${MYBB_SYNC_FORCE_THROWAWAY:-0} == 1 ]] || ! _mariadb_find mariadb mysql >/dev/null ||
        ! _mariadb_answers "mysql://root@127.0.0.1:${MYBB_SYNC_LOCAL_PORT:-3306}" 1; then
        say "no MariaDB server binaries here and no local server to use: the demo runs on a SQLite board"
        sqlite=1
    fi
fi

if [[ $sqlite == 1 ]]; then
    if [[ -n ${MYBB_SYNC_DEMO_BOARD_TOOL:-} ]]; then
        tool=$(absolute "$MYBB_SYNC_DEMO_BOARD_TOOL" "$caller_dir")
    else
        say "building the SQLite board tool (examples/sqlite-board.rs)"
        cargo build --quiet --example sqlite-board
        tool=$PWD/target/debug/examples/sqlite-board
    fi
fi

if [[ -n ${MYBB_SYNC_DEMO_BIN:-} ]]; then
    bin=$(absolute "$MYBB_SYNC_DEMO_BIN" "$caller_dir")
    say "using the binary $bin (MYBB_SYNC_DEMO_BIN)"
else
    bin=$PWD/target/release/mybb-sync
    say "building the release binary (the first build compiles about 125 crates: 5-6 minutes on a busy 2-core machine)"
    cargo build --release
fi

# A sync root with a sync state from an earlier run would make the tour's edits collide.
if [[ -e $root/.mybb-sync.state ]]; then
    if [[ $reset == 1 ]]; then
        say "removing the sync root $root of an earlier run (--reset)"
        rm -rf -- "$root"
    else
        say "the sync root $root holds an earlier run's files; run scripts/demo.sh --reset to start"
        say "afresh (it drops the demo database and removes $root), or set MYBB_SYNC_DEMO_ROOT"
        exit 1
    fi
fi

if [[ $sqlite == 1 ]]; then
    board=${MYBB_SYNC_DEMO_BOARD:-$PWD/$demo_db.db}
    if [[ -e $board && $reset != 1 ]]; then
        say "the SQLite board $board exists already (from an earlier run of the demo?): kept as it is."
        say "run scripts/demo.sh --sqlite --reset to remove it and build the sample afresh."
        exit 1
    fi
    rm -f -- "$board" "$board-journal" "$board-wal" "$board-shm"
    say "building the SQLite board $board from the sample"
    "$tool" build "$board" "$fixture"
    db_url=sqlite:$board
    shown_url=$db_url
elif [[ -n ${MYBB_DATABASE_URL:-} ]]; then
    db_url=$MYBB_DATABASE_URL
    mariadb_parse_url "$db_url"
    if [[ -z $mariadb_url_db ]]; then
        say "MYBB_DATABASE_URL names no database: $(mariadb_redact "$db_url")"
        exit 1
    fi
    # The sample dump drops and recreates its seven tables: refuse to load it over any of them.
    if ! existing=$(mariadb_client "$db_url" --batch --skip-column-names -e "
        SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('mybb_templates', 'mybb_templatesets',
            'mybb_templategroups', 'mybb_themes', 'mybb_themestylesheets', 'mybb_settings',
            'mybb_datacache')"); then
        say "cannot use the database MYBB_DATABASE_URL=$(mariadb_redact "$db_url") (see above)"
        exit 1
    fi
    if [[ $existing != NULL ]]; then
        say "refusing to load the sample into $(mariadb_redact "$db_url"): it already has $existing."
        say "point MYBB_DATABASE_URL at an empty database, or unset it to use a local demo database"
        say "(--reset never drops a database of MYBB_DATABASE_URL)."
        exit 1
    fi
    say "loading the sample into $(mariadb_redact "$db_url")"
    # shellcheck disable=SC2016 # printed for the reader's shell to expand
    shown_url='$MYBB_DATABASE_URL'
else
    mariadb_ensure
    # On any of these servers (including a MYBB_SYNC_TEST_URL one, which the tests fill with
    # their own databases) the only database touched is the demo's, whose name says it is ours.
    server=${MYBB_SYNC_TEST_URL%%\?*}
    db_url=$server/$demo_db${MYBB_SYNC_TEST_URL#"$server"}
    exists=$(mariadb_client "$MYBB_SYNC_TEST_URL" --batch --skip-column-names -e \
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$demo_db'")
    if [[ $exists != 0 && $reset != 1 ]]; then
        say "the database $demo_db exists already (from an earlier run of the demo?): kept as it is."
        say "run scripts/demo.sh --reset to drop it and load the sample afresh, or choose another"
        say "name with MYBB_SYNC_DEMO_DB=NAME."
        exit 1
    fi
    say "loading the sample into $(mariadb_redact "$db_url")$([[ $exists != 0 ]] && echo ' (dropped first: --reset)')"
    mariadb_client "$MYBB_SYNC_TEST_URL" -e \
        "DROP DATABASE IF EXISTS \`$demo_db\`; CREATE DATABASE \`$demo_db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
    shown_url=$(mariadb_redact "$db_url")
fi

# Runs SQL statement $1 on the demo's board, printing any rows as a table.
db_sql() {
    if [[ $sqlite == 1 ]]; then
        "$tool" sql "$board" "$1"
    else
        mariadb_client "$db_url" --table -e "$1"
    fi
}

if [[ $sqlite == 1 ]]; then
    templates=$("$tool" sql "$board" 'SELECT COUNT(*) FROM mybb_templates' | tail -n 1)
else
    mariadb_client "$db_url" <"$fixture"
    templates=$(mariadb_client "$db_url" --batch --skip-column-names -e 'SELECT COUNT(*) FROM mybb_templates')
fi
say "loaded $templates templates"

# Runs mybb-sync with only the options given here (a table prefix from the shell would not
# match the sample), after showing the command as a reader would type it.
sync() {
    printf '\n$ mybb-sync %s\n' "$*"
    # Its report (stderr) in line with the rest, in the order it happens.
    env -u MYBB_TABLE_PREFIX -u MYBB_ROOT -u MYBB_SYNC_ROOT -u MYBB_DATABASE_URL \
        "$bin" --db "$db_url" --root "$root" "$@" 2>&1
}

# Prints a step of the tour.
step() {
    printf '\n== %s\n' "$*"
}

# Prints the demo database's rows of the header template, as `sid title dateline`.
header_rows() {
    printf '\n$ SELECT tid, sid, title, LENGTH(template) FROM mybb_templates WHERE title = '"'header'"'\n'
    db_sql "SELECT tid, sid, title, LENGTH(template) FROM mybb_templates WHERE title = 'header' ORDER BY sid"
}

# The command line the tour's "mybb-sync" stands for, quoted to be pasted into a shell.
shown_cmd="$(printf '%q' "$bin") --db \"$shown_url\" --root $(printf '%q' "$root")"

cat <<EOT

In this tour, "mybb-sync" stands for:
    $shown_cmd
EOT

step "1. Export the database to files"
sync export
if [[ ! -d "$root/template_sets/Default Templates" || ! -d "$root/styles/Default" ]]; then
    say "mybb-sync export finished but $root has no template_sets/'Default Templates' or styles/Default"
    exit 1
fi
echo "Exported $(find "$root/template_sets" -type f | wc -l) template files and $(find "$root/styles" -type f | wc -l) stylesheet files to $root."

header="$root/template_sets/Default Templates/Header Templates/header.html"
step "2. Edit a template, as your editor would"
printf '\n$ echo "<!-- edited on disk -->" >> %q\n' "$header"
echo "<!-- edited on disk -->" >>"$header"

step "3. See what is out of sync (exit 3: something is)"
sync status || true

step "4. Send the edit to the database"
sync import

step "5. The row in the database: the set (sid 1) now has its own copy of the master template (sid -2)"
header_rows

step "6. A conflict: the same template edited in the Admin CP and on disk"
printf '\n$ UPDATE mybb_templates SET template = CONCAT(template, "<!-- edited in the Admin CP -->") WHERE sid = 1 AND title = '"'header'"'\n'
db_sql "UPDATE mybb_templates SET template = CONCAT(template, '<!-- edited in the Admin CP -->'), dateline = dateline + 1 WHERE sid = 1 AND title = 'header'"
printf '$ echo "<!-- edited on disk again -->" >> %q\n' "$header"
echo "<!-- edited on disk again -->" >>"$header"
rc=0
sync import || rc=$?
echo "(exit $rc: neither side was touched; the database's version is beside the file)"
printf '\n$ ls %q | grep "^header\\."\n' "$(dirname "$header")"
ls "$(dirname "$header")" | grep '^header\.'


step "7. Resolve it: keep the file's version (or --prefer db to keep the database's)"
sync import --prefer disk
sync status

cat <<EOT

Try next (the same database and tree):
    $shown_cmd watch
        then edit a file under $root and watch it reach the database; Ctrl-C stops
    $shown_cmd status --json
    $shown_cmd export --theme Default --dry-run
    $(printf '%q' "$bin") help
EOT

if [[ ${MARIADB_KIND:-} == throwaway ]]; then
    if [[ $keep == 1 ]]; then
        # Leave the server running: no EXIT trap, and a script that stops and removes it.
        trap - EXIT INT TERM
        cat >"$_mariadb_dir/stop.sh" <<EOS
#!/usr/bin/env bash
# Stops the throwaway MariaDB that scripts/demo.sh --keep left running, and removes its data.
kill -TERM $_mariadb_pid 2>/dev/null || true
for _ in \$(seq 300); do kill -0 $_mariadb_pid 2>/dev/null || break; sleep 0.1; done
rm -rf -- '$_mariadb_dir'
echo "stopped the throwaway MariaDB (pid $_mariadb_pid) and removed $_mariadb_dir"
EOS
        cat <<EOT

The throwaway MariaDB keeps running (--keep): pid $_mariadb_pid, at $MYBB_SYNC_TEST_URL, data in $_mariadb_dir.
Stop it (and remove its data) with:
    bash $_mariadb_dir/stop.sh
EOT
    else
        cat <<EOT

The throwaway MariaDB and its demo database are gone as this script ends (the files in $root
stay), so the commands above need a server: run scripts/demo.sh --keep to keep it running.
EOT
    fi
fi
