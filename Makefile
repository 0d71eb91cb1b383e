# Two entry points for a newcomer (see README.md):
#   make run    the CPU preset, end to end, on this machine
#   make test   the test suite
# Both create or reuse .venv and install the pinned requirements.

PYTHON ?= python3
VENV := .venv
CORES ?= 2
# An offline pixel-exact CIFAR-10 copy beside the checkout is used when present;
# otherwise the workflow downloads CIFAR-10 into data/cifar10.
SHARED_DATA := $(wildcard ../shared/data/cifar-10-batches-py/data_batch_1)
DATA_PRESET := $(if $(SHARED_DATA),presets/shared-data.yaml)

.PHONY: venv run test lint

$(VENV)/.installed: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/snakemake --cores $(CORES) --configfile presets/cpu.yaml $(DATA_PRESET)

test: venv
	$(VENV)/bin/python -m pytest tests -q -ra

lint: venv
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/black --check .
