# ReceiptDesk: `make demo` runs the product, `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-headless test lint typecheck layers pytest screenshots bench system clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "ReceiptDesk needs Python 3.11 or newer"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

system:
	@sh packaging/system-packages.sh

demo: system $(STAMP)
	$(BIN)/receiptdesk demo

demo-headless: $(STAMP)
	$(BIN)/receiptdesk demo --headless --sales 2000

test: system $(STAMP) lint typecheck layers pytest

lint: $(STAMP)
	$(BIN)/ruff check app tests packaging benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

screenshots: system $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/screenshots.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/receiptdesk demo --headless --sales 2000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
