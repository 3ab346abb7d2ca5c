# scripts/bench-engines.sh: `scripts/bench.sh --engines`, the same figures on each engine (issue 31).
# shellcheck shell=bash
#
# A library of bench.sh, sourced after its helpers (timed, median, fmedian, div, fresh, nap, us,
# ms, ratio) and its setup ($bin, $helper, $work, $fixture, MariaDB's db_url/make_db). For each
# engine, MariaDB, SQLite (sqlite:PATH, built by examples/sqlite-board.rs) and PostgreSQL (a
# throwaway cluster of scripts/postgres.sh, built by examples/pg-board.rs through psql; skipped
# when the server programs are missing), on the fixture board, each figure against a floor of the
# same engine measured in the same round:
#  - export, durable and --no-fsync, whole process, against bench-helper's floors b2 (the
#    export's durable pattern) and a (plain writes) of the same files: what the engine's read and
#    the tool add to writing the files.
#  - import of the 974 template files, every one rewritten (untimed) with a new marker line,
#    --no-fsync, whole process, against the engine's own command-line client (mariadb, sqlite3,
#    psql) started afresh and running one transaction of 974 single-row UPDATEs by primary key,
#    each appending a marker of the same length to the same rows: the least the engine must do to
#    store the same change, with a process start too, and none of the tool's reading, comparing,
#    compare-and-swap or state.
#  - watch (--debounce 50) latency from a file's save to its row visible, polled over one client
#    connection, median of the saves, against the debounce plus the median round trip of a
#    single-row UPDATE over that same connection: what any debounced watcher must wait.
# Each ratio is the median of the per-round ratios (value and floor back to back).

engine_rounds=3 # export and import rounds per engine
engine_saves=15 # watch saves per engine

# Rewrites every template file under ROOT whole, with MARKER on a line of its own (bench.sh's
# rewrite_all, which is defined after this part when run alone).
engine_rewrite() {
    local root=$1 marker=$2 f
    for f in "${rel_files[@]}"; do
        printf "%s\n%s\n" "${orig[$f]}" "$marker" >"$root/$f"
    done
}

# Runs SQL (stdin) on the current engine's board with its client; prints the rows, no header.
engine_sql() {
    case $engine in
        mariadb) mariadb_client "$engine_url" --batch --skip-column-names ;;
        sqlite) sqlite3 -batch -bail "$sqlite_path" ;;
        postgres) psql -X -q -A -t -v ON_ERROR_STOP=1 "$engine_url" ;;
    esac
}

# Starts the persistent client connection of q (bench.sh) on the current engine's board.
engine_dbq() {
    case $engine in
        mariadb) coproc DBQ { mariadb_client "$engine_url" --batch --skip-column-names --unbuffered 2>&1; } ;;
        sqlite) coproc DBQ { sqlite3 -batch "$sqlite_path" 2>&1; } ;;
        postgres) coproc DBQ { psql -X -q -A -t "$engine_url" 2>&1; } ;;
    esac
}

# Measures the current engine ($engine, $engine_url) and appends its rows to engine_rows.
engine_measure() {
    local r i f title marker sql n t0 deadline concat
    local e_d=() e_n=() f_a=() f_b2=() r_d=() r_n=() imp=() upd=() r_imp=() lat=() rtt=()
    say "engines: $engine: export, $engine_rounds rounds"
    "$bin" -q --db "$engine_url" --root "$work/eng-$engine-ref" --no-fsync export ||
        die "the reference export on $engine failed"
    # Run alone (--engines), bench.sh's template files and their originals come from here.
    if ! declare -p rel_files >/dev/null 2>&1; then
        mapfile -t rel_files < <(cd "$work/eng-$engine-ref" && find template_sets -type f -name "*.html" | sort)
        declare -gA orig
        for f in "${rel_files[@]}"; do
            IFS= read -r -d "" content <"$work/eng-$engine-ref/$f" || true
            orig[$f]=$content
        done
    fi
    ((${#rel_files[@]} == 974)) || die "expected 974 template files on $engine, found ${#rel_files[@]}"
    for ((r = 0; r < engine_rounds; r++)); do
        sync -f "$work"
        fresh
        f_a+=("$("$helper" floor plain "$work/eng-$engine-ref" "$out")")
        sync -f "$work"
        fresh
        f_b2+=("$("$helper" floor resynced "$work/eng-$engine-ref" "$out")")
        sync -f "$work"
        fresh
        timed "$bin" -q --db "$engine_url" --root "$out" export
        e_d+=("$run_wall")
        diff -r -q -x '.*' "$work/eng-$engine-ref" "$out" >/dev/null || die "the export on $engine differs from its reference"
        sync -f "$work"
        fresh
        timed "$bin" -q --db "$engine_url" --root "$out" --no-fsync export
        e_n+=("$run_wall")
        r_d+=("$(div "${e_d[r]}" "${f_b2[r]}")")
        r_n+=("$(div "${e_n[r]}" "${f_a[r]}")")
    done
    engine_rows+=("$engine|export (durable)|$(ms "$(median "${e_d[@]}")")|$(ms "$(median "${f_b2[@]}")") floor b2|$(fmedian "${r_d[@]}")x")
    engine_rows+=("$engine|export --no-fsync|$(ms "$(median "${e_n[@]}")")|$(ms "$(median "${f_a[@]}")") floor a|$(fmedian "${r_n[@]}")x")

    say "engines: $engine: import of 974 files, $engine_rounds rounds"
    local root=$work/eng-$engine-imp
    "$bin" -q --db "$engine_url" --root "$root" export || die "the export before the import on $engine failed"
    # Untimed: the first import creates set 1's copy-on-write rows, so every timed round and
    # every floor updates the same 974 existing rows.
    engine_rewrite "$root" "<!-- bench engines warm -->"
    "$bin" -q --db "$engine_url" --root "$root" --no-fsync import || die "the first import on $engine failed"
    local tids
    mapfile -t tids < <(echo "SELECT tid FROM mybb_templates WHERE sid = 1 ORDER BY tid;" | engine_sql)
    ((${#tids[@]} == 974)) || die "expected 974 rows of set 1 on $engine, found ${#tids[@]}"
    concat="template || '\n<!-- bench floor %02d -->'"
    [[ $engine == mariadb ]] && concat="CONCAT(template, '\n<!-- bench floor %02d -->')"
    for ((r = 0; r < engine_rounds; r++)); do
        # The floor changed the rows since the last sync: a fresh export (untimed) for each round,
        # else the import would rightly see conflicts.
        if ((r > 0)); then
            root=$work/eng-$engine-imp-$r
            "$bin" -q --db "$engine_url" --root "$root" --no-fsync export || die "the export before import round $r on $engine failed"
        fi
        marker="<!-- bench import $r -->"
        engine_rewrite "$root" "$marker"
        sync -f "$work"
        timed "$bin" -q --db "$engine_url" --root "$root" --no-fsync import
        imp+=("$run_wall")
        n=$(echo "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '%$marker%';" | engine_sql)
        ((n == 974)) || die "after import round $r on $engine, $n of 974 rows have the new content"
        {
            echo "BEGIN;"
            for i in "${tids[@]}"; do
                # shellcheck disable=SC2059 # the format is ours: the marker's round number
                printf "UPDATE mybb_templates SET template = $concat WHERE tid = %s;\n" "$r" "$i"
            done
            echo "COMMIT;"
        } >"$work/eng-floor.sql"
        sync -f "$work"
        case $engine in
            mariadb)
                mariadb_parse_url "$engine_url"
                MYSQL_PWD=$mariadb_url_pass timed "$(_mariadb_find mariadb mysql)" --no-defaults --protocol=TCP \
                    --host="$mariadb_url_host" --port="$mariadb_url_port" --user="$mariadb_url_user" \
                    --database="$mariadb_url_db" <"$work/eng-floor.sql"
                ;;
            sqlite) timed sqlite3 -batch -bail "$sqlite_path" <"$work/eng-floor.sql" ;;
            postgres) timed psql -X -q -v ON_ERROR_STOP=1 "$engine_url" <"$work/eng-floor.sql" ;;
        esac
        upd+=("$run_wall")
        r_imp+=("$(div "${imp[r]}" "${upd[r]}")")
    done
    engine_rows+=("$engine|import --no-fsync, 974 files|$(ms "$(median "${imp[@]}")")|$(ms "$(median "${upd[@]}")") client UPDATEs|$(fmedian "${r_imp[@]}")x")

    say "engines: $engine: watch, $engine_saves saves (--debounce $debounce)"
    local wroot=$work/eng-$engine-w
    "$bin" -q --db "$engine_url" --root "$wroot" export || die "the export before the watch on $engine failed"
    engine_dbq
    start_watcher "$engine_url" "$wroot" "$work/eng-$engine-watch.log" --debounce "$debounce"
    for ((i = 0; i < engine_saves; i++)); do
        f=${rel_files[(i * 61) % 974]}
        title=${f##*/}
        title=${title%.html}
        [[ $title != *[\'\\%]* ]] || continue
        marker="<!-- bench engine save $i -->"
        sql="SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND title = '$title' AND template LIKE '%$marker%';"
        t0=$EPOCHREALTIME
        printf '%s\n%s\n' "${orig[$f]}" "$marker" >"$wroot/$f"
        deadline=$((SECONDS + 10))
        while q "$sql" && [[ $REPLY != 1 ]]; do
            ((SECONDS < deadline)) || die "save $i ($f) on $engine not in the database after 10 s: $(tail -n 5 "$work/eng-$engine-watch.log")"
            nap 0.001
        done
        lat+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
        nap 0.1 # the batch's state write ends; a person's pause
        # The floor's round trip: one single-row UPDATE over the same connection, then its answer.
        t0=$EPOCHREALTIME
        q "UPDATE mybb_templates SET dateline = dateline WHERE tid = ${tids[i]}; SELECT 1;"
        rtt+=($(($(us "$EPOCHREALTIME") - $(us "$t0"))))
    done
    stop_watcher "$work/eng-$engine-watch.log"
    stop_dbq
    local m_lat m_rtt
    m_lat=$(median "${lat[@]}")
    m_rtt=$(median "${rtt[@]}")
    engine_rows+=("$engine|watch save to row, median of ${#lat[@]}|$(ms "$m_lat")|$(ms "$((debounce * 1000 + m_rtt))") debounce + UPDATE|$(ratio "$m_lat" "$((debounce * 1000 + m_rtt))")")
}

# Runs the part on every engine available and prints its table on stdout.
engines_part() {
    engine_rows=()
    engine_notes=()
    say "engines: building examples/sqlite-board.rs and examples/pg-board.rs"
    cargo build --release --quiet --example sqlite-board --example pg-board || die "cannot build the board examples"
    if [[ ! -d $work/runs ]]; then
        mkdir "$work/runs"
        spread_dirs "$work/runs"
    fi
    local t0=$EPOCHREALTIME
    engine=mariadb
    make_db engines
    engine_url=$(db_url engines)
    engine_measure

    engine=sqlite
    if command -v sqlite3 >/dev/null; then
        sqlite_path=$work/eng-board.db
        target/release/examples/sqlite-board build "$sqlite_path" "$fixture" 2>/dev/null ||
            die "cannot build the SQLite board"
        engine_url=sqlite:$sqlite_path
        engine_measure
    else
        engine_notes+=("sqlite: skipped, no sqlite3 program (the floors and polling use it)")
    fi

    engine=postgres
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    if ! command -v psql >/dev/null; then
        engine_notes+=("postgres: skipped, no psql program")
    elif [[ -z ${MYBB_SYNC_TEST_PG_URL:-} ]] && ! postgres_bin >/dev/null; then
        engine_notes+=("postgres: skipped, no server programs in /usr/lib/postgresql/*/bin")
    elif ! postgres_ensure; then
        engine_notes+=("postgres: skipped, the server did not start (see above)")
    else
        local pg_db=bench_$$_engines
        psql -X -q -v ON_ERROR_STOP=1 "$MYBB_SYNC_TEST_PG_URL/postgres" -c "CREATE DATABASE $pg_db" ||
            die "cannot create the PostgreSQL database $pg_db"
        engine_url=$MYBB_SYNC_TEST_PG_URL/$pg_db
        target/release/examples/pg-board "$fixture" | psql -X -q -1 -v ON_ERROR_STOP=1 "$engine_url" >/dev/null ||
            die "cannot load the fixture into $pg_db"
        engine_notes+=("postgres: $POSTGRES_KIND server$([[ $POSTGRES_KIND == throwaway ]] && echo ', fsync off (its durable export is the files'"'"' only)')")
        engine_measure
        [[ $POSTGRES_KIND == given ]] &&
            psql -X -q "$MYBB_SYNC_TEST_PG_URL/postgres" -c "DROP DATABASE $pg_db" >/dev/null
    fi
    local took=$(($(us "$EPOCHREALTIME") - $(us "$t0")))

    echo
    echo "engines (issue 31): each figure against a floor on the same engine, same run; load $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-9s %-36s %12s %34s %8s\n' engine figure value floor ratio
    local row e fig v fl ra
    for row in "${engine_rows[@]}"; do
        IFS='|' read -r e fig v fl ra <<<"$row"
        printf '%-9s %-36s %12s %34s %8s\n' "$e" "$fig" "$v" "$fl" "$ra"
    done
    for row in "${engine_notes[@]}"; do
        echo "  $row"
    done
    echo "  $engine_rounds rounds of export and import, $engine_saves watch saves per engine; part took $(awk -v u="$took" 'BEGIN { printf "%.0f s", u / 1e6 }')"
}
