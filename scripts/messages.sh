#!/usr/bin/env bash
# Refresh the translation catalogues (locale/<lang>/LC_MESSAGES/django.po and djangojs.po) from
# the code, keeping the translations already made. Serialised with flock: makemessages writes
# a temporary .pot in locale/, and several people may refresh at once. tests/crm/
# test_languages.py runs the same extraction to check that no string is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(-l pt_BR -l es -l it --no-obsolete --ignore=.venv --ignore=node_modules --ignore=tests --ignore=var)
flock /tmp/makemessages.lock env DEBUG=true .venv/bin/python manage.py makemessages "${common[@]}"
flock /tmp/makemessages.lock env DEBUG=true .venv/bin/python manage.py makemessages -d djangojs \
  "${common[@]}" --ignore=static/vendor
