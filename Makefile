# qgis-siammask: setup, tests, demo, packaging and benchmarks.
# QGIS runs on Debian's /usr/bin/python3, so the venv is made from it with --system-site-packages:
# the geo stack (GDAL, PROJ, rasterio, pyproj, shapely, geopandas) and Pillow (training masks) come
# from Debian, one copy shared with QGIS; pip adds torch (CPU wheel, pinned, installed first and
# alone) and the rest.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
OLD_TORCH ?= 1.13.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-qgis qgis-providers qgis xvfb xauth python3-venv python3-dev \
	python3-rasterio python3-pyproj python3-shapely python3-geopandas python3-fiona proj-bin \
	python3-scipy python3-pil xdotool qttools5-dev-tools debootstrap
# The version matrix: QGIS 3.22 is the host's; the others run in Debian roots (scripts/qgis_root.sh),
# built once under QGIS_ROOTS and reused.
QGIS ?= 3.22
# pytest's arguments for test-qgis (default: the whole suite), e.g. PYTEST_ARGS='tests/test_x.py -k y'
PYTEST_ARGS ?= tests
QGIS_VERSIONS ?= 3.22 3.40 3.44
export QGIS_ROOTS ?= $(HOME)/.cache/qgis-siammask/roots
export QT_QPA_PLATFORM ?= offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup apt venv test test-qgis test-matrix demo package bench fuzz monkey model check-old-torch clean

setup: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt: installing $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "apt: all packages present"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-qt6.txt
	[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --upgrade --target $(VENV)/qt6 -r requirements-qt6.txt
	touch $@

test: venv
	$(PY) -m pytest -q tests

# The whole suite (or PYTEST_ARGS) on one QGIS version (3.22: the host's venv).
test-qgis:
	@if [ "$(QGIS)" = 3.22 ]; then $(MAKE) --no-print-directory venv && $(PY) -m pytest -q $(PYTEST_ARGS); \
	else scripts/qgis_root.sh $(QGIS) $(PYTEST_ARGS); fi

# The whole suite on each version, every leg run whatever the others gave; pass/fail/skip per version.
test-matrix:
	@mkdir -p build/matrix; rm -f build/matrix/summary.new; failed=0; \
	for version in $(QGIS_VERSIONS); do \
		start=$$SECONDS; \
		$(MAKE) --no-print-directory test-qgis QGIS=$$version 2>&1 | tee build/matrix/qgis-$$version.log; \
		[ $${PIPESTATUS[0]} = 0 ] || failed=1; \
		echo "QGIS $$version: $$(grep -E '[0-9]+ (passed|failed|errors?|skipped).* in [0-9.]+s' build/matrix/qgis-$$version.log | tail -1) ($$((SECONDS - start)) s)" >> build/matrix/summary.new; \
	done; \
	mv build/matrix/summary.new build/matrix/summary; \
	echo "== QGIS version matrix =="; cat build/matrix/summary; exit $$failed

demo: venv
	$(PY) -m qgis_siammask demo --out build/demo

package:
	$(PY) scripts/package.py --out dist

bench: venv
	$(PY) -m benchmarks

fuzz: venv
	$(PY) -m benchmarks.fuzz_klv

# The randomized GUI tester: N seeded sequences of user actions on the real plugin (tests/gui_monkey*.py),
# in JOBS child processes at once.
N ?= 1000
SEED ?= 1
JOBS ?= 1
monkey: venv
	OMP_NUM_THREADS=1 $(PY) tests/gui_monkey_campaign.py --sequences $(N) --seed $(SEED) --jobs $(JOBS)

model: venv
	$(PY) -m qgis_siammask models fetch siammask-davis --dir model/weights

# Loads and runs the shipped model and a .pt2 of it in another torch (a throwaway venv; downloads a torch wheel).
check-old-torch: venv
	$(PY) scripts/check_old_torch.py --torch $(OLD_TORCH)

clean:
	rm -rf build dist .pytest_cache
