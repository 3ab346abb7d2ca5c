#!/usr/bin/env bash
# scripts/demo.sh: the main job of mybb-sync on the bundled sample data, end to end.
#
# Usage: scripts/demo.sh
#
# Builds the release binary, loads the MyBB 1.8.37 sample tables
# (tests/fixtures/mybb-1.8.37-sync-tables.sql) into a database, and exports its templates and
# stylesheets to ./mybb_sync with `mybb-sync export`.
#
# The database:
# - MYBB_DATABASE_URL set (mysql://user:password@host:port/database): the sample is loaded into
#   that database, but only if it has none of the sample's tables (mybb_templates, mybb_themes,
#   mybb_settings, ...) yet: the script never drops or overwrites anything there.
# - otherwise: the database mybb_sync_demo, created afresh (dropped first if it exists) on the
#   server that scripts/mariadb.sh finds or starts: the one at 127.0.0.1:3306 as root, or a
#   throwaway server that is removed again when this script ends (the exported files stay).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh

fixture=tests/fixtures/mybb-1.8.37-sync-tables.sql
root=./mybb_sync

echo "demo.sh: building the release binary" >&2
cargo build --release --quiet

if [[ -n ${MYBB_DATABASE_URL:-} ]]; then
    db_url=$MYBB_DATABASE_URL
    mariadb_parse_url "$db_url"
    if [[ -z $mariadb_url_db ]]; then
        echo "demo.sh: MYBB_DATABASE_URL names no database: $(mariadb_redact "$db_url")" >&2
        exit 1
    fi
    # The sample dump drops and recreates its seven tables: refuse to load it over any of them.
    if ! existing=$(mariadb_client "$db_url" --batch --skip-column-names -e "
        SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('mybb_templates', 'mybb_templatesets',
            'mybb_templategroups', 'mybb_themes', 'mybb_themestylesheets', 'mybb_settings',
            'mybb_datacache')"); then
        echo "demo.sh: cannot use the database MYBB_DATABASE_URL=$(mariadb_redact "$db_url") (see above)" >&2
        exit 1
    fi
    if [[ $existing != NULL ]]; then
        echo "demo.sh: refusing to load the sample into $(mariadb_redact "$db_url"): it already has $existing." >&2
        echo "demo.sh: point MYBB_DATABASE_URL at an empty database, or unset it to use a local demo database." >&2
        exit 1
    fi
    echo "demo.sh: loading the sample into $(mariadb_redact "$db_url")" >&2
else
    mariadb_ensure
    # On any of these servers (including a MYBB_SYNC_TEST_URL one, which the tests fill with
    # their own databases) the only database touched is mybb_sync_demo, whose name says it is ours.
    server=${MYBB_SYNC_TEST_URL%%\?*}
    db_url=$server/mybb_sync_demo${MYBB_SYNC_TEST_URL#"$server"}
    echo "demo.sh: loading the sample into $(mariadb_redact "$db_url") (recreated)" >&2
    mariadb_client "$MYBB_SYNC_TEST_URL" -e \
        'DROP DATABASE IF EXISTS mybb_sync_demo; CREATE DATABASE mybb_sync_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci'
fi

mariadb_client "$db_url" <"$fixture"
templates=$(mariadb_client "$db_url" --batch --skip-column-names -e 'SELECT COUNT(*) FROM mybb_templates')
echo "demo.sh: loaded $templates templates" >&2

# Run with only the options given here: a table prefix from the shell would not match the sample.
cmd=(target/release/mybb-sync --db "$db_url" --root "$root" export)
echo "demo.sh: running: target/release/mybb-sync --db '$(mariadb_redact "$db_url")' --root $root export" >&2
env -u MYBB_TABLE_PREFIX -u MYBB_ROOT -u MYBB_SYNC_ROOT -u MYBB_DATABASE_URL "${cmd[@]}"

if [[ ! -d "$root/template_sets/Default Templates" || ! -d "$root/styles/Default" ]]; then
    echo "demo.sh: mybb-sync export finished but $root has no template_sets/'Default Templates' or styles/Default" >&2
    exit 1
fi

cat <<EOT

Exported $(find "$root/template_sets" -type f | wc -l) template files and $(find "$root/styles" -type f | wc -l) stylesheet files to $root. Look at:
    ls $root/template_sets/'Default Templates'
    ls $root/styles/Default
EOT
if [[ ${MARIADB_KIND:-} == throwaway ]]; then
    echo "(The throwaway server and its demo database are removed as this script ends; the files stay.)"
fi
