# Two commands matter on a fresh machine: `make run` (the embedded stack) and `make test` (everything).
# Each creates and fills its own virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements/dev.txt requirements/layer.txt | cksum | cut -d' ' -f1)

.PHONY: venv test lint format run build bench clean help tf-test test-bootstrap precommit plan soak logs test-loop cost openapi contract

.DEFAULT_GOAL := help

$(STAMP): requirements/dev.txt requirements/layer.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

## venv: create .venv and install the pinned development requirements (every target does this first)
venv: $(STAMP)

## test: lint, then the whole suite (unit, terraform, embedded-stack e2e, benchmark smoke)
test: venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff check and ruff format --check
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## format: ruff fix and format, terraform fmt
format: venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	-terraform fmt -recursive terraform

# A restart with nothing changed restores the state the last clean stop saved instead of applying;
# saves under functions/, shared/ and terraform/ are deployed while it serves (hot reload).
## run: the backend on 127.0.0.1 (a restart restores the saved state; FRESH=1: from nothing; APPLY=1: apply anyway)
run: venv
	$(PY) -m embedded_stack $(if $(FRESH),--fresh) $(if $(APPLY),--apply)

## logs: follow one function's log while `make run` serves, e.g. make logs FN=create_item
logs: venv
	@$(PY) -m embedded_stack.tail $(FN)

## build: deterministic function and layer zips under build/
build: venv
	$(PY) scripts/build.py

## bench: the benchmark suite; results in benchmarks/results/
bench: venv
	$(PY) -m benchmarks

## soak: the embedded stack on loopback under mixed load and faults, then reconciled (SOAK_ARGS=--duration 600)
soak: venv
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

## clean: remove build output, local stack state and tool caches
clean:
	rm -rf build .local .pytest_cache .ruff_cache

## help: list every target with what it does
help:
	@awk -F': ' '/^## [a-z-]+: /{sub(/^## /, ""); printf "  %-16s %s\n", $$1, substr($$0, length($$1) + 3)}' $(MAKEFILE_LIST)

## tf-test: the Terraform tests alone (terraform test with a mocked provider, then plans and applies against moto)
tf-test: venv
	$(PY) -m pytest tests/terraform $(PYTEST_ARGS)

## test-bootstrap: apply terraform/bootstrap against moto and keep a stage's state in its bucket (about 2 min)
test-bootstrap: venv
	BOOTSTRAP_APPLY=1 $(PY) -m pytest tests/terraform/test_bootstrap.py $(PYTEST_ARGS)

## precommit: every pre-commit hook on every file (local hooks only, offline); install with .venv/bin/pre-commit install
precommit: venv
	$(VENV)/bin/pre-commit run --all-files

## plan: a reviewable plan of an AWS stage, nothing applied: make plan STAGE=dev (scripts/deploy.sh --plan-only)
plan:
	@test -n "$(STAGE)" || { echo "usage: make plan STAGE=<dev|staging|prod>"; exit 2; }
	scripts/deploy.sh --plan-only $(STAGE)

## test-loop: every end-to-end case of make run's hot reload and fast restart, the slow ones included (~12 min)
test-loop: venv
	LOOP_E2E=1 $(PY) -m pytest tests/embedded_stack/reload/test_hot_reload.py tests/embedded_stack/test_restart.py $(PYTEST_ARGS)

## cost: monthly cost of each AWS stage at the traffic its stage file states (make cost STAGE=prod: one)
cost: venv
	$(PY) -m scripts.cost $(STAGE)

## openapi: regenerate functions/openapi/openapi.json from the manifests and schemas (commit the result)
openapi: venv
	$(PY) scripts/openapi.py

## contract: a longer schemathesis campaign against the embedded stack (CONTRACT_SCALE=10, about 15 min)
contract: venv
	CONTRACT_SCALE=$${CONTRACT_SCALE:-10} $(PY) -m pytest tests/e2e/test_contract.py $(PYTEST_ARGS)
