# One venv, two commands: `make test` and `make figures`.
PYTHON ?= python3
VENV   ?= .venv
# The CPU wheel of torch lies on local disk; an unpinned torch would pull a multi-GB CUDA build.
# Another build: make test TORCH="torch==2.13.0 --index-url <your CUDA wheel index>" (see README).
TORCH  ?= torch==2.13.0
OUT    ?= outputs
BIN     = $(VENV)/bin

.PHONY: venv test figures lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

test: venv
	$(BIN)/python -m pytest --durations=10

lint: venv
	$(BIN)/ruff check .

# Every experiment at default scale, then tables, figures and the claims check (no retraining).
figures: venv
	$(BIN)/python scripts/run_all.py --out $(OUT)

clean:
	rm -rf $(OUT) .pytest_cache
