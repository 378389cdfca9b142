#!/usr/bin/env bash
# `make run`: the web server, a Celery worker and beat side by side. Ctrl-C, or a TERM to this
# script or to its process group (a closing terminal, a supervisor, a CI runner), stops all
# three within seconds: each is asked to stop, and whatever is still running after the grace
# period (a worker finishing a long task) is stopped cold, then killed.
set -u
BIN=.venv/bin
PORT="${PORT:-8000}"
GRACE_SECONDS="${CRM_STOP_GRACE_SECONDS:-5}"
export DEBUG="${DEBUG:-true}"
pids=()

# The process and every process it started (the worker's pool, runserver's reloaded child).
family() {
  local pid
  for pid in "$@"; do
    echo "$pid"
    family $(pgrep -P "$pid" 2>/dev/null)
  done
}

# Taken once when stopping starts: a child whose parent exits is re-parented and would no
# longer be found from the parent.
everyone=()

signal_all() {
  kill "-$1" "${everyone[@]}" 2>/dev/null
}

any_alive() {
  local pid
  for pid in "${everyone[@]}"; do
    # A zombie has stopped: it only waits for its parent to read its status.
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" =~ ^[^Z] ]] && return 0
  done
  return 1
}

wait_until_stopped() {
  local tenths=$(($1 * 10))
  while ((tenths-- > 0)) && any_alive; do sleep 0.1; done
}

stop_all() {
  # A second Ctrl-C or TERM while stopping must not leave the children behind.
  trap '' INT TERM
  trap - EXIT
  mapfile -t everyone < <(family "${pids[@]}")
  signal_all TERM
  wait_until_stopped "$GRACE_SECONDS"
  # Celery's cold shutdown: the task in flight is not acknowledged, so Redis redelivers it.
  any_alive && signal_all QUIT && wait_until_stopped 2
  any_alive && signal_all KILL
  wait 2>/dev/null
  exit 0
}
trap stop_all INT TERM EXIT

# No -Q: the worker consumes every queue of CELERY_TASK_QUEUES (automations, snapshots, email,
# webhooks and the default one), so no kind of task waits for a worker that is not there.
"$BIN/celery" -A crm worker --loglevel=info --concurrency=2 &
pids+=($!)
"$BIN/celery" -A crm beat --loglevel=info &
pids+=($!)
"$BIN/python" manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)

echo "Serving on http://127.0.0.1:$PORT (Ctrl-C stops the web server, worker and beat)"
# When any of the three stops, stop the others too.
wait -n
