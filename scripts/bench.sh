#!/usr/bin/env bash
# scripts/bench.sh: measure mybb-sync against baselines measured in the same run (issue 6).
#
# Usage: scripts/bench.sh [--engines]   (prints tables on stdout; progress goes to stderr)
#   --engines  only the last part, export, import and watch on each engine against its own floors
#              (scripts/bench-engines.sh says how; ~35 s after the build), which the full run ends with
#
# Builds the release binary, finds or starts a MariaDB server (scripts/mariadb.sh, as
# scripts/test.sh does), loads tests/fixtures/mybb-1.8.37-sync-tables.sql into scratch databases
# named bench_<pid>_* (dropped at exit), and measures, each figure against a baseline from the same
# run, so the ratios hold on any machine even where the absolute times do not:
#
#  1. export of the fixture (974 templates + 17 stylesheets) into an empty root, as a whole process,
#     median of 7, durable (the default) and --no-fsync, against two floors: the same files written
#     with no database and no process start, (a) plainly and (b) with the batched durable pattern
#     issue 16 names (temp files, one syncfs, renames, one fsync per directory); (b2) the same with
#     a second syncfs in place of the fsync per directory, cheaper where folders are many and the
#     export's own pattern since issue 16, reported beside b; and (in the details) temp files and
#     renames without syncing: what atomicity alone costs. All three come from
#     scripts/bench-helper.rs, a std-only Rust file compiled here with rustc and not part of the
#     crate; its header says exactly what each floor does. Each round runs the six in turn, each
#     after `sync -f` so that no run pays for another's dirty pages. Then, untimed, one `strace -c -f`
#     run of each export (if strace is installed, else n/a): the syscalls per file beside the
#     floors' (counted from bench-helper.rs's code). The Python original that issue 16 compares
#     with is in no registry: the floors are the baselines.
#  2. export scaling: the fixture (1 set) against a scale database built here with SQL (sets 2..30
#     added, each with half the master templates customised: 29,220 template files), median of 5,
#     time and peak RSS, each round's ratio of the two (issue 32: within 30x and 2x).
#  3. `import --no-fsync` of 974 changed files (every template file rewritten first, untimed),
#     median of 5, each round paired with an `export --no-fsync` of the same database (the same
#     files): the rows' writes against the files' writes, neither paying for fsync.
#  3b. theme unpack of two hostile theme files (issue 26), 10,000 templates and 80,000 attributes
#     on one element, against the unpack of 1,000 templates: time per template, median of 3.
#  4. watch (`watch --debounce 50`): 200 saves, each a whole-file rewrite with unique content,
#     latency from the save to the row being visible in the database, polled over one persistent
#     client connection every ~1.4 ms (so a figure is up to ~1.5 ms late); then a burst of 974
#     saves until all are in the database.
#  4b. the pull check (the fingerprint query a watcher runs every --pull-interval), 50 calls
#     each on the fixture and on the scale database (10 sets), timed per call over one client
#     connection; reported in ms and as a fraction of the default 2 s interval.
#  5. peak RSS: of the export (getrusage of the reaped child, via bench-helper run) and of a
#     watcher (VmHWM in /proc/PID/status), against `mybb-sync --version` (the binary loaded, doing
#     nothing); the idle watcher's CPU over 10 s, with the default settings (so it polls the
#     database for Admin CP edits every 2 s, --pull-interval), from the per-thread schedstat
#     (nanoseconds) and /proc/PID/stat (utime + stime, clock ticks), and its wakeups. The 10 s
#     start once the watcher's start-up work is over: the reconcile at start and the first pull,
#     which compares every file because it has no fingerprint to compare with yet (reported
#     apart as start-up CPU).
#  7. live reload (`watch --live-reload`, --mybb on a cache that `cache rebuild` wrote, --debounce
#     50). First idle, once past the first pull: the watcher's RSS with no browser, then its CPU
#     and RSS over 10 s with 10 browsers connected (bench-helper live), against that RSS and part
#     5's idle CPU. Then 100 saves of a stylesheet with one browser listening, which stamps each
#     message as it arrives: latency from the save to the `reload` received, against the same
#     saves' latency to the row being visible in the database (polled as in part 4), and (in the
#     details) the time from the cache file's mtime (written, not yet renamed into place) to the
#     reload: the cache files, the stylesheet lists and the notification.
#  8. development copies (issue 29), 3 rounds, each on a fresh board, --no-fsync: `dev Default
#     --live-reload` from its start to the first reload a browser receives for a template saved
#     in the copy (the copy made, exported, the watcher and the server up, the save applied), and
#     `publish` of a stylesheet saved in the copy from its start to the live theme's cache file
#     holding it (what the forum serves); both against an export --no-fsync of the same board,
#     same round.
#  9. scale (issue 32): a watcher on the fixture (with a header of set 1's own) against one on a
#     second scale database, each with --pull-interval 0.1: start-up (spawn to "watching", the
#     reconcile of every file), VmHWM and CPU idle for 5 s once the first pull (which compares every
#     set) is over, the pull of a changed set (an UPDATE of one set's header to its file on disk,
#     median of 5, of which up to 100 ms is the interval), the start-up again on the same files
#     (every file as the state recorded it: an lstat each, none read, issue 32), and on the scale
#     board a burst of 5,000 saves over several sets, against part 4's burst of 974 on one set.
#  6. release binary size (against bench-helper, a std-only binary built with the same opt-level
#     and stripping) and the crates in `cargo tree --edges normal` (host target, normal
#     dependencies, each name+version once, mybb-sync itself not counted), against all packages
#     in Cargo.lock (every target, dev and build dependencies included).
#
# Ratios are the median of the per-round ratios: a value and its baseline run back to back, so
# load that comes and goes on a shared machine shifts both. Every run writes into a new
# directory and nothing is deleted before the end: on ext4 without a journal, creating files
# right after deleting many (up to ~35 s after) is slow, as ext4 then skips recently freed
# inodes one by one; a run that deleted its previous output would measure that instead. For the
# same reason, leave ~35 s between two runs of this script there, and the run directories are
# spread over block groups (see spread_dirs), away from other processes' deletions. The header
# shows the load average and whether the temp filesystem has a journal.
#
# Needs what scripts/test.sh needs: bash, coreutils, cargo/rustc, the mariadb client (and a
# server or the binaries to start one). Not python3, perf or /usr/bin/time. Temp files go to
# $TMPDIR (default /tmp): the filesystem there decides what durability costs, and is printed.
# Takes about five minutes after the build on 2 cores (part 2's and part 8's 30 sets most of it)
# and ~1 GB in $TMPDIR, freed at exit.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME must have a '.', sort and awk must agree.

only_engines=0
case $# in
    0) ;;
    1) [[ $1 == --engines ]] || { echo "usage: scripts/bench.sh [--engines]" >&2; exit 2; }; only_engines=1 ;;
    *) echo "usage: scripts/bench.sh [--engines]" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/mariadb.sh
source scripts/mariadb.sh

me=bench.sh
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}
say() {
    printf '%s: %s\n' "$me" "$*" >&2
}

# The tool must see only the options given here (as in demo.sh).
unset MYBB_TABLE_PREFIX MYBB_ROOT MYBB_SYNC_ROOT MYBB_DATABASE_URL RUST_LOG

fixture=tests/fixtures/mybb-1.8.37-sync-tables.sql
bin=target/release/mybb-sync
rounds=7        # export rounds (part 1)
scale_rounds=5  # part 2
scale_sets=30   # part 2 and part 9: the scale database's template sets
scale_pulls=5   # part 9: pulls of a changed set per board
scale_burst=5000 # part 9: saves in the burst on the scale database
import_rounds=5 # part 3
saves=200       # part 4
debounce=50     # ms, part 4
idle_secs=10    # part 5
fp_calls=50     # part 4b: pull checks per database
live_saves=100  # part 7
live_clients=10 # part 7
dev_rounds=3    # part 8
started_all=$EPOCHREALTIME

# ---- Clean-up: only what this script started, by pid and by name. ----
work=''
dbs=()
watcher_pid=''
live_pid=''
cleanup() {
    local status=$?
    if [[ -n $live_pid ]]; then
        kill "$live_pid" 2>/dev/null || true
    fi
    if [[ -n $watcher_pid ]]; then
        kill -TERM "$watcher_pid" 2>/dev/null || true
        wait "$watcher_pid" 2>/dev/null || true
    fi
    if [[ -n ${DBQ_PID:-} ]]; then
        kill "$DBQ_PID" 2>/dev/null || true
    fi
    if ((${#dbs[@]} > 0)); then
        local sql='' db
        for db in "${dbs[@]}"; do
            sql+="DROP DATABASE IF EXISTS \`$db\`;"
        done
        mariadb_client "$MYBB_SYNC_TEST_URL" -e "$sql" || say "could not drop the scratch databases ${dbs[*]}"
    fi
    if [[ -n $work ]]; then
        rm -rf -- "$work"
    fi
    if declare -F postgres_stop >/dev/null; then
        postgres_stop
    fi
    mariadb_stop
    exit "$status"
}

# ---- Small helpers. ----

# Prints the microseconds since epoch of an $EPOCHREALTIME value.
us() {
    local t=${1/./}
    printf '%s\n' "$((10#$t))"
}

# Prints the median of the integer arguments (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints the median of the decimal arguments, with two decimals.
fmedian() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m }'
}

# Prints A/B with four decimals (a per-round ratio, for fmedian).
div() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", a / b }'
}

# Sets out to a directory path under $work that does not exist yet (see the top: no deletions).
fresh() {
    fresh_n=$((fresh_n + 1))
    out=$work/runs/$fresh_n
}
fresh_n=0

# Prints the nearest-rank percentile P of the integer arguments after P.
percentile() {
    local p=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v p="$p" '{ v[NR] = $1 } END {
        r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

# Prints the largest of the integer arguments.
maxof() {
    printf '%s\n' "$@" | sort -n | tail -n 1
}

# Prints microseconds as milliseconds with one decimal.
ms() {
    awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'
}

# Prints A/B as a ratio with two decimals.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2fx", a / b }'
}

# Prints A/B as a percentage with two decimals.
pct() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", 100 * a / b }'
}

# Prints "ok" if and only if the awk condition holds for x, else "MISSED".
verdict() {
    awk -v x="$1" "BEGIN { print (($2) ? \"ok\" : \"MISSED\") }"
}

# Sleeps for fractional seconds without starting a process: a read that times out on a pipe
# nobody writes to (fd opened below).
nap() {
    read -r -t "$1" -u "$nap_fd" _ || true
}

# Runs the command through bench-helper and sets run_wall, run_user, run_sys (us) and run_rss (kB);
# dies, showing its stderr, if it did not exit 0.
timed() {
    local line status
    line=$("$helper" run "$@" 2>"$work/timed.err") || die "bench-helper run $* failed: $(cat "$work/timed.err")"
    read -r run_wall run_rss run_user run_sys status <<<"$line"
    if [[ $status != 0 ]]; then
        die "$* exited with $status: $(cat "$work/timed.err")"
    fi
}

# Creates the scratch database NAME (dropped at exit) and loads the fixture into it. Prints its URL.
make_db() {
    local name=bench_$$_$1
    dbs+=("$name")
    mariadb_client "$MYBB_SYNC_TEST_URL" -e \
        "DROP DATABASE IF EXISTS \`$name\`; CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" ||
        die "cannot create the database $name"
    mariadb_client "$server/$name$options" <"$fixture" || die "cannot load $fixture into $name"
}

# Prints the URL of scratch database NAME.
db_url() {
    printf '%s\n' "$server/bench_$$_$1$options"
}

# Runs one SQL statement on the persistent watch-database connection and sets REPLY to the first
# line of its answer.
q() {
    printf '%s\n' "$1" >&"${DBQ[1]}"
    IFS= read -r -t 10 REPLY <&"${DBQ[0]}" || die "no answer from the database to: $1"
}

# Stops the persistent database connection of q. Bash unsets DBQ_PID as soon as it reaps the
# coproc, which may be right after the kill, so the pid is kept aside first.
stop_dbq() {
    local pid=${DBQ_PID:-}
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    DBQ_PID=''
}

# Prints the nanoseconds process PID has spent on a CPU, all threads together.
cpu_ns() {
    local f total=0 ns rest
    for f in /proc/"$1"/task/*/schedstat; do
        read -r ns rest <"$f" || continue
        total=$((total + ns))
    done
    printf '%s\n' "$total"
}

# Prints utime + stime of process PID, in clock ticks (fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which may contain spaces).
cpu_ticks() {
    local stat fields
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    read -r -a fields <<<"$stat"
    printf '%s\n' "$((fields[11] + fields[12]))"
}

# Prints the voluntary + involuntary context switches of all threads of PID (its wakeups).
wakeups() {
    cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# Prints field NAME (e.g. VmHWM) of /proc/PID/status, in kB.
vm() {
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Starts `mybb-sync watch` with the extra arguments on ROOT of DB, logging to LOG (its stdout to
# LOG.out), and waits until it says it is watching. Sets watcher_pid.
start_watcher() {
    local url=$1 root=$2 log=$3
    shift 3
    : >"$log" # before the watcher starts, so the grep below never looks for a missing file
    "$bin" --db "$url" --root "$root" watch "$@" >"$log.out" 2>>"$log" &
    watcher_pid=$!
    local deadline=$((SECONDS + 30))
    until grep -q 'watching .* (debounce' "$log"; do
        kill -0 "$watcher_pid" 2>/dev/null || die "the watcher exited at start: $(cat "$log")"
        ((SECONDS < deadline)) || die "the watcher did not start watching within 30 s: $(cat "$log")"
        nap 0.02
    done
}

# Stops the watcher with SIGTERM and sets stop_us to how long it took to exit; dies unless it
# exited 0.
stop_watcher() {
    local t0=$EPOCHREALTIME status=0
    kill -TERM "$watcher_pid"
    wait "$watcher_pid" || status=$?
    stop_us=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
    watcher_pid=''
    ((status == 0)) || die "the watcher exited $status on SIGTERM (expected 0): $(tail -n 5 "$1")"
}

# ---- Build. ----
say "building the release binary"
build_t0=$EPOCHREALTIME
cargo build --release --quiet || die "cargo build --release failed"
build_us=$(($(us "$EPOCHREALTIME") - $(us "$build_t0")))

mariadb_ensure
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
server=${MYBB_SYNC_TEST_URL%%\?*}
options=${MYBB_SYNC_TEST_URL#"$server"}
say "MariaDB server: $(mariadb_redact "$MYBB_SYNC_TEST_URL") ($MARIADB_KIND)"

work=$(mktemp -d "${TMPDIR:-/tmp}/mybb-sync-bench.XXXXXX")
exec {nap_fd}<> <(:)

# On ext2/3/4, marks directory DIR as a top of hierarchies (chattr +T), so that ext4's Orlov
# allocator spreads the directories made in it over block groups instead of packing them, with
# their files, into the group of a busy parent such as /tmp. Where other processes delete many
# files, a packed group is full of recently freed inodes that a journal-less ext4 skips one by
# one: creating a file there was measured at ~0.25 ms instead of ~0.01 ms, which would swamp
# both the tool and its floors. Sets spread to what happened.
spread='no (chattr missing or not ext*)'
spread_dirs() {
    if command -v chattr >/dev/null && chattr +T "$1" 2>/dev/null; then
        spread='yes (chattr +T)'
    fi
}
spread_dirs "$work"

# std only, no dependencies; opt-level and stripping as cargo's release profile.
helper=$work/bench-helper
rustc --edition 2024 -C opt-level=3 -C strip=debuginfo -o "$helper" scripts/bench-helper.rs ||
    die "cannot compile scripts/bench-helper.rs"

# ---- The machine. ----
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
read -r fs_type fs_source < <(df --output=fstype,source "$work" | tail -n 1)
fs_dev=${fs_source##*/}
case $fs_type in
    ext3 | ext4)
        if compgen -G "/proc/fs/jbd2/$fs_dev-*" >/dev/null; then
            fs_type+=' with journal'
        else
            fs_type+=', no journal'
        fi
        ;;
esac
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
server_version=$(mariadb_client "$MYBB_SYNC_TEST_URL" --batch --skip-column-names -e 'SELECT VERSION()')

# shellcheck source=scripts/bench-engines.sh
source scripts/bench-engines.sh
if ((only_engines)); then
    echo "mybb-sync bench --engines, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($cpu_model), $mem_total, $fs_type at ${TMPDIR:-/tmp}, load at start $load_start"
    engines_part
    exit 0
fi

# ---- Databases. ----
say "loading the fixture into scratch databases bench_$$_*"
make_db base
make_db scale
make_db import
make_db watch
make_db live
for ((r = 0; r < dev_rounds; r++)); do
    make_db "dev$r"
done
make_db wone
make_db wscale
# The scale fixture: sets 2..$scale_sets, each with a customised copy of every other master
# template (487 rows per set), so each set renders 974 titles, half of them its own.
scale_values=$(for ((i = 2; i <= scale_sets; i++)); do printf "(%d, 'Scale %d')," "$i" "$i"; done)
scale_sql="
    INSERT INTO mybb_templatesets (sid, title) VALUES ${scale_values%,};
    INSERT INTO mybb_templates (title, template, sid, version, status, dateline)
        SELECT t.title, CONCAT(t.template, '\n<!-- customised for set ', s.sid, ' -->'), s.sid,
               t.version, '', UNIX_TIMESTAMP()
        FROM mybb_templates t JOIN mybb_templatesets s ON s.sid BETWEEN 2 AND $scale_sets
        WHERE t.sid = -2 AND t.tid % 2 = 0"
for db in scale wscale; do
    mariadb_client "$(db_url "$db")" -e "$scale_sql" || die "cannot build the scale fixture $db"
done
# Part 8's one-set board: set 1 with a header of its own, for the pull of a changed set (the
# scale board's sets have theirs: header's tid is even).
mariadb_client "$(db_url wone)" -e "
    INSERT INTO mybb_templates (title, template, sid, version, status, dateline)
        SELECT title, template, 1, version, '', UNIX_TIMESTAMP() FROM mybb_templates
        WHERE sid = -2 AND title = 'header'" || die "cannot give set 1 a header of its own"
scale_rows=$(mariadb_client "$(db_url scale)" --batch --skip-column-names -e \
    "SELECT COUNT(*) FROM mybb_templates WHERE sid BETWEEN 2 AND $scale_sets")

# ---- 1. Export against the floors. ----
say "1/7 export against the floors, $rounds rounds"
# A reference tree: the files every run writes.
"$bin" -q --db "$(db_url base)" --root "$work/ref" --no-fsync export || die "the reference export failed"
ref_files=$(find "$work/ref" -type f ! -name '.*' | wc -l)
floor_a=() floor_t=() floor_b=() floor_b2=() exp_d=() exp_n=() exp_rss=() exp_user=() exp_sys=()
r_d=() r_d2=() r_n=() r_t=() r_nt=()
mkdir "$work/runs"
spread_dirs "$work/runs"
for ((r = 0; r < rounds; r++)); do
    sync -f "$work"
    fresh
    floor_a+=("$("$helper" floor plain "$work/ref" "$out")")
    sync -f "$work"
    fresh
    floor_t+=("$("$helper" floor atomic "$work/ref" "$out")")
    sync -f "$work"
    fresh
    floor_b+=("$("$helper" floor durable "$work/ref" "$out")")
    sync -f "$work"
    fresh
    floor_b2+=("$("$helper" floor resynced "$work/ref" "$out")")
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" export
    exp_d+=("$run_wall") exp_rss+=("$run_rss") exp_user+=("$run_user") exp_sys+=("$run_sys")
    diff -r -q -x '.*' "$work/ref" "$out" >/dev/null || die "the export differs from the reference export"
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" --no-fsync export
    exp_n+=("$run_wall")
    r_d+=("$(div "${exp_d[r]}" "${floor_b[r]}")")
    r_d2+=("$(div "${exp_d[r]}" "${floor_b2[r]}")")
    r_n+=("$(div "${exp_n[r]}" "${floor_a[r]}")")
    r_t+=("$(div "${floor_t[r]}" "${floor_a[r]}")")
    r_nt+=("$(div "${exp_n[r]}" "${floor_t[r]}")")
done
m_floor_a=$(median "${floor_a[@]}")
m_floor_b=$(median "${floor_b[@]}")
m_floor_b2=$(median "${floor_b2[@]}")
m_exp_d=$(median "${exp_d[@]}")
m_exp_n=$(median "${exp_n[@]}")
max_exp_rss=$(maxof "${exp_rss[@]}")
ratio_d=$(fmedian "${r_d[@]}")
ratio_d2=$(fmedian "${r_d2[@]}")
ratio_n=$(fmedian "${r_n[@]}")

# Syscalls per file (issue 16), untimed: one `strace -c -f` run of each export into a new root.
# "files" counts the calls that place files (openat, write, close, rename, renameat2, mkdir,
# fsync, syncfs), "all" everything the process made (loader, database, lock, state: a constant
# per run). The floors' calls are counted from bench-helper.rs's code, not traced (its reading of
# the reference tree would count too): plain 3 per file (open, write, close), atomic 4 (+ rename),
# durable (b2, the export's pattern) 4 + two syncfs (open, syncfs, close each); each + one mkdir per
# directory.
strace_calls() {
    local trace=$work/strace.$fresh_n
    if ! command -v strace >/dev/null || ! strace -c -f -o "$trace" "$@" >/dev/null 2>&1; then
        echo 'n/a n/a'
        return
    fi
    awk '$NF == "total" { all = $4 }
        $NF ~ /^(openat|write|close|rename|renameat2|mkdir|fsync|syncfs)$/ { files += $4 }
        END { print files, all }' "$trace"
}
per_file() {
    if [[ $1 == n/a ]]; then echo n/a; else awk -v n="$1" -v f="$ref_files" 'BEGIN { printf "%.2f\n", n / f }'; fi
}
# The floors' directories: the tree's, DST included (the hidden .mybb-sync is not copied).
ref_dirs=$(find "$work/ref" -type d ! -path '*/.mybb-sync*' | wc -l)
floor_calls_t=$((4 * ref_files + ref_dirs))
floor_calls_b2=$((floor_calls_t + 6))
fresh
read -r sc_n_files sc_n_all < <(strace_calls "$bin" -q --db "$(db_url base)" --root "$out" --no-fsync export)
fresh
read -r sc_d_files sc_d_all < <(strace_calls "$bin" -q --db "$(db_url base)" --root "$out" export)
pf_n=$(per_file "$sc_n_files") pf_n_all=$(per_file "$sc_n_all")
pf_d=$(per_file "$sc_d_files") pf_d_all=$(per_file "$sc_d_all")
pf_floor_t=$(per_file "$floor_calls_t") pf_floor_b2=$(per_file "$floor_calls_b2")
sc_ratio() {
    if [[ $1 == n/a ]]; then echo n/a; else div "$1" "$2" | awk '{ printf "%.2f\n", $1 }'; fi
}
sc_ratio_n=$(sc_ratio "$pf_n" "$pf_floor_t")
sc_ratio_d=$(sc_ratio "$pf_d" "$pf_floor_b2")
sc_verdict() {
    if [[ $1 == n/a ]]; then echo 'n/a (no strace)'; else verdict "$1" 'x <= 1.05'; fi
}

# ---- 2. Scaling. ----
say "2/7 export scaling, $scale_rounds rounds"
one=() ten=() r_ten=() one_rss=() ten_rss=() r_ten_rss=()
for ((r = 0; r < scale_rounds; r++)); do
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" export
    one+=("$run_wall")
    one_rss+=("$run_rss")
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url scale)" --root "$out" export
    ten+=("$run_wall")
    ten_rss+=("$run_rss")
    r_ten+=("$(div "${ten[r]}" "${one[r]}")")
    r_ten_rss+=("$(div "$run_rss" "${one_rss[r]}")")
done
ten_files=$(find "$out" -type f ! -name '.*' | wc -l)
m_one=$(median "${one[@]}")
m_ten=$(median "${ten[@]}")
ratio_ten=$(fmedian "${r_ten[@]}")
ratio_ten_rss=$(fmedian "${r_ten_rss[@]}")
files_ratio=$(awk -v a="$ten_files" -v b="$ref_files" 'BEGIN { printf "%.2f", a / b }')

# ---- Originals of the template files, for the rewrites of parts 3 and 4. ----
mapfile -t rel_files < <(cd "$work/ref" && find template_sets -type f -name '*.html' | sort)
((${#rel_files[@]} == 974)) || die "expected 974 template files in the reference export, found ${#rel_files[@]}"
declare -A orig
for f in "${rel_files[@]}"; do
    IFS= read -r -d '' content <"$work/ref/$f" || true
    orig[$f]=$content
done

# Rewrites every template file under ROOT as an editor would (truncate, write it whole), with
# MARKER appended on a line of its own.
rewrite_all() {
    local root=$1 marker=$2 f
    for f in "${rel_files[@]}"; do
        printf '%s\n%s\n' "${orig[$f]}" "$marker" >"$root/$f"
    done
}

# Prints how many template rows of set 1 in database URL end with MARKER.
count_marked() {
    mariadb_client "$1" --batch --skip-column-names -e \
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '%$2'"
}

# ---- 3. Import. ----
say "3/7 import of 974 changed files, $import_rounds rounds"
"$bin" -q --db "$(db_url import)" --root "$work/imp" export || die "the export before the import failed"
imp=() imp_rss=() imp_exp=() r_imp=()
for ((r = 0; r < import_rounds; r++)); do
    marker="<!-- bench import $r -->"
    rewrite_all "$work/imp" "$marker"
    sync -f "$work"
    timed "$bin" -q --db "$(db_url import)" --root "$work/imp" --no-fsync import
    imp+=("$run_wall")
    imp_rss+=("$run_rss")
    n=$(count_marked "$(db_url import)" "$marker")
    ((n == 974)) || die "after import round $r, $n of 974 rows have the new content"
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url import)" --root "$out" --no-fsync export
    imp_exp+=("$run_wall")
    r_imp+=("$(div "${imp[r]}" "${imp_exp[r]}")")
done
m_imp=$(median "${imp[@]}")
m_imp_exp=$(median "${imp_exp[@]}")
max_imp_rss=$(maxof "${imp_rss[@]}")
ratio_imp=$(fmedian "${r_imp[@]}")

# ---- Theme files (issue 13): theme export of the master theme (974 templates, 7 stylesheets) and
# theme import of MyBB's master theme file, each round paired with a durable `export` of the
# fixture board. Every import creates a theme of its own name (and a template set of 974 rows).
say "theme export and import of the master theme, $import_rounds rounds"
make_db theme
theme_xml=tests/fixtures/mybb-1.8.37-theme.xml
mkdir -p "$work/forum/cache/themes"
thx=() thx_rss=() thi=() thi_rss=() th_base=() r_thx=() r_thi=()
for ((r = 0; r < import_rounds; r++)); do
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" export
    th_base+=("$run_wall")
    timed "$bin" -q --db "$(db_url theme)" --root "$out.none" theme export "MyBB Master Style"
    thx+=("$run_wall") thx_rss+=("$run_rss")
    timed "$bin" -q --db "$(db_url theme)" --mybb "$work/forum" theme import "$theme_xml" --name "Bench $r"
    thi+=("$run_wall") thi_rss+=("$run_rss")
    r_thx+=("$(div "${thx[r]}" "${th_base[r]}")")
    r_thi+=("$(div "${thi[r]}" "${th_base[r]}")")
done
n=$(mariadb_client "$(db_url theme)" --batch --skip-column-names -e \
    "SELECT COUNT(*) FROM mybb_templates t JOIN mybb_templatesets s ON s.sid = t.sid WHERE s.title = 'Bench 0 Templates'")
((n == 974)) || die "after theme import, the set 'Bench 0 Templates' has $n of 974 templates"
m_thx=$(median "${thx[@]}")
m_thi=$(median "${thi[@]}")
m_th_base=$(median "${th_base[@]}")
max_th_rss=$(maxof "${thx_rss[@]}" "${thi_rss[@]}")
ratio_thx=$(fmedian "${r_thx[@]}")
ratio_thi=$(fmedian "${r_thi[@]}")

# ---- Hostile theme files (issue 26): `theme unpack` of a generated file of 10,000 templates
# against one of 1,000 of the same shape (both into one folder, as they have no group), each
# round the two back to back into fresh roots, and of a file whose one element has 80,000
# attributes (refused at the cap) against the same 1,000-template unpack. Linear checks make a
# template of the big file cost what one of the small file's does: the per-template ratio is ~1
# (the quadratic lookup made it grow with the file: 40,000 templates took 29 s); the refused
# file costs less than the small unpack (80,000 attributes took 11 s of CPU). 3 rounds, ~45 MB
# each on disk.
unpack_rounds=3
big_items=10000
small_items=1000
say "theme unpack of hostile theme files, $unpack_rounds rounds"
# Prints a theme file of $1 templates.
theme_of() {
    awk -v n="$1" 'BEGIN {
        printf "<theme name=\"Gen\" version=\"1837\"><templates>\n"
        for (i = 0; i < n; i++) printf "<template name=\"t%d\" version=\"1837\">x%d</template>\n", i, i
        print "</templates></theme>" }'
}
big_xml=$work/big-theme.xml small_xml=$work/small-theme.xml attr_xml=$work/attributes-theme.xml
theme_of "$big_items" >"$big_xml"
theme_of "$small_items" >"$small_xml"
awk 'BEGIN { printf "<theme name=\"Attr\"><templates><template"
    for (i = 0; i < 80000; i++) printf " a%d=\"%d\"", i, i
    print ">x</template></templates></theme>" }' >"$attr_xml"
unp=() unp_base=() unp_attr=() r_unp=() r_attr=()
for ((r = 0; r < unpack_rounds; r++)); do
    sync -f "$work"
    fresh
    timed "$bin" -q --no-fsync theme unpack "$small_xml" --root "$out.small"
    unp_base+=("$run_wall")
    timed "$bin" -q --no-fsync theme unpack "$big_xml" --root "$out.big"
    unp+=("$run_wall")
    # Refused (exit 3), which timed() takes for a failure.
    line=$("$helper" run "$bin" -q theme unpack "$attr_xml" --root "$out.attr" 2>"$work/timed.err") ||
        die "bench-helper run theme unpack $attr_xml failed: $(cat "$work/timed.err")"
    read -r run_wall _ _ _ status <<<"$line"
    [[ $status == 3 ]] || die "theme unpack of $attr_xml exited with $status, not 3 (refused)"
    unp_attr+=("$run_wall")
    r_unp+=("$(awk -v a="${unp[r]}" -v b="${unp_base[r]}" -v n="$big_items" -v m="$small_items" \
        'BEGIN { printf "%.4f\n", (a / n) / (b / m) }')")
    r_attr+=("$(div "${unp_attr[r]}" "${unp_base[r]}")")
done
n=$(find "$out.big" -name '*.html' | wc -l)
((n == big_items)) || die "theme unpack of $big_xml wrote $n of $big_items templates"
m_unp=$(median "${unp[@]}")
m_unp_base=$(median "${unp_base[@]}")
m_unp_attr=$(median "${unp_attr[@]}")
ratio_unp=$(fmedian "${r_unp[@]}")
ratio_attr=$(fmedian "${r_attr[@]}")

# ---- Check (issue 30): `check` of the exported fixture tree (991 files and the baseline of
# masters), each round paired with a durable `export` (the default) and an `export --no-fsync` of
# the same board into a new root. The goal is the default export's ratio: fast enough to run on
# every save.
say "check of the fixture tree, $import_rounds rounds"
"$bin" -q --db "$(db_url base)" --root "$work/chk" export || die "the export before check failed"
chk=() chk_exp=() chk_exp_n=() r_chk=() r_chk_n=()
for ((r = 0; r < import_rounds; r++)); do
    sync -f "$work"
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" export
    chk_exp+=("$run_wall")
    fresh
    timed "$bin" -q --db "$(db_url base)" --root "$out" --no-fsync export
    chk_exp_n+=("$run_wall")
    timed "$bin" -q --root "$work/chk" check
    chk+=("$run_wall")
    r_chk+=("$(div "${chk[r]}" "${chk_exp[r]}")")
    r_chk_n+=("$(div "${chk[r]}" "${chk_exp_n[r]}")")
done
m_chk=$(median "${chk[@]}")
m_chk_exp=$(median "${chk_exp[@]}")
m_chk_exp_n=$(median "${chk_exp_n[@]}")
ratio_chk=$(fmedian "${r_chk[@]}")
ratio_chk_n=$(fmedian "${r_chk_n[@]}")

# ---- 5 (first, while nothing has happened in it). The idle watcher, default settings. ----
say "5/7 idle watcher with default settings, ${idle_secs} s"
timed "$bin" --version
base_rss=$run_rss
"$bin" -q --db "$(db_url watch)" --root "$work/w" export || die "the export before watching failed"
start_watcher "$(db_url watch)" "$work/w" "$work/idle.log"
# Past the first pull (due 2 s after start, --pull-interval's default), which compares every
# file with the database once; from then on a pull is one cheap fingerprint query.
nap 3
startup_ns=$(cpu_ns "$watcher_pid")
ns0=$startup_ns ticks0=$(cpu_ticks "$watcher_pid") wake0=$(wakeups "$watcher_pid")
t0=$EPOCHREALTIME
nap "$idle_secs"
ns1=$(cpu_ns "$watcher_pid") ticks1=$(cpu_ticks "$watcher_pid") wake1=$(wakeups "$watcher_pid")
idle_wall=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
idle_hwm=$(vm "$watcher_pid" VmHWM)
idle_rss=$(vm "$watcher_pid" VmRSS)
threads=$(find /proc/"$watcher_pid"/task -mindepth 1 -maxdepth 1 | wc -l)
stop_watcher "$work/idle.log"
idle_stop_us=$stop_us
idle_cpu_us=$(((ns1 - ns0) / 1000))
idle_ticks=$((ticks1 - ticks0))
idle_wakeups=$((wake1 - wake0))
clk_tck=$(getconf CLK_TCK)

# ---- 4. Watch latency and burst. ----
say "4/7 watch: $saves saves, then a burst of 974 (--debounce $debounce)"
coproc DBQ { mariadb_client "$(db_url watch)" --batch --skip-column-names --unbuffered 2>&1; }
start_watcher "$(db_url watch)" "$work/w" "$work/watch.log" --debounce "$debounce"
lat=()
saves_ns0=$(cpu_ns "$watcher_pid") saves_t0=$EPOCHREALTIME
for ((i = 0; i < saves; i++)); do
    # 100 files, each saved twice: a copy-on-write INSERT, later an UPDATE of that row.
    f=${rel_files[(i % 100) * 9]}
    title=${f##*/}
    title=${title%.html}
    [[ $title != *[\'\\%]* ]] || die "unexpected title $title"
    marker="<!-- bench save $i -->"
    sql="SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND title = '$title' AND template LIKE '%$marker';"
    t0=$EPOCHREALTIME
    printf '%s\n%s\n' "${orig[$f]}" "$marker" >"$work/w/$f"
    deadline=$((SECONDS + 10))
    while q "$sql" && [[ $REPLY != 1 ]]; do
        ((SECONDS < deadline)) || die "save $i ($f) not in the database after 10 s: $(tail -n 5 "$work/watch.log")"
        nap 0.001
    done
    lat+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
    nap 0.03 # a pause between saves, as a person's would be (and the batch's state write ends)
done
saves_cpu_us=$((($(cpu_ns "$watcher_pid") - saves_ns0) / 1000))
saves_wall_us=$(($(us "$EPOCHREALTIME") - $(us "$saves_t0")))
m_lat=$(median "${lat[@]}")
p95_lat=$(percentile 95 "${lat[@]}")
max_lat=$(maxof "${lat[@]}")

nap 0.5
marker="<!-- bench burst $$ -->"
t0=$EPOCHREALTIME
rewrite_all "$work/w" "$marker"
burst_write_us=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
burst_n=0
deadline=$((SECONDS + 30))
while q "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '%$marker';" && ((REPLY < 974)); do
    burst_n=$REPLY
    ((SECONDS < deadline)) || break
    nap 0.005
done
burst_n=$REPLY
burst_us=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
watch_hwm=$(vm "$watcher_pid" VmHWM)
stop_watcher "$work/watch.log"
watch_stop_us=$stop_us
stop_dbq

# ---- 7. Live reload. ----
say "7/7 live reload: idle with $live_clients browsers, then $live_saves stylesheet saves with one listening"
mkdir -p "$work/forum/cache/themes"
"$bin" -q --db "$(db_url live)" --root "$work/l" export || die "the export before live reload failed"
"$bin" -q --db "$(db_url live)" --mybb "$work/forum" cache rebuild || die "cache rebuild before live reload failed"
coproc DBQ { mariadb_client "$(db_url live)" --batch --skip-column-names --unbuffered 2>&1; }
start_watcher "$(db_url live)" "$work/l" "$work/live.log" --mybb "$work/forum" --debounce "$debounce" \
    --live-reload 127.0.0.1:0
live_addr=$(sed -n 's/^live reload: listening on \([^;]*\);.*/\1/p' "$work/live.log.out")
[[ -n $live_addr ]] || die "the watcher did not say where it listens: $(cat "$work/live.log.out")"

# Starts bench-helper live with N browsers [and the FILE to stamp], reading its lines from
# live_fd; waits for `ready`.
start_browsers() {
    rm -f "$work/live.fifo"
    mkfifo "$work/live.fifo"
    "$helper" live "$live_addr" "$@" >"$work/live.fifo" 2>"$work/live.err" &
    live_pid=$!
    exec {live_fd}<"$work/live.fifo"
    local line=''
    IFS= read -r -t 10 line <&"$live_fd" || true
    [[ $line == ready ]] || die "bench-helper live did not connect: $line $(cat "$work/live.err")"
}
stop_browsers() {
    kill "$live_pid" 2>/dev/null || true
    wait "$live_pid" 2>/dev/null || true
    live_pid=''
    exec {live_fd}<&-
}

nap 3 # past the first pull, as in part 5
live_rss0=$(vm "$watcher_pid" VmRSS)
start_browsers "$live_clients"
ns0=$(cpu_ns "$watcher_pid") wake0=$(wakeups "$watcher_pid")
t0=$EPOCHREALTIME
nap "$idle_secs"
ns1=$(cpu_ns "$watcher_pid") wake1=$(wakeups "$watcher_pid")
live_idle_wall=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
live_idle_cpu_us=$(((ns1 - ns0) / 1000))
live_idle_wakeups=$((wake1 - wake0))
live_rss=$(vm "$watcher_pid" VmRSS)
live_threads=$(find /proc/"$watcher_pid"/task -mindepth 1 -maxdepth 1 | wc -l)
stop_browsers

css=styles/Default/color_black.css
start_browsers 1 "$work/forum/cache/themes/theme2/color_black.css"
css_orig=$(<"$work/l/$css")
live_db=() live_rl=() live_cache=()
for ((i = 0; i < live_saves; i++)); do
    sql="SELECT COUNT(*) FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css' AND stylesheet LIKE '%bench live $i */%';"
    t0=$EPOCHREALTIME
    printf '%s\n/* bench live %s */\n' "$css_orig" "$i" >"$work/l/$css"
    deadline=$((SECONDS + 10))
    while q "$sql" && [[ $REPLY != 1 ]]; do
        ((SECONDS < deadline)) || die "live save $i not in the database after 10 s: $(tail -n 5 "$work/live.log")"
        nap 0.001
    done
    live_db+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
    IFS=' ' read -r -t 10 t_msg t_file msg <&"$live_fd" || die "no reload for live save $i: $(tail -n 5 "$work/live.log")"
    [[ $msg == *'"path":"cache/themes/theme2/color_black.css","liveCSS":true'* ]] ||
        die "unexpected message for live save $i: $msg"
    live_rl+=($((t_msg - $(us "$t0"))))
    live_cache+=($((t_msg - t_file)))
    nap 0.03
done
m_live_db=$(median "${live_db[@]}")
m_live_rl=$(median "${live_rl[@]}")
m_live_cache=$(median "${live_cache[@]}")
p95_live_db=$(percentile 95 "${live_db[@]}")
p95_live_rl=$(percentile 95 "${live_rl[@]}")
p95_live_cache=$(percentile 95 "${live_cache[@]}")
live_hwm=$(vm "$watcher_pid" VmHWM)
stop_browsers
stop_watcher "$work/live.log"
stop_dbq

# ---- 8. Development copies: dev to the first live reload, publish to the served file. ----
say "8 dev and publish, $dev_rounds rounds"
copy='Default (development)'
dev_first=() dev_exp=() pub_served=() r_dev=() r_pub=()
for ((r = 0; r < dev_rounds; r++)); do
    url=$(db_url "dev$r")
    fresh
    t_exp0=$EPOCHREALTIME
    "$bin" -q --no-fsync --db "$url" --root "$out" export || die "the export of round $r failed"
    exp_us=$(($(us "$EPOCHREALTIME") - $(us "$t_exp0")))
    dev_exp+=("$exp_us")
    forum_dev=$work/forum_dev$r root_dev=$work/dv$r
    mkdir -p "$forum_dev/cache/themes"
    "$bin" -q --db "$url" --mybb "$forum_dev" cache rebuild || die "cache rebuild before dev failed"
    log=$work/dev$r.log
    : >"$log"
    t0=$EPOCHREALTIME
    "$bin" --no-fsync --db "$url" --root "$root_dev" --mybb "$forum_dev" dev Default \
        --live-reload 127.0.0.1:0 >"$log.out" 2>>"$log" &
    watcher_pid=$!
    deadline=$((SECONDS + 30))
    until grep -q 'watching .* (debounce' "$log" 2>/dev/null; do
        ((SECONDS < deadline)) || die "dev did not start watching: $(tail -n 5 "$log")"
        nap 0.001
    done
    live_addr=$(sed -n 's/^  live reload: listening on \([^;]*\);.*/\1/p' "$log.out")
    [[ -n $live_addr ]] || die "dev did not say where it listens: $(cat "$log.out")"
    start_browsers 1
    header="$root_dev/template_sets/$copy Templates/Header Templates/header.html"
    printf '%s\n<!-- bench dev %s -->\n' "$(<"$header")" "$r" >"$header"
    IFS=' ' read -r -t 10 t_msg _ msg <&"$live_fd" || die "no reload for the dev save of round $r: $(tail -n 5 "$log")"
    [[ $msg == *header.html* ]] || die "unexpected message for the dev save of round $r: $msg"
    dev_first+=($((t_msg - $(us "$t0"))))
    stop_browsers
    stop_watcher "$log"
    css="$root_dev/styles/$copy/global.css"
    printf '%s\n/* bench publish %s */\n' "$(<"$css")" "$r" >"$css"
    "$bin" -q --no-fsync --db "$url" --root "$root_dev" --mybb "$forum_dev" import "$css" ||
        die "the import before publish failed"
    served=$forum_dev/cache/themes/theme2/global.css
    t0=$EPOCHREALTIME
    "$bin" -q --no-fsync --db "$url" --root "$root_dev" --mybb "$forum_dev" publish >/dev/null &
    pub_pid=$!
    deadline=$((SECONDS + 30))
    until grep -q "bench publish $r" "$served" 2>/dev/null; do
        ((SECONDS < deadline)) || die "publish of round $r never reached $served"
        nap 0.001
    done
    pub_served+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
    wait "$pub_pid" || die "publish of round $r failed"
    r_dev+=("$(div "${dev_first[-1]}" "$exp_us")")
    r_pub+=("$(div "${pub_served[-1]}" "$exp_us")")
done
m_dev_first=$(median "${dev_first[@]}")
m_dev_exp=$(median "${dev_exp[@]}")
m_pub=$(median "${pub_served[@]}")
ratio_dev=$(fmedian "${r_dev[@]}")
ratio_pub=$(fmedian "${r_pub[@]}")

# ---- 4b. The pull check: what a watcher asks the database every --pull-interval. ----
# The same statement as Db::fingerprint (src/mybb/db/mysql/reads.rs), wrapped so that it
# answers one line; timed per call over one persistent connection, client round trip
# included, as the watcher pays it. On the fixture (1 set + master) and the scale database
# (10 sets).
fp_sql="SELECT COUNT(*) FROM (
  SELECT 0 AS k, sid, COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS(':', tid, dateline, title, template))) AS x
    FROM mybb_templates GROUP BY sid
  UNION ALL SELECT 1, tid, COUNT(*),
    BIT_XOR(CRC32(CONCAT_WS(':', sid, lastmodified, name, attachedto, stylesheet)))
    FROM mybb_themestylesheets GROUP BY tid
  UNION ALL SELECT 2, 0, (SELECT COUNT(*) FROM mybb_templatesets), (SELECT COUNT(*) FROM mybb_themes)
) AS f;"
fp_sql=${fp_sql//$'\n'/ }
say "4b/6 the pull check, $fp_calls calls on 1 and on $scale_sets sets"
coproc DBQ { mariadb_client "$(db_url base)" --batch --skip-column-names --unbuffered 2>&1; }
fp_time() {
    local -n into=$1
    local i t0
    into=()
    for ((i = 0; i < fp_calls; i++)); do
        t0=$EPOCHREALTIME
        q "$fp_sql"
        into+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
    done
}
fp_time fp_one
q "USE \`bench_$$_scale\`; SELECT 1;"
fp_time fp_ten
m_fp_one=$(median "${fp_one[@]}")
m_fp_ten=$(median "${fp_ten[@]}")
kill "$DBQ_PID" 2>/dev/null || true
wait "$DBQ_PID" 2>/dev/null || true
DBQ_PID=''

# ---- 9. Scale (issue 32): a watcher on the one-set board against one on the scale board. ----
# Each: export (untimed), then `watch --pull-interval 0.1` with the watcher's debug log: the
# start-up (spawn to "watching": the reconcile of every file), the first pull (which compares
# every set, having no fingerprint yet), VmHWM and CPU idle for 5 s, then $scale_pulls pulls of a
# changed set (an UPDATE of one set's header, as the Admin CP makes, to the file on disk);
# on the scale board then a burst of $scale_burst saves spread over several sets.
say "9/9 scale: watchers on 1 and $scale_sets sets, pulls of a changed set, a burst of $scale_burst saves"
# Runs the part on database NAME with the header of set SID; sets sw_* with suffix SUFFIX.
scale_watch() {
    local name=$1 sid=$2 suffix=$3 root=$work/sw.$1 log=$work/sw.$1.log t0 i file marker
    "$bin" -q --db "$(db_url "$name")" --root "$root" export || die "the export before the $name watcher failed"
    file=$(find "$root/template_sets" -path "*/Header Templates/header.html" | sort | head -n 1)
    [[ $sid != 1 ]] && file="$root/template_sets/Scale $sid/Header Templates/header.html"
    [[ -f $file ]] || die "no header file for set $sid in $root"
    : >"$log"
    t0=$EPOCHREALTIME
    RUST_LOG=mybb_sync::sync::watcher=debug start_watcher "$(db_url "$name")" "$root" "$log" --pull-interval 0.1
    printf -v "sw_start_$suffix" '%s' "$(($(us "$EPOCHREALTIME") - $(us "$t0")))"
    local deadline=$((SECONDS + 120))
    until grep -q 'debug: pulled: ' "$log"; do
        ((SECONDS < deadline)) || die "the $name watcher's first pull did not end within 120 s"
        nap 0.01
    done
    printf -v "sw_first_$suffix" '%s' "$(($(us "$EPOCHREALTIME") - $(us "$t0")))"
    local ns0 ns1
    ns0=$(cpu_ns "$watcher_pid")
    nap 5
    ns1=$(cpu_ns "$watcher_pid")
    printf -v "sw_cpu_$suffix" '%s' "$(((ns1 - ns0) / 1000))"
    printf -v "sw_hwm_$suffix" '%s' "$(vm "$watcher_pid" VmHWM)"
    local pulls=()
    for ((i = 0; i < scale_pulls; i++)); do
        marker="<!-- bench pull $$ $i -->"
        t0=$EPOCHREALTIME
        mariadb_client "$(db_url "$name")" -e "UPDATE mybb_templates SET template = CONCAT(template, '$marker'),
            dateline = dateline + 1 WHERE sid = $sid AND title = 'header'" || die "cannot edit set $sid's header"
        deadline=$((SECONDS + 30))
        until grep -qF -- "$marker" "$file"; do
            ((SECONDS < deadline)) || die "the edit of set $sid's header did not reach $file within 30 s"
            nap 0.002
        done
        pulls+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
        nap 0.3
    done
    printf -v "sw_pull_$suffix" '%s' "$(median "${pulls[@]}")"
    # Started again on the same files: a start-up and a first pull that find every file as the
    # state recorded it (its size and times) read none of them (issue 32).
    stop_watcher "$log"
    : >"$log"
    t0=$EPOCHREALTIME
    RUST_LOG=mybb_sync::sync::watcher=debug start_watcher "$(db_url "$name")" "$root" "$log" --pull-interval 0.1
    printf -v "sw_restart_$suffix" '%s' "$(($(us "$EPOCHREALTIME") - $(us "$t0")))"
    deadline=$((SECONDS + 120))
    until grep -q 'debug: pulled: ' "$log"; do
        ((SECONDS < deadline)) || die "the restarted $name watcher's first pull did not end within 120 s"
        nap 0.01
    done
    printf -v "sw_refirst_$suffix" '%s' "$(($(us "$EPOCHREALTIME") - $(us "$t0")))"
}
scale_watch wone 1 1
stop_watcher "$work/sw.wone.log"
scale_watch wscale 15 n
# The burst: the first $scale_burst template files in path order (whole sets), each rewritten
# as an editor would, with a marker line; done when that many rows end with the marker.
mapfile -t burst_files < <(cd "$work/sw.wscale" && find template_sets -type f -name '*.html' | sort | head -n "$scale_burst")
((${#burst_files[@]} == scale_burst)) || die "expected $scale_burst template files, found ${#burst_files[@]}"
declare -A burst_orig
for f in "${burst_files[@]}"; do
    IFS= read -r -d '' content <"$work/sw.wscale/$f" || true
    burst_orig[$f]=$content
done
coproc DBQ { mariadb_client "$(db_url wscale)" --batch --skip-column-names --unbuffered 2>&1; }
marker="<!-- bench scale burst $$ -->"
t0=$EPOCHREALTIME
for f in "${burst_files[@]}"; do
    printf '%s\n%s\n' "${burst_orig[$f]}" "$marker" >"$work/sw.wscale/$f"
done
sw_burst_write_us=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
sw_burst_n=0
deadline=$((SECONDS + 180))
while q "SELECT COUNT(*) FROM mybb_templates WHERE template LIKE '%$marker';" && ((REPLY < scale_burst)); do
    ((SECONDS < deadline)) || break
    nap 0.02
done
sw_burst_n=$REPLY
sw_burst_us=$(($(us "$EPOCHREALTIME") - $(us "$t0")))
sw_burst_hwm=$(vm "$watcher_pid" VmHWM)
stop_watcher "$work/sw.wscale.log"
stop_dbq

# ---- 6. Size and crates. ----
say "6/7 binary size and crates"
bin_size=$(stat -c %s "$bin")
helper_size=$(stat -c %s "$helper")
crates=$(cargo tree --offline --locked --prefix none --edges normal 2>/dev/null ||
    cargo tree --locked --prefix none --edges normal) || die "cargo tree failed"
n_crates=$(sed -e 's/ (\*)$//' -e 's/ (proc-macro)//' <<<"$crates" | awk 'NF { print $1, $2 }' | sort -u | grep -v -c '^mybb-sync ')
n_lock=$(grep -c '^name = ' Cargo.lock)
n_lock=$((n_lock - 1))
total_us=$(($(us "$EPOCHREALTIME") - $(us "$started_all")))

# ---- The table. ----
kb() {
    awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'
}
row() {
    printf '%-40s %-12s %-38s %-8s %-22s %s\n' "$@"
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=''
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    dirty=' (+ uncommitted changes)'
fi
echo "mybb-sync bench: commit $commit$dirty, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($cpu_model), $mem_total RAM, Linux $(uname -r), temp dir on $fs_type ($fs_source)"
echo "load average (1, 5, 15 min): $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
    "run directories spread over block groups: $spread"
echo "MariaDB $server_version ($MARIADB_KIND server), $(rustc --version | cut -d' ' -f1,2)"
echo "all figures from this run; times are medians unless marked; ratio: median of the per-round ratios"
echo "of value to baseline where they ran in rounds (export, scaling, import), else value / baseline"
echo
row measure value "baseline (same run)" ratio goal result
row "export 991 files, durable (default)" "$(ms "$m_exp_d")" "floor b, batched durable: $(ms "$m_floor_b")" \
    "${ratio_d}x" "<= 1.5x floor b" "$(verdict "$ratio_d" 'x <= 1.5')"
row "export 991 files, durable, vs b2" "$(ms "$m_exp_d")" "floor b2, syncfs twice: $(ms "$m_floor_b2")" \
    "${ratio_d2}x" "(report)" "-"
row "export 991 files, --no-fsync" "$(ms "$m_exp_n")" "floor a, plain writes: $(ms "$m_floor_a")" \
    "${ratio_n}x" "<= 2x floor a" "$(verdict "$ratio_n" 'x <= 2')"
row "syscalls/file, export --no-fsync" "$pf_n" "atomic floor (open, write, close, rename): $pf_floor_t" \
    "${sc_ratio_n}x" "<= floor (+5%)" "$(sc_verdict "$sc_ratio_n")"
row "syscalls/file, export durable" "$pf_d" "floor b2 (+ syncfs twice): $pf_floor_b2" \
    "${sc_ratio_d}x" "<= floor (+5%)" "$(sc_verdict "$sc_ratio_d")"
row "export $scale_sets sets ($ten_files files)" "$(ms "$m_ten")" "1 set ($ref_files files): $(ms "$m_one")" \
    "${ratio_ten}x" "<= ${scale_sets}x" "$(verdict "$ratio_ten" "x <= $scale_sets")"
row "peak RSS, export $scale_sets sets" "$(kb "$(median "${ten_rss[@]}")")" "1 set: $(kb "$(median "${one_rss[@]}")")" \
    "${ratio_ten_rss}x" "<= 2x" "$(verdict "$ratio_ten_rss" 'x <= 2')"
row "watcher start-up, $scale_sets sets" "$(ms "$sw_start_n")" "1 set: $(ms "$sw_start_1")" \
    "$(ratio "$sw_start_n" "$sw_start_1")" "(report)" "-"
row "watcher start-up again, $scale_sets sets" "$(ms "$sw_restart_n")" "1 set: $(ms "$sw_restart_1")" \
    "$(ratio "$sw_restart_n" "$sw_restart_1")" "(report)" "-"
row "peak RSS, idle watcher, $scale_sets sets" "$(kb "$sw_hwm_n")" "1 set: $(kb "$sw_hwm_1")" \
    "$(ratio "$sw_hwm_n" "$sw_hwm_1")" "<= 2x" "$(verdict "$(ratio "$sw_hwm_n" "$sw_hwm_1" | tr -d x)" 'x <= 2')"
row "idle watcher CPU 5 s, $scale_sets sets" "$(ms "$sw_cpu_n")" "1 set: $(ms "$sw_cpu_1")" \
    "$(ratio "$sw_cpu_n" "$sw_cpu_1")" "(report)" "-"
row "pull of a changed set, $scale_sets sets" "$(ms "$sw_pull_n")" "1 set: $(ms "$sw_pull_1")" \
    "$(ratio "$sw_pull_n" "$sw_pull_1")" "~1x (what changed)" "$(verdict "$(ratio "$sw_pull_n" "$sw_pull_1" | tr -d x)" 'x <= 2')"
row "watch burst of $scale_burst saves, $scale_sets sets" "$(ms "$sw_burst_us")" "974 saves, 1 set (part 4): $(ms "$burst_us")" \
    "$(ratio "$sw_burst_us" "$burst_us")" "(report; files 5.1x)" \
    "$( ((sw_burst_n == scale_burst)) && echo - || echo "MISSED ($sw_burst_n/$scale_burst)")"
row "import 974 changed files, --no-fsync" "$(ms "$m_imp")" "export --no-fsync of the same: $(ms "$m_imp_exp")" \
    "${ratio_imp}x" "<= 2x" "$(verdict "$ratio_imp" 'x <= 2')"
row "check 991 files" "$(ms "$m_chk")" "export of the same board: $(ms "$m_chk_exp")" \
    "${ratio_chk}x" "<= 2x" "$(verdict "$ratio_chk" 'x <= 2')"
row "theme export, master (974+7 items)" "$(ms "$m_thx")" "export of the board: $(ms "$m_th_base")" \
    "${ratio_thx}x" "(report)" "-"
row "theme import, master theme file" "$(ms "$m_thi")" "export of the board: $(ms "$m_th_base")" \
    "${ratio_thi}x" "(report)" "-"
row "theme unpack, $big_items templates, per template" "$(ms "$m_unp")" \
    "$small_items templates: $(ms "$m_unp_base")" \
    "${ratio_unp}x" "<= 2x (linear)" "$(verdict "$ratio_unp" 'x <= 2')"
row "theme unpack, 80,000 attributes (refused)" "$(ms "$m_unp_attr")" \
    "$small_items templates: $(ms "$m_unp_base")" "${ratio_attr}x" "<= 1x" "$(verdict "$ratio_attr" 'x <= 1')"
row "peak RSS, theme export/import (max)" "$(kb "$max_th_rss")" "export: $(kb "$max_exp_rss")" \
    "$(ratio "$max_th_rss" "$max_exp_rss")" "(report)" "-"
row "watch save->DB, median of $saves" "$(ms "$m_lat")" "debounce window: $debounce.0 ms" \
    "$(ratio "$m_lat" $((debounce * 1000)))" "<= debounce + 20 ms" "$(verdict "$m_lat" "x <= $(((debounce + 20) * 1000))")"
row "watch save->DB, p95 (max $(ms "$max_lat"))" "$(ms "$p95_lat")" "debounce window: $debounce.0 ms" \
    "$(ratio "$p95_lat" $((debounce * 1000)))" "(report)" "-"
row "watch burst of 974 saves, all in DB" "$(ms "$burst_us")" "writing the 974 files: $(ms "$burst_write_us")" \
    "$(ratio "$burst_us" "$burst_write_us")" "< 2 s, 974/974" \
    "$( ((burst_n == 974)) && verdict "$burst_us" 'x < 2000000' || echo "MISSED ($burst_n/974)")"
row "pull check per call, 1 set" "$(ms "$m_fp_one")" "pull interval: 2000.0 ms" \
    "$(pct "$m_fp_one" 2000000)" "(report)" "-"
row "pull check per call, $scale_sets sets" "$(ms "$m_fp_ten")" "pull interval: 2000.0 ms" \
    "$(pct "$m_fp_ten" 2000000)" "(report)" "-"
row "peak RSS, export (max of $rounds)" "$(kb "$max_exp_rss")" "mybb-sync --version: $(kb "$base_rss")" \
    "$(ratio "$max_exp_rss" "$base_rss")" "< 10 MB" "$(verdict "$max_exp_rss" 'x < 10240')"
row "peak RSS, idle watcher (VmHWM)" "$(kb "$idle_hwm")" "mybb-sync --version: $(kb "$base_rss")" \
    "$(ratio "$idle_hwm" "$base_rss")" "< 10 MB" "$(verdict "$idle_hwm" 'x < 10240')"
row "idle watcher CPU over ${idle_secs} s" "$(ms "$idle_cpu_us")" "wall time: $(ms "$idle_wall")" \
    "$(awk -v a="$idle_cpu_us" -v b="$idle_wall" 'BEGIN { printf "%.3f%%", 100 * a / b }')" "~0 (< 0.1%)" \
    "$(verdict "$idle_cpu_us" "x < $idle_wall / 1000")"
row "live: save->reload, median of $live_saves" "$(ms "$m_live_rl")" "save->DB, same saves: $(ms "$m_live_db")" \
    "$(ratio "$m_live_rl" "$m_live_db")" "(report)" "-"
row "live: save->reload, p95" "$(ms "$p95_live_rl")" "save->DB, p95: $(ms "$p95_live_db")" \
    "$(ratio "$p95_live_rl" "$p95_live_db")" "(report)" "-"
row "live: idle CPU, $live_clients browsers, ${idle_secs} s" "$(ms "$live_idle_cpu_us")" "no live reload (part 5): $(ms "$idle_cpu_us")" \
    "$(ratio "$live_idle_cpu_us" "$idle_cpu_us")" "~0 (< 0.1%)" "$(verdict "$live_idle_cpu_us" "x < $live_idle_wall / 1000")"
row "live: RSS, $live_clients browsers (VmRSS)" "$(kb "$live_rss")" "the same watcher, none: $(kb "$live_rss0")" \
    "$(ratio "$live_rss" "$live_rss0")" "< 10 MB" "$(verdict "$live_rss" 'x < 10240')"
row "dev THEME -> first live reload" "$(ms "$m_dev_first")" "export --no-fsync, same board: $(ms "$m_dev_exp")" \
    "${ratio_dev}x" "(report)" "-"
row "publish -> live cache file served" "$(ms "$m_pub")" "export --no-fsync, same board: $(ms "$m_dev_exp")" \
    "${ratio_pub}x" "(report)" "-"
row "binary size (release)" "$(kb "$((bin_size / 1024))")" "std-only binary: $(kb "$((helper_size / 1024))")" \
    "$(ratio "$bin_size" "$helper_size")" "(report)" "-"
row "crates, cargo tree --edges normal" "$n_crates" "packages in Cargo.lock: $n_lock" \
    "$(ratio "$n_crates" "$n_lock")" "(report)" "-"
echo
echo "details:"
echo "  export CPU (median): user $(ms "$(median "${exp_user[@]}")"), system $(ms "$(median "${exp_sys[@]}")")"
echo "  export runs (ms): durable $(for v in "${exp_d[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')," \
    "--no-fsync $(for v in "${exp_n[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')"
echo "  floors (ms): a $(for v in "${floor_a[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')," \
    "b $(for v in "${floor_b[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')," \
    "b2 $(for v in "${floor_b2[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')"
echo "  baselines: the Python original that issue 16 compares with is in no registry and cannot be installed"
echo "  here, so the floors above (bench-helper.rs, same run) are the export's baselines"
echo "  syscalls (strace -c -f, one run each): --no-fsync $sc_n_files placing files, $sc_n_all in all ($pf_n_all per file);" \
    "durable $sc_d_files and $sc_d_all ($pf_d_all per file); floors counted from their code: atomic $floor_calls_t, b2 $floor_calls_b2"
echo "  atomic floor (temp files + renames, no sync; what --no-fsync cannot skip): $(ms "$(median "${floor_t[@]}")")," \
    "$(fmedian "${r_t[@]}")x floor a; --no-fsync export: $(fmedian "${r_nt[@]}")x this floor"
if [[ $fs_type == *'no journal'* ]]; then
    echo "  NOTE: the temp filesystem is ext4 without a journal: there, creating a file costs more the more"
    echo "  files any process deleted nearby in the last ~35 s, which inflates the floors and compresses the"
    echo "  export ratios toward 1 (see the top of bench.sh). For figures like a server's, run with TMPDIR"
    echo "  on a journaled filesystem."
fi
spread_a=$(awk -v a="$(maxof "${floor_a[@]}")" -v b="$(printf '%s\n' "${floor_a[@]}" | sort -n | head -n 1)" \
    'BEGIN { printf "%.1f", a / b }')
if awk -v x="$spread_a" 'BEGIN { exit !(x > 2) }'; then
    echo "  WARNING: floor a varied ${spread_a}x within this run (the same work each time): the machine or its"
    echo "  filesystem was busy (see the load average; on ext4 without a journal, other processes' deletions"
    echo "  make creating files slow). Such a run compresses the export ratios toward 1; compare several runs."
fi
echo "  check runs (ms): $(for v in "${chk[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ');" \
    "against export --no-fsync ($(ms "$m_chk_exp_n")): ${ratio_chk_n}x"
echo "  scale fixture: $scale_rows customised rows in sets 2..$scale_sets; files ratio $files_ratio"
echo "  scale watchers (part 9, --pull-interval 0.1): start-up is spawn to 'watching' (the reconcile of every file);" \
    "first pull after it (compares every set) 1 set $(ms "$sw_first_1"), $scale_sets sets $(ms "$sw_first_n");" \
    "started again on the same files (nothing changed, nothing read), to its first pull: 1 set $(ms "$sw_refirst_1"), $scale_sets sets $(ms "$sw_refirst_n");" \
    "pull of a changed set: Admin CP-like UPDATE to the file on disk, median of $scale_pulls (up to 100 ms of it the interval)"
echo "  scale watcher after the burst: VmHWM $(kb "$sw_burst_hwm"); burst files written in $(ms "$sw_burst_write_us")"
echo "  import runs (ms): $(for v in "${imp[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')" \
    "(the first creates 974 copy-on-write rows, later ones update them); peak RSS $(kb "$max_imp_rss")"
echo "  idle watcher (defaults: debounce 75 ms, pull every 2 s): start-up CPU (reconcile, first pull) $(ms "$((startup_ns / 1000))"), $threads threads, VmRSS $(kb "$idle_rss") at the end," \
    "$idle_ticks ticks of utime+stime (1 tick = $((1000 / clk_tck)) ms), $idle_wakeups wakeups in ${idle_secs} s"
echo "  watcher CPU during the $saves saves: $(ms "$saves_cpu_us") in $(ms "$saves_wall_us")," \
    "$(ms "$((saves_cpu_us / saves))") per save (each batch, with a pull check before and after its writes)"
echo "  pull check calls (ms): 1 set max $(ms "$(maxof "${fp_one[@]}")"), $scale_sets sets max $(ms "$(maxof "${fp_ten[@]}")")"
echo "  watcher after the burst: VmHWM $(kb "$watch_hwm"); SIGTERM to exit 0: idle $(ms "$idle_stop_us"), after the burst $(ms "$watch_stop_us")"
echo "  latency is polled every ~1.4 ms over one client connection: figures are late by up to ~1.5 ms"
echo "  live reload: a stylesheet save is announced after its row, both cache files and the stylesheet lists:" \
    "from the cache file's mtime to the reload received, median $(ms "$m_live_cache"), p95 $(ms "$p95_live_cache")"
echo "  live reload, idle with $live_clients browsers: $live_threads threads, $live_idle_wakeups wakeups in ${idle_secs} s" \
    "(part 5 without: $idle_wakeups); VmHWM after the $live_saves saves $(kb "$live_hwm")"
echo "  dev and publish (ms): dev to first reload $(for v in "${dev_first[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')," \
    "publish to served $(for v in "${pub_served[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')," \
    "export $(for v in "${dev_exp[@]}"; do ms "$v" | cut -d' ' -f1; done | paste -sd' ')"
echo "  crates: host target, normal edges, each name+version once, mybb-sync not counted"
echo "  wall time of this script: $(awk -v u="$total_us" 'BEGIN { printf "%.0f s", u / 1e6 }')" \
    "(of which cargo build $(awk -v u="$build_us" 'BEGIN { printf "%.0f s", u / 1e6 }'))"

# ---- Engines (issue 31): the same figures on MariaDB, SQLite and PostgreSQL (scripts/bench-engines.sh). ----
engines_part
