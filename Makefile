# Two commands matter on a fresh machine: `make run` (the embedded stack) and `make test` (everything).
# Each creates and fills its own virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements/dev.txt requirements/layer.txt | cksum | cut -d' ' -f1)

.PHONY: venv test lint format run build bench clean

$(STAMP): requirements/dev.txt requirements/layer.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## test: lint, then the whole suite (unit, terraform, embedded-stack e2e, benchmark smoke)
test: venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
	-terraform fmt -recursive terraform

## run: the whole backend on 127.0.0.1, deployed by `terraform apply` of the local workspace; a restart
## with nothing changed restores the state the last clean stop saved (FRESH=1: from nothing; APPLY=1: apply anyway)
run: venv
	$(PY) -m embedded_stack $(if $(FRESH),--fresh) $(if $(APPLY),--apply)

## build: deterministic function and layer zips under build/
build: venv
	$(PY) scripts/build.py

## bench: the benchmark suite; results in benchmarks/results/
bench: venv
	$(PY) -m benchmarks

clean:
	rm -rf build .local .pytest_cache .ruff_cache
