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

collectstatic: install
	$(PY) manage.py collectstatic --noinput
