# The two commands of the README. Each sets up what it needs first.
#   make site   build the book into _build/html
#   make student  the problem-set edition into _build/student/
#   make test   lint every Python file, then run every test (the data, the
#               chapters' numbers, the build, the browser)
# And for readers who run the chapters:
#   make lab    open the chapters as notebooks in Jupyter, as Binder does
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site student test lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.site-installed: requirements.txt pyproject.toml tools/pyproject.toml \
		| $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The Jupyter front end, set up as binder/postBuild sets it up on Binder.
$(VENV)/.lab-installed: requirements-lab.txt binder/postBuild \
		binder/overrides.json $(VENV)/.site-installed
	$(BIN)/python -m pip install --quiet -r requirements-lab.txt
	NB_PYTHON_PREFIX=$(VENV) bash binder/postBuild
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.lab-installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

# Chapters execute in parallel, re-execute when src/ or data/ change, and
# the site loses the files no reader loads: see scripts/build_book.py.
site: $(VENV)/.site-installed
	$(BIN)/python scripts/build_book.py . -W -n --keep-going

# The problem-set edition: the same book without its solutions, with
# starter notebooks that check answers; see scripts/build_student.py.
#   site      _build/student/html
#   notebooks _build/student/notebooks (one .ipynb per chapter, and a zip)
student: $(VENV)/.site-installed $(MATHJAX_JS)
	$(BIN)/python scripts/build_student.py . -W -n --keep-going

# Ruff on every Python file of the repository (src, tests, tools, scripts,
# benchmarks, _ext); its settings are in pyproject.toml.
test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Browser-side files, pinned by package-lock.json: MathJax (served by the
# site itself, no CDN), axe-core (accessibility tests), Lighthouse
# (scripts/lighthouse.py).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The part of MathJax the site publishes: _config.yml's html_extra_path puts
# _mathjax/mathjax/ at the site's root. The tests' copy of the project takes
# this folder along, so it is made before the build and before the tests.
MATHJAX_JS := _mathjax/mathjax/tex-mml-chtml.js
$(MATHJAX_JS): node_modules/.installed
	rm -rf _mathjax && mkdir -p _mathjax/mathjax
	cd node_modules/mathjax/es5 && cp -r --parents tex-mml-chtml.js \
	    input/tex/extensions output/chtml/fonts/woff-v2 a11y sre \
	    $(CURDIR)/_mathjax/mathjax/

# Debian's Chromium and its driver for the browser tests, when missing.
# Only root installs them (CI runs as root); elsewhere the browser tests
# skip and say how to install them (never under CI=true).
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    chromium chromium-driver; \
	else echo "No Chromium: browser tests will skip; install with" \
	    "sudo apt-get install chromium chromium-driver"; fi

site: $(MATHJAX_JS)
test: $(MATHJAX_JS) browser

lab: $(VENV)/.lab-installed
	$(BIN)/jupyter lab --ServerApp.root_dir=book

clean:
	rm -rf _build _mathjax
