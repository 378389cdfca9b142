#!/usr/bin/env bash
# CI's two runs of the suite side by side: on SQLite, and on PostgreSQL with Redis and real
# Celery workers. They share no database, Redis database (15 and the one REDIS_URL names),
# port or file (uploads and the file broker go to a directory of each run), so on two cores
# the whole takes about the longer of the two, not their sum. The PostgreSQL run streams; the
# SQLite run's output follows it; each run's failed and rerun tests and its result line close
# it. Fails when either fails.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${PG_URL:?}" "${CI_REDIS_URL:?}"
BIN=.venv/bin
RUNS=var/test-runs
# A test that fails is run once more before the run counts it failed: these runs drive real
# workers, browsers and concurrent writers, and one failure of an unknown test (the PostgreSQL
# run's summary had scrolled away) kept a whole submission out. Every rerun is listed at the
# end (RERUN), so a test that failed once is still named.
RERUN=(--reruns 1 -raR)
rm -rf "$RUNS" && mkdir -p "$RUNS/sqlite" "$RUNS/postgresql"

MEDIA_ROOT="$PWD/$RUNS/sqlite/media" CELERY_DATA_DIR="$PWD/$RUNS/sqlite/celery" \
  "$BIN/pytest" -p no:cacheprovider "${RERUN[@]}" > "$RUNS/sqlite.log" 2>&1 &
sqlite_run=$!

MEDIA_ROOT="$PWD/$RUNS/postgresql/media" CELERY_DATA_DIR="$PWD/$RUNS/postgresql/celery" \
  DATABASE_URL="$PG_URL" REDIS_URL="$CI_REDIS_URL" "$BIN/pytest" "${RERUN[@]}" 2>&1 | tee "$RUNS/postgresql.log"
postgresql_status=$?

wait "$sqlite_run"
sqlite_status=$?
echo
echo "================ the same suite on SQLite (run beside the one above) ================"
cat "$RUNS/sqlite.log"
# Whatever shows only the end of this output still names each run's failures and its result
# line: the PostgreSQL run's own summary scrolled by long before.
for run in postgresql sqlite; do
  echo "---------------- $run: failures, reruns and result ----------------"
  grep -E '^(FAILED|ERROR|RERUN) ' "$RUNS/$run.log" | sort -u || true
  grep -qE '^(FAILED|ERROR|RERUN) ' "$RUNS/$run.log" || echo "no failed test"
  grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$RUNS/$run.log" | tail -1
done
echo "exit codes: PostgreSQL $postgresql_status, SQLite $sqlite_status"
[ "$postgresql_status" -eq 0 ] && [ "$sqlite_status" -eq 0 ]
