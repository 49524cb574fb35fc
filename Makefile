# Two commands for a fresh machine with only python3:
#   make run   - set up .venv and start the app on the bundled sample portfolio
#   make test  - set up .venv and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: prepare run test browser-test fuzz bench sample clean

# uv (pinned) installs the pinned requirements in ~15 s where pip took ~40 s; pip does it if uv cannot.
# --compile-bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set (this machine), a library
# without .pyc files is compiled again by every process that imports it (measured on clean clones:
# pytest 7 min 15 s with bytecode, 8 min 48 s without; every test that starts a parser, risk or Dask
# process was slower).
UV_VERSION := 0.13.8
UV         := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode --python $(PY)
# The app's own packages, compiled once for every process that imports them (same reason).
APP_PACKAGES := app_pages application core explain personas portfolio runs sample_data strategy

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION) || true
	$(UV_INSTALL) -r requirements.txt || $(PY) -m pip install --quiet -r requirements.txt
	$(UV_INSTALL) --no-deps -e . || $(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Compiled numba kernels, once per machine and library version (outside the workspace).
prepare: $(STAMP)
	$(PY) -m compileall -q -j 0 $(APP_PACKAGES) app.py server.py
	$(PY) -m application.warmup
	$(PY) -m core.i18n compile

run: prepare
	$(PY) -m streamlit run server.py

# pytest exits 5 when it collected no test; make propagates any non-zero exit.
# Two workers (pytest-xdist, one per core; a file's tests stay in one worker so its fixtures are built once).
# Files are handed out in collection order, the slowest first (tests/conftest.py, SLOWEST_FILES_FIRST);
# xdist's default would hand them out by test count, leaving long files of one or two tests for the end.
TEST_WORKERS ?= auto
test: prepare
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

browser-test: $(STAMP)
	bash scripts/install_browser.sh
	$(PY) -m pytest tests/browser

fuzz: $(STAMP)
	$(PY) -m pytest tests/fuzz -p no:cacheprovider --hypothesis-profile=fuzz

# make bench = the speed benchmark, then the persona recovery suite (README "Benchmark").
bench: bench-speed bench-recovery

bench-speed: prepare
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.warmup_check --prepared

# planted personas on 12 portfolio worlds + the UCI data; BENCH_ARGS=--quick for a ~3-minute run (half sizes, one seed)
bench-recovery: $(STAMP)
	$(PY) -m benchmarks.recovery $(BENCH_ARGS)

sample: $(STAMP)
	$(PY) -m personas sample --rows 5000 --seed 42 --language de --out sample_data/sample_portfolio.csv

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
