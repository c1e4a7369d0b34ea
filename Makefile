# The two commands of the README: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint typecheck redis unit bench clean

install: $(STAMP)

# pip 23.2 (the machine's) installs trafilatura without lxml_html_clean: upgrade it first.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python -m crawler.demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# pytest exits 5 when it collects no test: that is not a failure of the code.
unit: install
	$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# The distributed crawl's tests start a redis-server: install Debian's package when it is
# missing. Where it cannot be (no root, no sudo) the tests skip, except in CI (CI set),
# where this fails.
redis:
	@scripts/ensure-redis.sh || { [ -z "$$CI" ] && echo "redis-server unavailable: the distributed tests will be skipped" >&2; }

test: lint typecheck redis unit

# The unit tests alone (seconds): tests/unit, no crawl, no server, no subprocess.
test-fast: install
	$(BIN)/pytest -m unit -q

bench: install
	$(BIN)/python benchmarks/extraction.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
