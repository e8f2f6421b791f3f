# Two commands do all set-up on a fresh machine:
#   make report   builds the report (creates .venv on first use)
#   make test     runs the tests   (creates .venv on first use)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test clean status

report: $(STAMP)
	$(PY) -m analysis build

test: $(STAMP)
	$(PY) -m pytest

status: $(STAMP)
	$(PY) -m analysis status

clean: $(STAMP)
	$(PY) -m analysis clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
