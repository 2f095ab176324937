#!/usr/bin/env bash
# test_sqlite_import.sh: the recipe of docs/import.md, run as written. A
# SQLite table of 50 000 rows (5 hosts x 2 sensors, two value columns, one
# NULL now and then) is dumped with `sqlite3 -csv`, sent with
# `tide import --format csv --csv-format ...` in several requests, then
# `tide export --format csv` is compared with the same rows produced by
# sqlite3: equal row counts, equal SHA-256 of the sorted rows, and a
# row-by-row diff that must be empty.
. "$(dirname "$0")/lib.sh"

if ! command -v sqlite3 >/dev/null; then
    echo "SKIP [$TEST_NAME]: sqlite3 not installed (scripts/deps.sh test)"
    exit 0
fi
tide_start "$WORK/data" - --retention 0
DB="$WORK/sensors.db"
BASE_MS=$(( ($(date +%s) / 60 - 6000) * 60000 ))

# ---- a table with history -------------------------------------------------------
sqlite3 "$DB" <<SQL
CREATE TABLE readings (ts INTEGER NOT NULL, host TEXT NOT NULL, sensor TEXT NOT NULL,
                       temperature REAL, humidity REAL);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
INSERT INTO readings
SELECT $BASE_MS + (i / 10) * 60000, 'host-' || (i % 5), 'sensor-' || ((i / 5) % 2),
       ROUND(15 + (abs(random()) % 2000) / 100.0, 2),
       CASE WHEN i % 97 = 0 THEN NULL ELSE ROUND((abs(random()) % 10000) / 100.0, 2) END
FROM n;
SQL
ROWS=$(sqlite3 "$DB" 'SELECT count(*) FROM readings')
assert_eq "rows in the table" 50000 "$ROWS"

# ---- docs/import.md, step 1 and 2: dump and import ----------------------------
sqlite3 -csv "$DB" 'SELECT ts, host, sensor, temperature, humidity FROM readings ORDER BY ts' \
    >"$WORK/readings.csv"
"$TIDE" import --server "$TIDE_URL" --format csv --batch-bytes 256KiB \
    --csv-format '1:time:unix_ms,2:label:host,3:label:sensor,4:metric:room_temperature,5:metric:room_humidity' \
    "$WORK/readings.csv" 2>"$WORK/import.log" || { cat "$WORK/import.log" >&2; fail "tide import failed"; }
log "$(tail -n 1 "$WORK/import.log")"
assert_contains "import summary" "imported 50000, refused 0, skipped 0" "$(cat "$WORK/import.log")"

# ---- step 3: check that nothing was lost ----------------------------------------
"$TIDE" export --server "$TIDE_URL" --match '{__name__=~"room_temperature|room_humidity"}' \
    --format csv --csv-format '__name__,host,sensor,__timestamp__:unix_ms,__value__' --no-header \
    -o "$WORK/tide.csv" 2>/dev/null || fail "tide export failed"
sqlite3 -csv "$DB" "
    SELECT 'room_temperature', host, sensor, ts, printf('%.15g', temperature) FROM readings
    WHERE temperature IS NOT NULL
    UNION ALL
    SELECT 'room_humidity', host, sensor, ts, printf('%.15g', humidity) FROM readings
    WHERE humidity IS NOT NULL" >"$WORK/sqlite.csv"
LC_ALL=C sort "$WORK/tide.csv" >"$WORK/tide.sorted"
LC_ALL=C sort "$WORK/sqlite.csv" >"$WORK/sqlite.sorted"
want_n=$(wc -l <"$WORK/sqlite.sorted")
got_n=$(wc -l <"$WORK/tide.sorted")
log "samples: sqlite3 $want_n, tide $got_n"
assert_eq "sample rows" "$want_n" "$got_n"
assert_eq "sha256 of the sorted rows" "$(sha256sum <"$WORK/sqlite.sorted" | cut -d' ' -f1)" \
    "$(sha256sum <"$WORK/tide.sorted" | cut -d' ' -f1)"
diff "$WORK/sqlite.sorted" "$WORK/tide.sorted" >"$WORK/diff.txt" ||
    fail "rows differ: $(head -n 10 "$WORK/diff.txt")"
nulls=$(sqlite3 "$DB" 'SELECT count(*) FROM readings WHERE humidity IS NULL')
assert_eq "humidity samples (NULLs skipped)" "$((50000 - nulls))" "$(grep -c '^room_humidity,' "$WORK/tide.sorted")"
log "ok"
