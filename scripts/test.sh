#!/usr/bin/env bash
# scripts/test.sh: run every test of mybb-sync, from a fresh machine or a developer's.
#
# Usage: scripts/test.sh [CARGO TEST ARGS...]    e.g. scripts/test.sh fixture -- --nocapture
#
# Finds or starts a MariaDB server (scripts/mariadb.sh: MYBB_SYNC_TEST_URL if set, else the
# server at 127.0.0.1:3306, else a throwaway one removed on exit), exports its URL as
# MYBB_SYNC_TEST_URL for the integration tests (tests/util.rs); starts a throwaway PostgreSQL
# cluster (scripts/postgres.sh: MYBB_SYNC_TEST_PG_URL if set instead; Debian's postgresql
# installed on CI when missing) and exports MYBB_SYNC_TEST_PG_URL; then runs
# `cargo test --locked --lib --tests` with the given arguments: every unit and integration test (the
# binary target has none; tests/postgres.rs makes PostgreSQL clusters of its own). With no
# arguments, a second pass runs the core modules (export, import, sync, watch, cache, theme,
# upgrade, existence, identity, engines, devtheme, and the compare-and-swap races) on SQLite
# boards, which need no server, and a third the same but existence, identity and engines on
# PostgreSQL.
# Exits non-zero if anything fails.
#
# The browser test of live reload (tests/live.rs) drives headless Chromium. test.sh finds it
# (MYBB_SYNC_CHROMIUM, else chromium, chromium-browser or google-chrome on PATH) and exports
# MYBB_SYNC_CHROMIUM; on CI (CI=true, as root, with apt-get) it installs Debian's `chromium`
# when missing, and stops if it cannot: CI never passes without the browser test. Elsewhere a
# missing Chromium is announced here and that one test fails saying what to install.
# MYBB_SYNC_SKIP_BROWSER=1 skips it knowingly (the test prints SKIPPED). The completion tests
# need tmux, zsh and fish: installed the same way on CI, named here when missing elsewhere.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

mariadb_ensure
echo "test.sh: MariaDB server: $(mariadb_redact "$MYBB_SYNC_TEST_URL") ($MARIADB_KIND)" >&2
postgres_ensure
# Both throwaway servers go when the script ends, however it ends.
trap 'postgres_stop; mariadb_stop' EXIT
echo "test.sh: PostgreSQL server: $(sed -E 's#(://[^:@/]*):[^@/]*@#\1:***@#' <<<"$MYBB_SYNC_TEST_PG_URL") ($POSTGRES_KIND)" >&2

# Prints the path of the Chromium to test with, if there is one.
find_chromium() {
    if [[ -n ${MYBB_SYNC_CHROMIUM:-} ]]; then
        printf '%s\n' "$MYBB_SYNC_CHROMIUM"
        return 0
    fi
    command -v chromium || command -v chromium-browser || command -v google-chrome
}

if [[ ${MYBB_SYNC_SKIP_BROWSER:-} == 1 ]]; then
    echo "test.sh: MYBB_SYNC_SKIP_BROWSER=1: the live-reload browser test is skipped" >&2
elif chromium=$(find_chromium); then
    export MYBB_SYNC_CHROMIUM=$chromium
    echo "test.sh: Chromium: $chromium" >&2
elif [[ ${CI:-} == true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test.sh: no Chromium found; installing chromium with apt-get (CI)" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade chromium; } >&2 ||
        ! chromium=$(find_chromium); then
        echo "test.sh: cannot install chromium with apt-get, so the live-reload browser test cannot run;" >&2
        echo "test.sh: set MYBB_SYNC_SKIP_BROWSER=1 to run everything else without it" >&2
        exit 1
    fi
    export MYBB_SYNC_CHROMIUM=$chromium
    echo "test.sh: Chromium: $chromium" >&2
else
    echo "test.sh: no Chromium found (chromium, chromium-browser, google-chrome, MYBB_SYNC_CHROMIUM):" >&2
    echo "test.sh: the live-reload browser test will fail; install it (apt-get install chromium)" >&2
    echo "test.sh: or set MYBB_SYNC_SKIP_BROWSER=1 to skip that test knowingly" >&2
fi

# The completion tests drive bash through tmux, and zsh and fish themselves; they fail, never
# skip, when a shell is missing. On CI (CI=true, as root, with apt-get) the missing ones are
# installed, as Chromium is; elsewhere they are named here.
missing_shells=()
for program in tmux zsh fish; do
    command -v "$program" >/dev/null || missing_shells+=("$program")
done
if ((${#missing_shells[@]} > 0)); then
    if [[ ${CI:-} == true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "test.sh: installing ${missing_shells[*]} with apt-get (CI) for the completion tests" >&2
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing_shells[@]}"; } >&2; then
            echo "test.sh: cannot install ${missing_shells[*]} with apt-get, so the completion tests cannot run" >&2
            exit 1
        fi
    else
        echo "test.sh: ${missing_shells[*]} not installed: the completion tests will fail;" >&2
        echo "test.sh: install them (apt-get install ${missing_shells[*]})" >&2
    fi
fi

if ! cargo test --locked --lib --tests "$@"; then
    echo "test.sh: cargo test failed" >&2
    exit 1
fi

# The second pass: the core modules again on SQLite boards (tests/util.rs's TestDb with
# MYBB_SYNC_TEST_ENGINE=sqlite), parametrised, not copied. Only for a full run: with arguments
# the caller chooses, and sets MYBB_SYNC_TEST_ENGINE=sqlite to filter a SQLite run. The modules
# that stop, freeze or kill a server (the rest of races, chaos, ...) stay MariaDB's.
if [[ $# -eq 0 && ${MYBB_SYNC_TEST_ENGINE:-} != sqlite ]]; then
    echo "test.sh: second pass: the core modules on SQLite" >&2
    if ! MYBB_SYNC_TEST_ENGINE=sqlite cargo test --locked --test integration -- \
        export:: import:: sync:: watch:: cache:: theme:: upgrade:: existence:: identity:: engines:: devtheme:: engine_oracle:: \
        races::a_row_changed races::a_copy_made races::a_file_saved_while races::a_pull_never \
        races::a_content_change_without; then
        echo "test.sh: cargo test on SQLite failed" >&2
        exit 1
    fi
fi

# The third pass: the core again on PostgreSQL (MYBB_SYNC_TEST_ENGINE=postgres), a database per
# test on the server of MYBB_SYNC_TEST_PG_URL. existence (deletions: two compare-and-swap
# DELETEs), identity (the state's keys: engine-neutral) and engines (SQLite's own) are left out
# to keep the pass short on CI; they pass on PostgreSQL too (MYBB_SYNC_TEST_ENGINE=postgres).
# The server stopped, frozen and restarted is tests/postgres.rs's, in the first pass.
if [[ $# -eq 0 && ${MYBB_SYNC_TEST_ENGINE:-} != postgres ]]; then
    echo "test.sh: third pass: the core modules on PostgreSQL" >&2
    if ! MYBB_SYNC_TEST_ENGINE=postgres cargo test --locked --test integration -- \
        export:: import:: sync:: watch:: cache:: theme:: upgrade:: devtheme:: engine_oracle:: \
        races::a_row_changed races::a_copy_made races::a_file_saved_while races::a_pull_never \
        races::a_content_change_without; then
        echo "test.sh: cargo test on PostgreSQL failed" >&2
        exit 1
    fi
fi
