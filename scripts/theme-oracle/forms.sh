#!/usr/bin/env bash
# scripts/theme-oracle/forms.sh: regenerates tests/fixtures/mybb-1.8.37-theme-forms/ (issue 28):
# what MyBB 1.8.37's own Admin CP writes for the three forms a theme file stands for, posted
# over HTTP to a real board with a logged-in admin session. Not part of CI.
#
# Usage: scripts/theme-oracle/forms.sh URL DBNAME
#   URL: a board installed by ../shared/mybb/install-board.sh (e.g. http://127.0.0.1:8391),
#   freshly installed (the forms are posted to its Default theme, tid 2); DBNAME its database.
# Needs curl and the mariadb client (MariaDB at 127.0.0.1:3306, root without a password).
# Each step's rows are written as `mariadb -B --raw` prints them (one column a file where the
# column is serialized), so the tests compare them byte for byte.
set -euo pipefail
die() { echo "forms.sh: $*" >&2; exit 1; }
url=${1:?URL}; db=${2:?DBNAME}
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../.." && pwd)/tests/fixtures/mybb-1.8.37-theme-forms
sql() { mariadb -h127.0.0.1 -uroot -N -B --raw "$db" -e "$1"; }
A=$url/admin/index.php
jar=$(mktemp); trap 'rm -f "$jar"' EXIT
curl -s -c "$jar" -b "$jar" "$A" -o /dev/null
page=$(curl -s -c "$jar" -b "$jar" -X POST "$A" -d username=admin -d password=adminpass1 -d do=login)
key=$(grep -o 'name="my_post_key" value="[a-f0-9]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
[[ -n $key ]] || die "could not log in to $A"
post() { curl -s -c "$jar" -b "$jar" -X POST "$A" -d my_post_key="$key" "$@" -o /dev/null -w '%{http_code}'; }
# One column of a row, exactly as stored (no trailing newline).
col() { sql "SELECT $1" | head -c -1 >"$out/$2"; }
snapshot() {
  local step=$1
  col "properties FROM mybb_themes WHERE tid = 2" "$step-properties.txt"
  col "stylesheets FROM mybb_themes WHERE tid = 2" "$step-stylesheets.txt"
  col "CONCAT_WS('|', name, pid, def, allowedgroups) FROM mybb_themes WHERE tid = 2" "$step-theme.txt"
  col "cache FROM mybb_datacache WHERE title = 'default_theme'" "$step-default_theme.txt"
  sql "SELECT tid, name, attachedto, cachefile FROM mybb_themestylesheets ORDER BY sid" >"$out/$step-rows.tsv"
}
rm -rf "$out"; mkdir -p "$out"
snapshot 0-installed

# 1. Edit Theme (action edit, no `do`): every field changed.
code=$(post -d module=style-themes -d action=edit -d tid=2 -d "name=Default Edited" -d pid=1 \
  -d 'allowedgroups[]=2' -d 'allowedgroups[]=4' -d templateset=1 -d editortheme=office.css \
  -d imgdir=images/dark -d logo=images/dark/logo.png -d tablespace=6 -d borderwidth=1 \
  -d color=night --data-urlencode $'colors=night=Night\ncalm=Calm\nsun_2=Sun Two')
[[ $code == 200 ]] || die "the refused edit answered $code"
# The colour line "sun_2=Sun Two" has a space: refused; the form is posted again without it.
snapshot 1-refused-colour
code=$(post -d module=style-themes -d action=edit -d tid=2 -d "name=Default Edited" -d pid=1 \
  -d 'allowedgroups[]=2' -d 'allowedgroups[]=4' -d templateset=1 -d editortheme=office.css \
  -d imgdir=images/dark -d logo=images/dark/logo.png -d tablespace=6 -d borderwidth=1 \
  -d color=night --data-urlencode $'colors=night=Night\ncalm=Calm')
[[ $code == 302 ]] || die "edit theme answered $code"
snapshot 1-edit

# 2. Stylesheet properties (action stylesheet_properties) of an inherited sheet, attached to
#    one file and to another with actions: copy-on-write, then attachedto.
code=$(post -d module=style-themes -d action=stylesheet_properties -d tid=2 -d file=showthread.css \
  -d name=showthread.css -d attach=1 -d attached_0=showthread.php \
  -d attached_1=newreply.php -d action_1=1 -d action_list_1=newreply,editdraft)
[[ $code == 302 ]] || die "stylesheet properties answered $code"
snapshot 2-attach

# 3. Save Stylesheet Orders (action edit, do=save_orders): css3.css first, global.css last.
orders=()
while IFS=$'\t' read -r sid name; do
  case $name in css3.css) o=0 ;; global.css) o=99 ;; *) o=$sid ;; esac
  orders+=(-d "disporder[$sid]=$o")
done < <(sql "SELECT sid, name FROM mybb_themestylesheets WHERE tid IN (1, 2) ORDER BY sid")
code=$(post -d module=style-themes -d action=edit -d tid=2 -d do=save_orders "${orders[@]}")
[[ $code == 302 ]] || die "save orders answered $code"
snapshot 3-orders
echo "forms.sh: fixtures regenerated in $out" >&2
