#!/usr/bin/env bash
# scripts/theme-oracle/run.sh: regenerates tests/fixtures/mybb-1.8.37-theme-export/*.xml and
# tests/fixtures/mybb-1.8.37-theme-import/ with MyBB 1.8.37's own PHP (issue 13). Not part of CI.
#
# Usage: MYBB_SRC=/path/to/mybb-1.8.37 scripts/theme-oracle/run.sh
# Needs php-cli with the mysqli and xml extensions, the mariadb client, and a MariaDB server on
# 127.0.0.1:3306 where root has no password. Uses the scratch databases theme_oracle_export and
# theme_oracle_import (dropped first and at the end) and a temp directory.
set -euo pipefail
die() { echo "theme-oracle: $*" >&2; exit 1; }
[[ -n ${MYBB_SRC:-} && -f $MYBB_SRC/admin/inc/functions_themes.php ]] || die "set MYBB_SRC to an unpacked MyBB 1.8.37"
command -v php >/dev/null || die "php is not installed"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=$repo/tests/fixtures
sql() { mariadb -h127.0.0.1 -uroot "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"; sql -e "DROP DATABASE IF EXISTS theme_oracle_export; DROP DATABASE IF EXISTS theme_oracle_import" || true' EXIT
mkdir -p "$work/root/cache/themes" "$work/root/inc"
cp -r "$fixtures/mybb-1.8.37-cache-themes/." "$work/root/cache/themes/"
cp "$MYBB_SRC/inc/class_xmlparser.php" "$work/root/inc/"
chmod -R u+w "$work/root"
export MYBB_SRC ORACLE_ROOT=$work/root

for db in theme_oracle_export theme_oracle_import; do
    sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
    sql "$db" <"$fixtures/mybb-1.8.37-sync-tables.sql"
done

out=$fixtures/mybb-1.8.37-theme-export
sql theme_oracle_export <"$out/setup.sql"
ORACLE_DB=theme_oracle_export ORACLE_TID=2 ORACLE_CUSTOM=0 ORACLE_TEMPLATES=1 php "$here/export.php" >"$out/default-everything.xml"
ORACLE_DB=theme_oracle_export ORACLE_TID=2 ORACLE_CUSTOM=1 ORACLE_TEMPLATES=0 php "$here/export.php" >"$out/default-custom-only-no-templates.xml"

out=$fixtures/mybb-1.8.37-theme-import
tid=$(ORACLE_DB=theme_oracle_import ORACLE_NAME="Imported Master" php "$here/import.php" "$fixtures/mybb-1.8.37-theme.xml")
[[ $tid == 3 ]] || die "import_theme_xml returned $tid, expected 3"
sql theme_oracle_import -N -B --raw -e "SELECT properties FROM mybb_themes WHERE tid = 3" | head -c -1 >"$out/theme3-properties.txt"
sql theme_oracle_import -N -B --raw -e "SELECT stylesheets FROM mybb_themes WHERE tid = 3" | head -c -1 >"$out/theme3-stylesheets.txt"
rm -rf "$out/theme3"
cp -r "$work/root/cache/themes/theme3" "$out/theme3"
echo "theme-oracle: fixtures regenerated; git diff shows whether MyBB's outputs changed" >&2
