# wfrewrite: `make demo` sets up and runs the examples on the embedded `local` executor;
# `make test` sets up and runs every test (podman tests need ../shared/testbed, see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# What the tests install beside wfrewrite: toil 9.6.0 proves co-installation (it pins miniwdl
# 1.15.0), busybox/dash come from apt in .ci/run.
EXTRAS ?= dev,toil

SHARED ?= ../shared
TESTBED := $(SHARED)/testbed

.PHONY: setup testbed demo test test-conformance test-fast test-hostile test-faults check bench \
  bench-check bench-scaling bench-platforms bench-staging clean goldens

# ... and the package's bytecode, fresh: where PYTHONDONTWRITEBYTECODE=1 is set, every process
# would compile each changed module again (~10 ms each, in every task's driver and Toil worker).
setup: $(VENV)/.installed
	@$(PY) -m compileall -q -j 0 compiler runtime cli plugins

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	@# An editable install hides top-level modules from pkgutil, where Toil looks for plugins:
	@# put plugins/ on the path as a wheel install would put the module in site-packages.
	$(PY) -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'wfrewrite-plugins.pth'), 'w').write(os.path.abspath('plugins') + '\\n')"
	touch $@

demo: setup
	@mkdir -p runs
	@for ex in wordcount split_dir hello_busybox; do \
	  inputs=""; [ -f examples/$$ex.inputs.json ] && inputs="-i examples/$$ex.inputs.json"; \
	  echo "== $$ex"; $(BIN)/wfrewrite run examples/$$ex.wdl $$inputs --executor local --dir runs || exit 1; \
	done
	@echo "== workflows/scatter_gather (WDL, miniwdl's engine)"; \
	  $(BIN)/wfrewrite run examples/workflows/scatter_gather.wdl -i examples/workflows/scatter_gather.inputs.json --executor local --dir runs || exit 1
	@echo "== workflows/cwl/scatter_gather (CWL, cwltool's engine)"; \
	  $(BIN)/wfrewrite-cwl-runner --executor local --quiet --outdir runs/cwl examples/workflows/cwl/scatter_gather.cwl examples/workflows/cwl/scatter_gather.job.yml && echo || exit 1
	@echo "== fail_on_purpose (expected to fail)"; \
	  if $(BIN)/wfrewrite run examples/fail_on_purpose.wdl --executor local --dir runs; then exit 1; fi; \
	  echo "== demo finished: outputs under runs/"

# The test bed (rootful podman, offline images, Slurm, the object stores, a Funnel TES server, a
# single-node Kubernetes): idempotent, quick once built (Funnel and Kubernetes build once per
# machine, ~4 and ~9 minutes, and are kept); needs root.
testbed:
	@if [ "$$(id -u)" = 0 ] && [ -d $(TESTBED) ]; then \
	  bash $(TESTBED)/podman-setup.sh setup >/dev/null && bash $(TESTBED)/build-images.sh >/dev/null; \
	  bash $(TESTBED)/slurm-setup.sh start >/dev/null; \
	  bash $(TESTBED)/object-store.sh start >/dev/null; \
	  bash $(TESTBED)/funnel.sh start >/dev/null; \
	  bash $(TESTBED)/k8s.sh start >/dev/null; \
	  command -v busybox >/dev/null || { apt-get install -y -q busybox-static >/dev/null; }; \
	else echo "testbed: not root or no $(TESTBED): podman tests will skip"; fi

# Every test but the long conformance runs marked `full` (make test runs a representative part
# of the suites: see tests/conformance/), then the benchmarks' regression check (ratios against
# bench/ceilings.json); `make test-conformance` runs every suite on every executor against its
# floor.
test: setup testbed check
	$(BIN)/pytest -q -m "not full" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory bench-check

test-conformance: setup testbed
	$(BIN)/pytest -q tests/conformance $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/pytest -q -m "not podman and not conformance" $(PYTEST_ARGS)

# The full campaign of hostile values (tests/hostile/): HOSTILE_CASES new random cases through
# the compiled scripts under dash, busybox ash and bash (`make test` runs a derandomized ~800);
# the tally is printed and written to build/hostile-report.json.
HOSTILE_CASES ?= 10000
test-hostile: setup
	WFREWRITE_HOSTILE_CASES=$(HOSTILE_CASES) WFREWRITE_HOSTILE_REPORT=build/hostile-report.json \
	  $(BIN)/pytest -q tests/hostile $(PYTEST_ARGS)

# The full seeded fault campaign (tests/transport/campaign.py: the url transport on every lane,
# tes included, and the driver's transfers of the platform transport on Funnel): at
# least FAULTS faults, a new SEED each time unless given; RUNS=17,23 replays those runs of SEED.
# `make test` runs its CI part (300 faults, a fixed seed); the table of faults and outcomes ends
# the output. Needs the object stores (as root, the test bed starts them); the podman and Slurm
# lanes run where those are.
FAULTS ?= 1000
SEED ?= $(shell date +%s)
test-faults: setup
	$(BIN)/pytest -q tests/transport/test_fault_campaign.py --fault-seed=$(SEED) \
	  --faults=$(FAULTS) $(if $(RUNS),--fault-runs=$(RUNS)) $(PYTEST_ARGS)

goldens: setup
	WFREWRITE_UPDATE_GOLDENS=1 $(BIN)/pytest -q tests/emit/test_golden.py

# Lint, formatting, types (mypy, proved to run), the house's one-way dependencies
# (import-linter, pyproject.toml [tool.importlinter]) and the sh runtime (shellcheck).
check: setup
	$(BIN)/ruff check compiler runtime cli tests bench plugins tools
	$(BIN)/ruff format --check compiler runtime cli tests bench plugins tools
	$(PY) tools/typecheck.py
	$(BIN)/lint-imports --no-cache
	$(BIN)/shellcheck -s sh runtime/sh/*.sh

# Benchmarks (bench/): one table of a 24-way scatter through every engine, on podman and, when
# they answer, on the test bed's Funnel and Kubernetes, each against its platform's bare floor
# (also as build/bench/engines.json); bench-check, a small run of it whose ratios must stay under
# bench/ceilings.json (starts the platforms when root); bench-scaling, the cost as N grows.
BENCH_CHECK_SYSTEMS := podman/wdl-wfrewrite,podman/cwl-wfrewrite,podman/wdl-toil-noapp,tes/wdl-wfrewrite,kubernetes/wdl-wfrewrite
port_closed = ! $(PY) -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', $(1))))"

bench: setup
	$(PY) bench/engines.py --json build/bench/engines.json

bench-check: setup bench-platforms
	$(PY) bench/engines.py --platforms podman,tes,kubernetes --tasks 8 --rounds 2 \
	  --systems $(BENCH_CHECK_SYSTEMS) --json build/bench/check.json
	$(PY) bench/check.py build/bench/check.json

bench-scaling: setup
	$(PY) bench/scaling.py --json build/bench/scaling.json

bench-platforms:
	@if [ "$$(id -u)" = 0 ] && [ -d $(TESTBED) ]; then \
	  if $(call port_closed,8333); then bash $(TESTBED)/object-store.sh start >/dev/null; fi; \
	  if $(call port_closed,8000); then bash $(TESTBED)/funnel.sh start >/dev/null; fi; \
	  if $(call port_closed,6443); then bash $(TESTBED)/k8s.sh start >/dev/null; fi; \
	fi

# The url transport's transfers against plain curl / xargs -P curl in a container (needs the
# object stores: ../shared/testbed/object-store.sh start; about 3 GiB of disk).
bench-staging: setup
	$(PY) bench/staging.py

clean:
	rm -rf $(VENV) build runs .pytest_cache .mypy_cache .ruff_cache
