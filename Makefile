# Saljsite: two commands do all set-up on a fresh machine.
#   make run   - venv, install, migrate, demo data, KPIs, serve on http://127.0.0.1:8000
#   make test  - venv if needed, ruff, the whole pytest suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The demo runs in the embedded mode: DEBUG on, SQLite under var/, Celery eager (no Redis).
export DEBUG ?= true

.PHONY: run test venv lint format messages clean-db

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py recompute_kpis --full
	$(BIN)/python manage.py demo_logins
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv lint
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the Swedish catalogue after adding strings (needs GNU gettext); translate the new
# entries in locale/sv/LC_MESSAGES/django.po, then run it again to compile the .mo.
messages: venv
	$(BIN)/python manage.py makemessages -l sv --ignore=.venv --ignore=var --ignore=staticfiles --ignore=bench --no-obsolete
	$(BIN)/python manage.py compilemessages -l sv --ignore=.venv
	msgfmt --check --statistics -o /dev/null locale/sv/LC_MESSAGES/django.po

clean-db:
	rm -f var/saljsite.sqlite3 var/saljsite.sqlite3-wal var/saljsite.sqlite3-shm
