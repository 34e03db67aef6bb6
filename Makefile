# OpenFax: `make run` starts the fax service, `make test` installs what the tests need and runs them,
# `make check` runs the unit half alone (tests/unit) for the edit-test loop.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Runtime: spandsp for T.30; test and benchmark peers: efax, libtiff tools, poppler (pdfinfo,
# an independent reader of the PDFs we write), Ghostscript;
# the store tests start a private PostgreSQL server; SIPp (sip-tester) is the independent
# SIP peer of the telephony tests; HylaFAX's daemons and clients send and receive through the
# virtual modem (tests/integration/engine/test_hylafax.py) and are bench/service.py's rival
# (both run a private instance, bench/hylafax; installing them starts no service and needs no
# init); swaks is a second SMTP client of the e-mail gateway's tests; Tesseract reads received
# faxes (optional at run time: without it faxes are archived without their text). LibreOffice
# (optional at run time: without it Office documents are refused naming these packages)
# makes Office documents PDF, driven through UNO by python3-uno. CUPS (optional at run time:
# print to fax, `openfax cups install`): the tests run a private cupsd, print with lp and read
# the jobs with ipptool. systemd: systemd-analyze verifies packaging/openfaxd.service
# (installing it starts nothing where systemd is not PID 1).
RUN_DEBS := libspandsp2 libtiff6
OFFICE_DEBS := libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno
CUPS_DEBS := cups-daemon cups-client cups-filters
TEST_DEBS := $(RUN_DEBS) efax libtiff-tools poppler-utils ghostscript gcc libc6-dev postgresql sip-tester \
    hylafax-server hylafax-client swaks curl tesseract-ocr tesseract-ocr-eng chromium chromium-driver \
    $(OFFICE_DEBS) $(CUPS_DEBS) cups-ipp-utils systemd
OUT ?= out
# `make run CONFIG=openfaxd.toml ARGS="--data-dir /srv/fax -v"`: openfaxd's configuration file
# and any other options of its own.
CONFIG ?=
ARGS ?=

.PHONY: run demo test check unit lint typecheck package-check pytest bench system-packages deb \
    test-deb container clean

$(BIN)/openfax: pyproject.toml
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || scripts/install-system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# Byte-compiled once here, so commands start quickly even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q src
	touch $@

run: $(BIN)/openfax
	scripts/install-system-packages $(RUN_DEBS)
	$(BIN)/openfaxd $(if $(CONFIG),--config "$(CONFIG)") $(ARGS)

demo: $(BIN)/openfax
	scripts/install-system-packages $(RUN_DEBS)
	mkdir -p $(OUT)
	$(BIN)/openfax loopback samples/letter.txt samples/chart.png -o $(OUT)/received.tif --resolution fine
	@echo "Received fax written to $(OUT)/received.tif"

system-packages:
	scripts/install-system-packages $(TEST_DEBS)

test: system-packages $(BIN)/openfax lint typecheck package-check pytest

lint: $(BIN)/openfax
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/openfax
	$(BIN)/mypy

# The wheel and sdist as pip users get them, installed into a clean virtualenv and run there.
package-check: $(BIN)/openfax
	scripts/package-check $(BIN)/python

# Both halves: tests/unit and tests/integration (daemons, PostgreSQL, efax, SIPp, HylaFAX).
# WORKERS: twice the two cores CI has, since much of the suite waits on real-time fax lines
# (10 min 20 s with 4 workers, 15 min 31 s with 2, on two cores). Sources byte-compiled
# first: the suite starts openfaxd over and over, and each start reads them. The 25 slowest
# tests are listed at the end, to keep the suite inside its 15 minutes.
WORKERS ?= 4
pytest: $(BIN)/openfax
	$(BIN)/python -m compileall -q src tests
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup -q --durations=25

# The unit half: no socket, process, PostgreSQL or real-time line (tests/unit/conftest.py
# fails a test that tries), so it needs no more than `make run` installs.
check unit: $(BIN)/openfax
	scripts/install-system-packages $(RUN_DEBS)
	$(BIN)/pytest -q tests/unit

bench: system-packages $(BIN)/openfax
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/sip.py
	$(BIN)/python bench/ocr.py
	$(BIN)/python bench/modem.py

# The Debian package, for Debian 12 (dist/openfax_VERSION_ARCH.deb): a virtual environment in
# /opt/openfax, the systemd unit, /etc/openfax (packaging/build-deb says what else);
# `make test-deb` (root) installs and runs it in a fresh Debian 12 root (packaging/test-deb).
deb:
	scripts/install-system-packages python3-venv
	packaging/build-deb dist

test-deb:
	packaging/test-deb

# The container image (packaging/Containerfile), with podman (docker: CONTAINER=docker);
# BASE: another Debian 12 image than docker.io's debian:12-slim (a mirror's, a local one).
# podman and buildah write Docker's image format: OCI's has no HEALTHCHECK.
CONTAINER ?= podman
BASE ?=
container:
	$(CONTAINER) build $(if $(filter podman buildah,$(notdir $(CONTAINER))),--format docker) \
	    $(if $(BASE),--build-arg BASE=$(BASE)) -f packaging/Containerfile -t openfax:latest .

clean:
	rm -rf $(VENV) $(OUT) dist build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
