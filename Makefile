# ReceiptDesk: `make demo` runs the product, `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-headless test test-crash test-thorough lint typecheck layers pytest screenshots bench system package clean
.PHONY: installed-check constraints icons
.PHONY: bench-gate bench-soak bench-ci

# Everything the kiosk, the hub and the checks need (`.[dev]` holds the kiosk and postgres extras),
# at the versions constraints.txt pins: the ones the tests passed with.
$(STAMP): pyproject.toml setup.py constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "ReceiptDesk needs Python 3.11 or newer"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# phonenumberslite replaced phonenumbers; both write the same package, so the old one goes first.
	@! $(BIN)/python -m pip show --quiet phonenumbers 2>/dev/null || $(BIN)/python -m pip uninstall --quiet --yes phonenumbers phonenumberslite
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

system:
	@sh packaging/system-packages.sh

demo: system $(STAMP)
	$(BIN)/receiptdesk demo

demo-headless: $(STAMP)
	$(BIN)/receiptdesk demo --headless --sales 2000

# The checks and the tests at once: the checks are quick and mostly on one core, the tests wait on processes.
test: system $(STAMP)
	@$(MAKE) --no-print-directory -j4 lint typecheck layers pytest bench-ci

lint: $(STAMP)
	$(BIN)/ruff check app tests packaging benchmarks setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# Three workers on two cores: many tests wait on the processes they start, so a third keeps the cores busy. The kiosk's window tests run in processes of their own
# (a process that has run them holds Qt objects that no other test's event processing should touch), beside the rest: their report follows the rest's.
pytest: $(STAMP)
	@ui_log=$$(mktemp); \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests/ui > $$ui_log 2>&1 & ui=$$!; \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile --ignore=tests/ui -m "not exhaustive"; rest=$$?; \
	wait $$ui; windows=$$?; echo "--- the kiosk's window tests (tests/ui), run beside the rest ---"; cat $$ui_log; rm -f $$ui_log; \
	test $$rest -eq 0 && test $$windows -eq 0

# Every crash point against every provider setup, on SQLite and PostgreSQL (about 6 minutes).
test-crash: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist load -m exhaustive tests/system/test_crash_points.py tests/system/test_crash_points_postgres.py tests/system/test_crash_recovery.py

# Every test at its full size, for before a release: the whole tree but the window tests, the exhaustive matrix
# (`test-crash`'s crash points) included, and every random-input test at its full count of examples (`make test`
# draws a fifth of it, at least 50: tests/fuzzing.py).
test-thorough: $(STAMP)
	RECEIPTDESK_TESTS=thorough QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile --ignore=tests/ui

screenshots: system $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/screenshots.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_cli_start.py
	$(BIN)/python benchmarks/bench_hub.py --quick
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_soak.py --seconds 120
	$(BIN)/receiptdesk demo --headless --sales 2000

# The hour-long memory soak of `serve` at 20 sales/s (`bench` runs two minutes of it).
bench-soak: $(STAMP)
	$(BIN)/python benchmarks/bench_soak.py

# Every benchmark's --quick run, its ratios compared with benchmarks/baseline.json: fails on a ratio
# more than its margin below the baseline. `python benchmarks/gate.py --record` writes a new baseline.
bench-gate: $(STAMP)
	$(BIN)/python benchmarks/gate.py

# The gate's steady ratios (`gate.py --ci`, about a minute beside the tests), run by `make test`; its report is
# printed in one piece when it ends.
bench-ci: $(STAMP)
	@out=$$($(BIN)/python benchmarks/gate.py --ci 2>&1); rc=$$?; \
	printf '\n--- the benchmarks gate (benchmarks/gate.py --ci) ---\n%s\n' "$$out"; exit $$rc

# The wheel, installed with its core dependencies into a fresh environment outside the tree, runs the
# headless demo and serves a sale (also part of `make test`).
installed-check: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/system/test_installed_wheel.py

# Pin what is installed now, after a deliberate upgrade (then run `make test`).
constraints:
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# The app icon's PNG and ICO from its SVG (needs Debian's librsvg2-bin and imagemagick).
icons:
	rsvg-convert -w 256 -h 256 resources/receiptdesk.svg -o resources/receiptdesk.png
	for s in 16 24 32 48 64 128; do rsvg-convert -w $$s -h $$s resources/receiptdesk.svg -o icon-$$s.tmp.png; done
	convert icon-16.tmp.png icon-24.tmp.png icon-32.tmp.png icon-48.tmp.png icon-64.tmp.png icon-128.tmp.png \
		resources/receiptdesk.png -strip resources/receiptdesk.ico
	rm -f icon-*.tmp.png

# The .deb in dist/: a frozen bundle of the app (PyInstaller), the service, launcher and settings of
# packaging/linux/. Its build environment and bundle are kept in ~/.cache/receiptdesk-build.
package: $(STAMP)
	$(BIN)/python packaging/build_deb.py --output dist

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
