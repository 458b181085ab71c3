# The few commands everyone types. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install install-test run test lint bench collectstatic

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -e .

install-test: $(PY)
	$(PY) -m pip install -q -e '.[test]'

# SQLite + web server + Celery worker with beat on a filesystem broker (or CELERY_BROKER_URL if set).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py run_embedded 127.0.0.1:8000

# Installs what is missing (Debian packages too), starts throwaway PostgreSQL + Redis, runs every test.
test:
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/test.sh $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The figures the issues name (bench/*.py print them; nothing is asserted). All but the extraction need a
# PostgreSQL server on which DATABASE_URL's user may create databases; bench_pages and bench_reminders create
# and drop their own, bench_excel migrates and fills DATABASE_URL itself, so point it at a throwaway database:
#   make bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench
# Each script's options (smaller sizes for a quick look) are in its docstring; run it directly for those.
bench: install-test
	@case "$(DATABASE_URL)" in postgres*) ;; *) echo "make bench needs DATABASE_URL=postgres://… (a throwaway database)" >&2; exit 2;; esac
	$(PY) bench/bench_extraction.py
	DATABASE_URL="$(DATABASE_URL)" $(PY) bench/bench_excel.py
	DATABASE_URL="$(DATABASE_URL)" $(PY) bench/bench_reminders.py
	DATABASE_URL="$(DATABASE_URL)" $(PY) bench/bench_pages.py

collectstatic: install
	$(PY) manage.py collectstatic --noinput
