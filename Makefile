# The two commands: `make run` and `make test`. Everything else here is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/crm
CI_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test install lint format migrate bench services browser messages

install: $(VENV)/.installed node_modules/.installed messages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	$(PY) -m pip check
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The translations' .mo files are built from the committed .po files, never committed. Django's
# compilemessages needs GNU gettext's msgfmt: installed like chromium below when missing.
messages: $(VENV)/.installed
	@command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	  else echo "msgfmt missing: install GNU gettext (Debian: apt-get install gettext)" >&2; exit 1; fi; }
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules --ignore=var -v 0

migrate: install
	DEBUG=true $(PY) manage.py migrate --noinput

# Serve on http://127.0.0.1:8000 with a Celery worker and beat on the embedded broker.
run: migrate
	DEBUG=true $(PY) manage.py seed_demo --if-empty
	bash scripts/run.sh

# The whole suite on SQLite; under CI=true also on PostgreSQL with a real Redis and Celery.
test: install browser
	$(BIN)/ruff check .
ifeq ($(CI),true)
	bash scripts/ensure-services.sh
	PG_URL=$(PG_URL) CI_REDIS_URL=$(CI_REDIS_URL) bash scripts/test-both-databases.sh
else
	$(BIN)/pytest
endif

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Browser tests drive Debian's Chromium (never a downloaded one). Under CI it must be there;
# elsewhere it is installed when apt-get can run, and the browser tests skip otherwise.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  elif [ "$(CI)" = true ]; then echo "chromium is required under CI" >&2; exit 1; \
	  else echo "chromium not installed: browser tests will skip"; fi; }

# Benchmarks print figures; they are never part of `make test`.
bench: install
	$(BIN)/pytest tests/bench -s -p no:cacheprovider --override-ini addopts=
