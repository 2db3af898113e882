# The two commands of the README. Each sets up what it needs first.
#   make site   build the book into _build/html
#   make student  the problem-set edition into _build/student/
#   make test   lint every Python file, then run every test (the data, the
#               chapters' numbers, the build, the browser)
#   make test-quick  lint and the unit tests only (under a minute)
# And for authors:
#   make preview  serve the site on http://127.0.0.1:8000, rebuild it after
#               every save; the open page reloads itself
#   make pdf    print both editions to _build/pdf (book.pdf, problem-set.pdf)
# And for readers who run the chapters:
#   make lab    open the chapters as notebooks in Jupyter, as Binder does
# And for teachers:
#   make grade SUBMISSIONS=folder  grade a class's notebooks into
#               _build/grades (it runs the students' code: see README)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site student preview test lab clean pdf

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
# the site loses the files no reader loads: see tools/book_tools/build/.
# When no input of the site changed, it says so and stops at once.
SITE_FLAGS := -W -n --keep-going
site: $(VENV)/.site-installed
	$(BIN)/python -m book_tools.build . $(SITE_FLAGS)

# sphinx-autobuild's watcher and live-reloading server around the same
# build (book_tools.preview); PORT=8001 make preview picks another port.
PORT ?= 8000
preview: $(VENV)/.site-installed
	$(BIN)/python -m book_tools.preview --port $(PORT) $(SITE_FLAGS)

# The problem-set edition: the same book without its solutions, with
# starter notebooks that check answers; see book_tools.student.
#   site      _build/student/html
#   notebooks _build/student/notebooks (one .ipynb per chapter, and a zip)
#   publish   _build/publish (both editions' notebooks, the package's wheel:
#             what .github/workflows/publish.yml pushes to the notebooks
#             branch, where the launch buttons point; see book_tools.publish)
student: $(VENV)/.site-installed
	$(BIN)/python -m book_tools.student . -W -n --keep-going

# Ruff on every Python file of the repository (src, tests and the
# tools); its settings are in pyproject.toml.
# Two test processes, one per core, each taking whole test files
# (pytest-xdist's loadfile: a file's module fixtures are made once); the
# builds both need are made once (tests/conftest.py, once_per_run). One
# process alone left a core idle for most of the run.
test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

# For authors, in under a minute: lint, then the unit tests of the package
# (src/autodiff_book) and of the site tooling (tools/book_tools) that need
# no build, no browser and no Jupyter kernel.
QUICK_TESTS := $(addprefix tests/test_,$(addsuffix .py,data engine functions \
	graph training regression plotting properties quadratic check checks \
	build_dependencies build_pages theme_overrides audits))
.PHONY: test-quick
test-quick: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(QUICK_TESTS) \
	    -k "not every_figure_of_a_notebook"

# Test tools only, pinned by package-lock.json: axe-core (accessibility
# tests), Lighthouse (book_tools.audits.lighthouse) and vnu-jar, the Nu
# Html Checker (tests/test_valid_html.py). The site itself needs no npm: its
# math is MathML written at build time (book_tools.extensions.build_time_math),
# so `pip install -r requirements.txt` and `jupyter-book build .` suffice.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

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

test: node_modules/.installed browser

# Debian's Java, when there is none, for the Nu Html Checker (npm vnu-jar)
# that tests/test_valid_html.py runs. As for Chromium, only root installs
# it; elsewhere that test skips and says how (never under CI=true). Before
# npm ci, so that vnu-jar's install script finds it and fetches no Java.
.PHONY: java
java:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    default-jre-headless; \
	else echo "No Java: the HTML validity test will skip; install with" \
	    "sudo apt-get install default-jre-headless"; fi

node_modules/.installed: | java
test: java

# Debian's poppler-utils, when missing: tests/test_pdf.py reads the fonts
# embedded in the PDFs with its pdffonts (root installs it, as above).
.PHONY: poppler
poppler:
	@if command -v pdffonts >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y poppler-utils; \
	else echo "No pdffonts: a PDF test will skip; install with" \
	    "sudo apt-get install poppler-utils"; fi

test: poppler

# The full book and the problem set as PDFs, printed by Debian's Chromium
# from the built sites (book_tools.pdf); pypdf comes with the test
# tools, Chromium with the browser target.
pdf: site student $(VENV)/.test-installed browser
	$(BIN)/python -m book_tools.pdf _build/html _build/pdf/book.pdf \
	    --edition "The full book, with solutions"
	$(BIN)/python -m book_tools.pdf _build/student/html \
	    _build/pdf/problem-set.pdf --edition "Problem set"

lab: $(VENV)/.lab-installed
	$(BIN)/jupyter lab --ServerApp.root_dir=book

clean:
	rm -rf _build

# Grade a folder of submitted notebooks (book_tools.grade): each one run
# afresh in its own kernel, its problems checked; _build/grades/grades.csv
# and one feedback file per notebook. The argument is checked first, before
# any set-up.
.PHONY: grade grade-submissions
grade: grade-submissions $(VENV)/.site-installed
	$(BIN)/python -m book_tools.grade "$(SUBMISSIONS)"

grade-submissions:
	@if [ -z "$(SUBMISSIONS)" ]; then \
	    echo "make grade: set SUBMISSIONS to the folder of submitted" \
	        "notebooks: make grade SUBMISSIONS=path/to/folder" >&2; exit 2; \
	elif [ ! -d "$(SUBMISSIONS)" ]; then \
	    echo "make grade: SUBMISSIONS=$(SUBMISSIONS) is not a folder;" \
	        "usage: make grade SUBMISSIONS=path/to/folder" >&2; exit 2; fi

# Mutation testing of the package (slow, not part of `make test`):
# book_tools.audits.mutation runs mutmut 3; benchmarks/mutation.md has the
# score.
.PHONY: mutation
mutation: $(VENV)/.test-installed
	$(BIN)/python -m book_tools.audits.mutation
