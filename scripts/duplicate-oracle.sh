#!/usr/bin/env bash
# duplicate-oracle.sh: regenerates tests/fixtures/mybb-1.8.37-duplicate-theme/ from MyBB 1.8.37's
# own Admin CP: installs a real board (shared/mybb/install-board.sh), runs setup.sql, logs in as
# the admin and posts Duplicate Theme (tid 2, "Default (dev)", "duplicate templates" ticked), then
# dumps the rows it wrote. Needs MariaDB at 127.0.0.1:3306 (root, no password), PHP and curl (the
# install script installs them with apt). Not part of CI: the suite reads the dumped files.
#
# Usage: scripts/duplicate-oracle.sh [PATH/TO/install-board.sh]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
installer=${1:-$here/../../shared/mybb/install-board.sh}
out=$here/tests/fixtures/mybb-1.8.37-duplicate-theme
board=$(mktemp -d) db=mybb_duplicate_oracle port=8931
bash "$installer" "$board/forum" "$db" "$port" || { echo "duplicate-oracle.sh: install failed" >&2; exit 1; }
trap 'kill "$(cat "$board/forum.pid")" 2>/dev/null || true; rm -rf "$board"' EXIT
sql() { mariadb -h127.0.0.1 -uroot --protocol=tcp "$db" "$@"; }
sql < "$out/setup.sql"
admin=http://127.0.0.1:$port/admin/index.php jar=$board/cookies
curl -s -c "$jar" -b "$jar" "$admin" -o /dev/null
curl -s -c "$jar" -b "$jar" -X POST "$admin" -d do=login -d username=admin -d password=adminpass1 -o /dev/null
page=$(curl -s -c "$jar" -b "$jar" "$admin?module=style-themes&action=duplicate&tid=2")
key=$(grep -o 'name="my_post_key" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//;s/"//')
[ -n "$key" ] || { echo "duplicate-oracle.sh: could not log in to the Admin CP" >&2; exit 1; }
curl -s -c "$jar" -b "$jar" -X POST "$admin?module=style-themes&action=duplicate&tid=2" \
  -d my_post_key="$key" -d "name=Default (dev)" -d duplicate_templates=1 -o /dev/null
sql -N -B --raw -e "select properties from mybb_themes where tid=3" | head -c -1 >"$out/properties.txt"
sql -N -B --raw -e "select stylesheets from mybb_themes where tid=3" | head -c -1 >"$out/stylesheets.txt"
sql -N -B --raw -e "select name,pid,def,allowedgroups from mybb_themes where tid=3" >"$out/theme.tsv"
sql -N -B --raw -e "select sid,title from mybb_templatesets where sid=2" >"$out/templatesets.tsv"
sql -N -B --raw -e "select title,template,sid,version,status from mybb_templates where sid=2 order by tid" >"$out/templates.tsv"
echo "duplicate-oracle.sh: wrote $out" >&2
