# Two commands do all set-up on a fresh machine:
#   make report   builds the report (creates .venv on first use)
#   make test     runs the tests   (creates .venv on first use)
# Without Quarto, `make report` builds everything else, prints why the report was not rendered and how
# to install Quarto, and fails: `python -m analysis build` exits 3, so make reports "Error 3" and
# itself exits with status 2 (make's status for any failed recipe).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test clean status

report: $(STAMP)
	@$(PY) -m analysis build || { status=$$?; \
	  [ $$status -eq 3 ] && echo "make report: everything but the render is built; the report was not rendered (no Quarto)." >&2; \
	  exit $$status; }

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
