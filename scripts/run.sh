#!/usr/bin/env bash
# `make run`: the web server, a Celery worker and beat side by side; Ctrl-C stops all three.
set -u
BIN=.venv/bin
export DEBUG="${DEBUG:-true}"
pids=()

stop_all() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null
  wait
}
trap stop_all INT TERM EXIT

"$BIN/celery" -A crm worker --loglevel=info --concurrency=2 &
pids+=($!)
"$BIN/celery" -A crm beat --loglevel=info &
pids+=($!)
"$BIN/python" manage.py runserver 127.0.0.1:8000 &
pids+=($!)

echo "Serving on http://127.0.0.1:8000 (Ctrl-C stops the web server, worker and beat)"
# When any of the three stops, stop the others too.
wait -n
