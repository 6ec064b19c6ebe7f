# Two commands for a fresh machine (Python 3.11+):
#   make demo   set up .venv and audit the bundled Xiangshan sample
#   make test   set up .venv (and Chromium for the HTML report's browser tests), type-check, run the test suite, build the API reference, build and install the
#               distributions in a fresh venv, then check, fmt --check and test the bundled rulesets
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test sample clean browser

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,durable]' $(addprefix -e ,$(wildcard plugins/*/))
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/complianceengine audit rulesets/xiangshan/ruleset.yaml \
	    --registry rulesets/xiangshan/sample/registry.yaml \
	    --events rulesets/xiangshan/sample/events.jsonl \
	    --from 2026-08-01 --to 2026-10-31 --as-of 2026-11-01T00:00:00+08:00 \
	    --rejects out/rejects.jsonl --fail-on none

# the HTML report's browser tests need Chromium and its driver (Debian's packages; CJK fonts for
# the Chinese report's screenshot); installed when missing, as root or with sudo
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y -q chromium chromium-driver fonts-noto-cjk >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver fonts-noto-cjk >/dev/null; }; }

test: $(STAMP) browser
	$(BIN)/mypy
	# names imported or assigned and never used, in the package and the benchmarks
	$(BIN)/python -m pyflakes src/complianceengine benchmarks
	$(BIN)/python -m pytest -q
	# the API reference, from the docstrings (warnings are errors): out/api/index.html
	$(BIN)/sphinx-build -W --keep-going -q -b html docs/api out/api
	# the wheels and sdists of the package and of each plugin, installed into a fresh venv and used outside the checkout
	$(BIN)/python -m pytest -q -m distributions tests/test_distributions.py
	# the bundled rulesets, checked as a ruleset repository's CI would check them
	mkdir -p out
	$(BIN)/complianceengine check rulesets
	$(BIN)/complianceengine fmt --check rulesets
	$(BIN)/complianceengine test rulesets --require-full-coverage --junit out/ruleset-tests.xml

sample: $(STAMP)
	$(BIN)/python rulesets/xiangshan/sample/generate.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
