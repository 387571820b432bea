# The two Quick-start commands: `make benchmark` and `make test`.
# Both create .venv on first use (idempotent: re-installs only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fakebench-installed
export HF_HUB_OFFLINE ?= 1
ARGS ?=

.PHONY: setup benchmark test lint

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch/torchvision are pinned to the builds these machines serve from local disk.
	$(PY) -m pip install --disable-pip-version-check -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	# Grad-CAM without its opencv-python-headless requirement (it would replace our cv2).
	$(PY) -m pip install --disable-pip-version-check -q --no-deps 'grad-cam>=1.5,<2' 'ttach>=0.0.3'
	touch $(STAMP)

setup: $(STAMP)

benchmark: setup
	$(PY) -m benchmark run --all $(ARGS)

test: setup
	$(PY) -m pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check benchmark detectors tests
