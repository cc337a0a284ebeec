# Two commands do all set-up (see README): `make report` and `make test`.
# Both create .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
CUTS   := data/cuts
OUT    := reports

.PHONY: report test lab demo-cuts browser pdf-libs clean fuzz golden

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.runtime-installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## report: run every notebook on the newest demo cut and render HTML and the PDF packet under reports/<cut_id>/
report: $(VENV)/.runtime-installed pdf-libs
	$(BIN)/msc-analysis run "$$($(BIN)/msc-analysis newest-cut $(CUTS))" --out $(OUT)

## test: install the test dependencies and run the whole suite
test: $(VENV)/.test-installed browser pdf-libs
	$(BIN)/python -m pytest

## browser: Debian's chromium and chromedriver for the offline-report browser tests
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "Browser tests need Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver);"; \
		echo "they are skipped until then, except on CI where they are required."; \
	fi

## pdf-libs: Pango, which WeasyPrint needs for the PDF packet (Debian: libpango-1.0-0 libpangoft2-1.0-0)
pdf-libs:
	@if ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	else \
		echo "The PDF packet needs Pango (sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0);"; \
		echo "without it the run writes the HTML report and warns that the PDF could not be made."; \
	fi

## lab: start JupyterLab on the notebooks with the kit's environment; as root (a container) too.
## Open the http://127.0.0.1:8888/lab?token=... address it prints (Ctrl-C stops it).
lab: $(VENV)/.runtime-installed
	@echo "JupyterLab starts below; open the address with ?token= that it prints, in a browser on this machine."
	$(BIN)/jupyter lab --no-browser $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

## demo-cuts: regenerate the three committed synthetic demo cuts
demo-cuts: $(VENV)/.runtime-installed
	$(BIN)/python -m msc_analysis.synthetic demo --out $(CUTS)

## golden: regenerate tests/golden/<cut_id>/<page>.csv, the committed headline results of the demo
## cuts that tests/test_golden_results.py compares exactly; review every diff in them as a change of
## a headline number (see tests/golden/README.md)
golden: $(VENV)/.runtime-installed
	@set -e; build="$$(mktemp -d)"; trap 'rm -rf "$$build"' EXIT; \
	$(BIN)/msc-analysis run-all $(CUTS) --out "$$build" --force --no-pdf; \
	mkdir -p tests/golden; find tests/golden -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +; \
	for results in "$$build"/*/results; do \
		cut_id="$$(basename "$$(dirname "$$results")")"; \
		mkdir -p "tests/golden/$$cut_id"; \
		cp "$$results"/*.csv "tests/golden/$$cut_id/"; \
	done; \
	echo "Golden results: $$(ls tests/golden/*/*.csv | wc -l) files under tests/golden/"

clean:
	rm -rf $(VENV) $(OUT) results test-artifacts

## fuzz: long random-mutation run on the demo cuts, 10 of them through the real report (opt-in;
## `make test` runs a short one). FUZZ_CASES (default 2000) and FUZZ_SEED (default 1), e.g. make fuzz FUZZ_SEED=7
fuzz: $(VENV)/.runtime-installed
	$(BIN)/python benchmarks/fuzz.py --cases $(or $(FUZZ_CASES),2000) --seed $(or $(FUZZ_SEED),1) \
		--runs 10 --notebooks notebooks
