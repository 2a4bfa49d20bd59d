# The two commands a newcomer runs: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test test-fast lint venv bench bench-peers fuzz clean

$(BIN)/ferry: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/ferry

venv: $(BIN)/ferry

demo: venv
	rm -rf .ferry
	$(BIN)/ferry migrate examples/studio_clients.csv --tenant demo-studio --home .ferry --max-reject-rate 0.1

test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests

# the quick loop: plain functions and the target, no whole runs (`slow`)
test-fast: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models macros data-tests

bench: venv
	$(BIN)/python -m bench.run

# dlt, the peer tool timed beside Ferry (bench/peers.py), in a venv of its own so that its
# dependencies never move Ferry's pinned ones
PEERS := bench/.peers-venv
bench-peers:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet 'dlt[sqlalchemy,postgres]==1.31.0' 'pyarrow==26.0.1' \
		'sqlalchemy==2.1.9' 'psycopg2-binary==2.9.13'

# hostile generated exports through ferry migrate (bench/fuzz.py); hours for the full 10,000
fuzz: venv
	$(BIN)/python -m bench.fuzz --files 1000 --cli-every 25

clean:
	rm -rf $(VENV) .ferry $(PEERS)
