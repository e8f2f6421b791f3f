# Two commands do all set-up on a fresh machine:
#   make report   builds the report (creates .venv on first use)
#   make test     runs the tests   (creates .venv on first use)
# Without Quarto on PATH or in $QUARTO, `make report` unpacks the one kept in ../shared/tools/quarto/
# when that folder is there (this team's machines, which cannot download it). Without any Quarto,
# `make report` builds everything else, prints why the report was not rendered and how to install
# Quarto, and fails: `python -m analysis build` exits 3, so make reports "Error 3" and
# itself exits with status 2 (make's status for any failed recipe).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test clean status readme-image

report: $(STAMP)
	@quarto="$${QUARTO:-$$(command -v quarto || true)}"; kept=../shared/tools/quarto/install.sh; \
	  if [ -z "$$quarto" ] && [ -f "$$kept" ]; then \
	    echo "make report: no Quarto on PATH; unpacking the one kept in ../shared/tools/quarto/ (about 10 s)" >&2; \
	    quarto="$$(bash "$$kept" "$${TMPDIR:-/tmp}/claimcheck-quarto-1.10.18")" || quarto=""; \
	  fi; \
	  QUARTO="$$quarto" $(PY) -m analysis build || { status=$$?; \
	  [ $$status -eq 3 ] && echo "make report: everything but the render is built; the report was not rendered (no Quarto)." >&2; \
	  exit $$status; }

test: $(STAMP)
	$(PY) -m pytest

# The README's picture of what a reader gets: page one of the rendered report PDF, small. Run it after
# `make report`; needs pdftoppm (Debian package poppler-utils).
readme-image:
	@pdf=$$(ls -t _site/report/claims-report-v*.pdf 2>/dev/null | head -1); \
	  [ -n "$$pdf" ] || { echo "make readme-image: no rendered report PDF under _site/report/; run make report first" >&2; exit 1; }; \
	  pdftoppm -png -singlefile -f 1 -l 1 -scale-to 560 "$$pdf" docs/report-page-1 && echo "wrote docs/report-page-1.png from $$pdf"

status: $(STAMP)
	$(PY) -m analysis status

clean: $(STAMP)
	$(PY) -m analysis clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
