# `make run` starts the app; `make test` runs every test. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run index test test-fast fuzz eval bench lint browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The pinned torch is the local CPU build; an unpinned one pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser test (Playwright drives /usr/bin/chromium), and a CJK
# font so the screenshot shows Chinese rather than empty boxes.
APT_PKGS := chromium fonts-wqy-microhei
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi

index: install
	$(BIN)/rag index

# SERVE_ARGS: e.g. make run SERVE_ARGS='--port 7861'
run: install
	$(BIN)/rag index
	$(BIN)/rag serve $(SERVE_ARGS)

test: install browser-deps
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q -m "not model and not browser"

# The long fuzz run (make test runs 60 examples per property).
fuzz: install
	FUZZ_EXAMPLES=3000 $(BIN)/python -m pytest -q tests/test_robustness.py -k survives

# The tuning set, then the two sets written later without seeing the system (eval/README.md).
eval: install
	$(BIN)/rag eval
	$(BIN)/rag eval --questions eval/heldout.jsonl eval/blind.jsonl --out eval/reports/unseen.json

lint: install
	$(BIN)/ruff check rag ui tests

clean:
	rm -rf $(VENV) embeddings/*/ .pytest_cache
