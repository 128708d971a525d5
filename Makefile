# The two commands: `make demo` (main job) and `make test` (tests). Both set
# up everything they need: a virtualenv in .venv with pinned dependencies, and
# (as root, via apt) the Arm toolchain and QEMU used by the embedded tests.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUILD  ?= build
MODEL  ?= mini_xception_fer2013
# Cortex-M4 cross compiler + QEMU (embedded parity), cppcheck, clang + libFuzzer
# (fuzzing), Kotlin + JUnit (the Android demo's platform-independent core).
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cppcheck clang libclang-rt-14-dev kotlin junit4
APT_TOOLS    := arm-none-eabi-gcc qemu-system-arm cppcheck clang kotlinc

.PHONY: demo test venv toolchain clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel; any other spec pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test,ray]"
	touch $(STAMP)

venv: $(STAMP)

toolchain:
	@missing=""; \
	for tool in $(APT_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -f /usr/share/java/junit4.jar ] || missing="$$missing junit4"; \
	dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || missing="$$missing libclang-rt-14-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(APT_PACKAGES) (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "note: some tests will skip; to run them: sudo apt-get install $(APT_PACKAGES)"; \
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
