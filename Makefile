# Two commands on a fresh machine: `make run` runs the product, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install migrate seed catalog

$(VENV)/installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/installed

run: install
	$(PY) -m devtools.run

test: install
	$(PY) -m devtools.test_tools
	$(VENV)/bin/ruff check --quiet app realtime workers devtools tests
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# Re-extract the UI strings after changing templates or N_() messages, then translate the new ones.
catalog: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k t:2 -o app/locale/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i app/locale/messages.pot -d app/locale --no-fuzzy-matching --ignore-obsolete
