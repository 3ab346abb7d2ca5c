#!/usr/bin/env bash
# scripts/engine-oracle/run.sh: the fidelity oracle on SQLite and PostgreSQL boards (issue 31).
# Installs MyBB 1.8.37 through its own web installer on each engine, posts, as the admin over
# HTTP, the Admin CP forms whose writes mybb-sync also makes, and keeps after each step what the
# Admin CP wrote: rows (dump.php) and cache files, in tests/fixtures/mybb-1.8.37-oracle-ENGINE/.
# tests/engine_oracle.rs makes mybb-sync do the same writes from files and compares. Not part of
# CI: the suite reads the kept files.
#
# Usage: scripts/engine-oracle/run.sh [sqlite] [pgsql]     (both when none is named)
# MYBB_TARBALL: MyBB 1.8.37's release archive (default: ../shared/mybb/mybb-1.8.37.tar.gz).
# Needs curl and php-cli with pdo_sqlite, pgsql, xml and mbstring (installed with apt-get when
# missing, as root); PostgreSQL's server programs for a throwaway cluster (scripts/postgres.sh),
# or MYBB_SYNC_TEST_PG_URL naming a server where a database mybb_engine_oracle may be made.
#
# The steps, on the board's Default theme (tid 2) and its set "Default Templates" (sid 1):
#   0-installed        the fresh install
#   1-template-copy    Edit Template of the inherited master `header` in set 1: a row inserted
#   2-template-edit    Edit Template of that row again: updated in place
#   3-template-revert  Revert to Original: the row deleted
#   4-stylesheet-copy  the advanced stylesheet editor on the inherited `global.css`: copied into
#                      theme 2, cache files written, the list and `default_theme` rebuilt
#   5-stylesheet-edit  the same editor on theme 2's own `color_black.css`: updated in place
#   6-edit-theme       Edit Theme with every field changed (as theme-oracle/forms.sh's 1-edit)
#   7-attach           stylesheet properties of the inherited `showthread.css`: copied, attached
#                      to showthread.php and newreply.php?newreply,editdraft
#   8-orders           Save Stylesheet Orders: css3.css first, global.css last, the rest by sid
set -euo pipefail
die() { echo "engine-oracle: $*" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# The archive beside the clone (../shared/mybb/, or ../../shared/mybb/ from a worktree).
tarball=${MYBB_TARBALL:-}
for candidate in "$repo/../shared/mybb" "$repo/../../shared/mybb"; do
    [[ -z $tarball && -f $candidate/mybb-1.8.37.tar.gz ]] && tarball=$candidate/mybb-1.8.37.tar.gz
done
[[ -f $tarball ]] || die "no MyBB 1.8.37 archive found (set MYBB_TARBALL to mybb-1.8.37.tar.gz)"
engines=("$@"); ((${#engines[@]})) || engines=(sqlite pgsql)

need=()
command -v curl >/dev/null || need+=(curl)
command -v php >/dev/null || need+=(php-cli)
modules=$(php -m 2>/dev/null || true)
for ext in pdo_sqlite pgsql xml mbstring; do
    grep -qx "$ext" <<<"$modules" || need+=("php-${ext#pdo_}")
done
if ((${#need[@]})); then
    echo "engine-oracle: installing ${need[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
        die "could not install ${need[*]}"
fi

work=$(mktemp -d /tmp/engine-oracle-XXXXXX)
server=''
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null
    [[ -n ${pg_db:-} ]] && psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
    declare -F postgres_stop >/dev/null && postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT

# Unpacks MyBB into $board and runs its installer over HTTP with the engine's form fields.
install_board() {
    local engine=$1 port=$2
    board=$work/$engine
    mkdir -p "$board"
    tar xzf "$tarball" -C "$board" --strip-components=1
    cp "$board/inc/config.default.php" "$board/inc/config.php"
    chmod -R a+w "$board/cache" "$board/uploads" "$board/inc/config.php" "$board/inc/settings.php"
    rm -f "$board/install/lock"
    (cd "$board" && exec php -S 127.0.0.1:"$port" -t "$board" >"$work/$engine.php.log" 2>&1) &
    server=$!
    url=http://127.0.0.1:$port
    local I=$url/install/index.php jar=$work/$engine.install-cookies
    for _ in $(seq 100); do curl -s -o /dev/null "$I" && break; sleep 0.1; done
    post() { curl -s -b "$jar" -c "$jar" -X POST "$I" "$@" >/dev/null; }
    case $engine in
        # The installer refuses a path with ./ or ../ in it: $work has none.
        sqlite) post -d action=create_tables -d dbengine=sqlite -d "config[sqlite][dbname]=$work/forum.sqlite" \
                    -d 'config[sqlite][tableprefix]=mybb_' ;;
        pgsql) post -d action=create_tables -d dbengine=pgsql -d "config[pgsql][dbhost]=$pg_host" \
                   -d "config[pgsql][dbuser]=$pg_user" -d 'config[pgsql][dbpass]=' -d "config[pgsql][dbname]=$pg_db" \
                   -d 'config[pgsql][tableprefix]=mybb_' ;;
    esac
    post -d action=populate_tables
    post -d action=templates
    post -d action=configuration
    post -d action=adminuser -d bbname=Forum -d "bburl=$url" -d websitename=Forum -d "websiteurl=$url" \
        -d cookiedomain= -d cookiepath=/ -d contactemail=admin@example.com -d pin=
    post -d action=final -d adminuser=admin -d adminpass=adminpass1 -d adminemail=admin@example.com \
        -d adminpass2=adminpass1
    grep -q "'type'\] = '$engine'" "$board/inc/config.php" || die "the installer wrote no $engine config.php (see $work)"
}

# Logs in to the Admin CP; sets $key, the session's my_post_key.
login() {
    A=$url/admin/index.php jar=$work/$engine.admin-cookies
    curl -s -c "$jar" -b "$jar" "$A" -o /dev/null
    local page
    page=$(curl -s -c "$jar" -b "$jar" -X POST "$A" -d username=admin -d password=adminpass1 -d do=login)
    key=$(grep -o 'name="my_post_key" value="[a-f0-9]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
    [[ -n $key ]] || die "could not log in to $A"
}

# Posts an Admin CP form; prints the HTTP status (302: saved and redirected).
admin_post() { curl -s -c "$jar" -b "$jar" -X POST "$A" -d my_post_key="$key" "$@" -o /dev/null -w '%{http_code}'; }

# Keeps what step $1 wrote: the rows (dump.php, volatile times against the step's start) and
# every cache file written since the step began (`begin` starts it on a whole second).
snapshot() {
    local step=$1 dir=$out/$1
    mkdir -p "$dir"
    php "$here/dump.php" "$board" "$since" "$installed_sid" >"$dir/rows.json"
    (cd "$board/cache/themes" && find . -type f -newermt "@$since" ! -name index.html | sort) |
        while read -r file; do
            mkdir -p "$dir/cache/$(dirname "$file")"
            cp "$board/cache/themes/$file" "$dir/cache/$file"
        done
}

# Starts a step: waits for the next second, so that nothing of the step before is "now".
begin() { local t; t=$(date +%s); while (($(date +%s) == t)); do sleep 0.05; done; since=$(date +%s); }

# The contents posted: CRLF, a tab, quotes, a backslash, non-ASCII and a 4-byte character,
# trailing whitespace (the Admin CP's rtrim()), as an editor's form sends them.
template_1=$'<html>\r\n<head><title>{$mybb->settings[\'bbname\']} \\o/ "caf\u00e9" \U0001F600</title>\r\n\t{$headerinclude}\r\n</head>\r\n \r\n'
template_2=$'<div id="header">{$lang->welcome_back}</div>\n\t\\n \'quoted\' \u00fc\n'
stylesheet_1=$'/* edited on the engine oracle */\r\nbody {\r\n\tbackground: #ffffff url(images/bg.png);\r\n\tcolor: #333333;\r\n}\r\na:hover { color: #aa00bb; content: "\\201C \u00e9"; }\r\n.x { background: url(\'{theme}/x.png\'); }\n\n'
stylesheet_2=$'.black { color: #000000; } /* \U0001F600 */\n'

run_engine() {
    engine=$1
    out=$repo/tests/fixtures/mybb-1.8.37-oracle-$engine
    local started=$SECONDS port
    case $engine in
        sqlite) port=8941 ;;
        pgsql)
            port=8942
            # shellcheck source=scripts/postgres.sh
            source "$repo/scripts/postgres.sh"
            postgres_ensure
            pg_url=$MYBB_SYNC_TEST_PG_URL
            [[ $pg_url =~ ^postgres(ql)?://([^@/:]+)@([^/?]+) ]] || die "cannot read $pg_url"
            pg_user=${BASH_REMATCH[2]} pg_host=${BASH_REMATCH[3]} pg_db=mybb_engine_oracle
            PGOPTIONS=--client-min-messages=warning psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db ENCODING 'UTF8' TEMPLATE template0" >/dev/null
            ;;
        *) die "unknown engine $engine (sqlite or pgsql)" ;;
    esac
    install_board "$engine" "$port"
    echo "engine-oracle: $engine: installed in $((SECONDS - started)) s" >&2
    rm -rf "$out"; mkdir -p "$out"
    # The installer's cache files are the MySQL install's (the fixture the tests start from).
    diff -r -x index.html "$board/cache/themes" "$repo/tests/fixtures/mybb-1.8.37-cache-themes" >&2 ||
        die "$engine: the installer's cache files differ from tests/fixtures/mybb-1.8.37-cache-themes"
    since=$(($(date +%s) + 1))
    installed_sid=$(query_one "SELECT MAX(sid) FROM mybb_themestylesheets")
    snapshot 0-installed
    login
    local master code tid
    master=$(master_tid)

    begin
    code=$(admin_post -d module=style-templates -d action=edit_template -d sid=1 -d title=header -d "tid=$master" \
        --data-urlencode "template=$template_1")
    [[ $code == 302 ]] || die "$engine: Edit Template (copy) answered $code"
    snapshot 1-template-copy

    begin
    tid=$(custom_tid)
    code=$(admin_post -d module=style-templates -d action=edit_template -d sid=1 -d title=header -d "tid=$tid" \
        --data-urlencode "template=$template_2")
    [[ $code == 302 ]] || die "$engine: Edit Template (update) answered $code"
    snapshot 2-template-edit

    begin
    code=$(admin_post -d module=style-templates -d action=revert -d sid=1 -d title=header)
    [[ $code == 302 ]] || die "$engine: Revert answered $code"
    snapshot 3-template-revert

    begin
    code=$(admin_post -d module=style-themes -d action=edit_stylesheet -d mode=advanced -d tid=2 -d file=global.css \
        --data-urlencode "stylesheet=$stylesheet_1" -d save_close=1)
    [[ $code == 302 ]] || die "$engine: Edit Stylesheet (copy) answered $code"
    snapshot 4-stylesheet-copy

    begin
    code=$(admin_post -d module=style-themes -d action=edit_stylesheet -d mode=advanced -d tid=2 -d file=color_black.css \
        --data-urlencode "stylesheet=$stylesheet_2" -d save_close=1)
    [[ $code == 302 ]] || die "$engine: Edit Stylesheet (update) answered $code"
    snapshot 5-stylesheet-edit

    begin
    code=$(admin_post -d module=style-themes -d action=edit -d tid=2 -d "name=Default Edited" -d pid=1 \
        -d 'allowedgroups[]=2' -d 'allowedgroups[]=4' -d templateset=1 -d editortheme=office.css \
        -d imgdir=images/dark -d logo=images/dark/logo.png -d tablespace=6 -d borderwidth=1 \
        -d color=night --data-urlencode $'colors=night=Night\ncalm=Calm')
    [[ $code == 302 ]] || die "$engine: Edit Theme answered $code"
    snapshot 6-edit-theme

    begin
    code=$(admin_post -d module=style-themes -d action=stylesheet_properties -d tid=2 -d file=showthread.css \
        -d name=showthread.css -d attach=1 -d attached_0=showthread.php \
        -d attached_1=newreply.php -d action_1=1 -d action_list_1=newreply,editdraft)
    [[ $code == 302 ]] || die "$engine: stylesheet properties answered $code"
    snapshot 7-attach

    begin
    local orders=() sid name o
    while IFS=$'\t' read -r sid name; do
        case $name in css3.css) o=0 ;; global.css) o=99 ;; *) o=$sid ;; esac
        orders+=(-d "disporder[$sid]=$o")
    done < <(query_rows "SELECT sid, name FROM mybb_themestylesheets WHERE tid IN (1, 2) ORDER BY sid")
    code=$(admin_post -d module=style-themes -d action=edit -d tid=2 -d do=save_orders "${orders[@]}")
    [[ $code == 302 ]] || die "$engine: Save Orders answered $code"
    snapshot 8-orders

    kill "$server"; wait "$server" 2>/dev/null || true; server=''
    echo "engine-oracle: $engine: done in $((SECONDS - started)) s, fixtures in $out" >&2
}

# Prints the rows query $1 selects on the board, a line each, columns split by tabs.
query_rows() {
    php -r '
        require $argv[1]; $d = $config["database"];
        if ($d["type"] === "sqlite") { $pdo = new PDO("sqlite:".$d["database"]); $rows = $pdo->query($argv[2])->fetchAll(PDO::FETCH_NUM); }
        else { list($h, $p) = array_pad(explode(":", $d["hostname"]), 2, "5432");
               $l = pg_connect("host=$h port=$p dbname={$d["database"]} user={$d["username"]}");
               $rows = pg_fetch_all(pg_query($l, $argv[2]), PGSQL_NUM) ?: array(); }
        foreach ($rows as $row) { echo implode("\t", $row), "\n"; }' "$board/inc/config.php" "$1"
}
# The tid of the master `header` and of set 1's own `header`, read from the board.
query_one() { query_rows "$1" | head -1; }
master_tid() { query_one "SELECT tid FROM mybb_templates WHERE sid = -2 AND title = 'header'"; }
custom_tid() { query_one "SELECT tid FROM mybb_templates WHERE sid = 1 AND title = 'header'"; }

for engine in "${engines[@]}"; do
    run_engine "$engine"
done
