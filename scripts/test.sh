#!/usr/bin/env bash
# scripts/test.sh: run every test of mybb-sync, from a fresh machine or a developer's.
#
# Usage: scripts/test.sh [CARGO TEST ARGS...]    e.g. scripts/test.sh fixture -- --nocapture
#
# Finds or starts a MariaDB server (scripts/mariadb.sh: MYBB_SYNC_TEST_URL if set, else the
# server at 127.0.0.1:3306, else a throwaway one removed on exit), exports its URL as
# MYBB_SYNC_TEST_URL for the integration tests (tests/util.rs), then runs
# `cargo test --locked --lib --tests` with the given arguments: every unit and integration test (the
# binary target has none). Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh

mariadb_ensure
echo "test.sh: MariaDB server: $(mariadb_redact "$MYBB_SYNC_TEST_URL") ($MARIADB_KIND)" >&2

if ! cargo test --locked --lib --tests "$@"; then
    echo "test.sh: cargo test failed" >&2
    exit 1
fi
