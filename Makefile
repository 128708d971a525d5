# The two commands: `make demo` (main job) and `make test` (tests). Both set
# up everything they need: a virtualenv in .venv with pinned dependencies, and
# (as root, via apt) the Arm toolchain and QEMU used by the embedded tests.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUILD  ?= build
MODEL  ?= mini_xception_fer2013
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cppcheck

.PHONY: demo test venv toolchain clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel; any other spec pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

toolchain:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null || ! command -v cppcheck >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "note: embedded tests need: sudo apt-get install $(APT_PACKAGES)"; \
	  fi; \
	fi

demo: venv toolchain
	$(VENV)/bin/edge-affect convert $(MODEL) --target all --out $(BUILD)/bundles
	$(VENV)/bin/edge-affect parity $(BUILD)/bundles
	$(VENV)/bin/edge-affect bench $(BUILD)/bundles --runs 200
	$(VENV)/bin/edge-affect convert $(MODEL) --target apollo3 --out $(BUILD)/apollo3
	$(VENV)/bin/edge-affect parity $(BUILD)/apollo3
	$(VENV)/bin/edge-affect bench $(BUILD)/apollo3

test: venv toolchain
	$(PY) -m pytest -q

clean:
	rm -rf $(BUILD) .pytest_cache
