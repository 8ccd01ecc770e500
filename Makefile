# The two commands of the README: `make demo` and `make test`. Both install what is missing first
# (a virtualenv with batchline and its dev tools; Java 17 + Maven through apt-get if absent). `make test`
# also installs Debian's Chromium, for the dashboard's browser test, when /usr/bin/chromium is absent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install lint bench clean-infra

$(STAMP): pyproject.toml
	@command -v java >/dev/null && command -v mvn >/dev/null || scripts/install-jdk.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/batchline demo

test: $(STAMP)
	@test -x /usr/bin/chromium || scripts/install-chromium.sh
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check shared services cli emulator devtools tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/batchline dev up
	rm -rf bench/out
	$(BIN)/python -m bench.b1_ingest
	$(BIN)/python -m bench.b5_memory
	$(BIN)/python -m bench.model_accuracy
	$(BIN)/python -m bench.dataset_generate
	$(BIN)/python -m bench.b2_intake
	$(BIN)/python -m bench.b3_submit
	$(BIN)/python -m bench.b4_end_to_end
	$(BIN)/python -m bench.b4_end_to_end --full --instances 1 --token-limit 1000000000
	$(BIN)/python -m bench.b6_poller
	$(BIN)/python -m bench.report

clean-infra: $(STAMP)
	-$(BIN)/batchline dev down
	rm -rf .batchline
