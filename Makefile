# mag_ml: build the book and run the tests.
#
#   make venv    .venv + mag_ml editable + Jupyter kernel "mag_ml" + Chromium + offline web assets
#   make book    execute every chapter of _toc.yml with papermill (quick profile), render _build/html
#   make test    make book, then the whole pytest suite plus nbval on the executed chapters
#   make clean   remove build outputs (keeps .venv and the artifacts under data/)
#
# Layout of a build (see README.md, "How the book is built"):
#   book/NN_*.ipynb                 sources, kept free of outputs by this Makefile (never rewritten)
#   _build/executed/                a copy of the book sources (_config.yml, _toc.yml, book/*) in which
#                                   book/NN_*.ipynb are papermill's executed notebooks (run without -p,
#                                   so there is no injected-parameters cell; kernel cwd is book/)
#   _build/html/                    jupyter-book's rendering of _build/executed (execution off)
#   _build/screenshots/             one PNG per page, written by tests/test_book.py
#   data/<profile>/                 artifacts the chapters write (kept by `make clean`)
#   .cache/numba, .cache/npm        numba's on-disk cache, npm tarballs of the vendored web assets
#
# A chapter is re-executed only when its notebook or a file of mag_ml/ changed; the
# chapters' own artifact cache (data/<profile>/) keeps a re-execution fast.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book
.DELETE_ON_ERROR:

PY          := $(CURDIR)/.venv/bin/python
VENV_STAMP  := .venv/.mag_ml-installed
KERNEL      := mag_ml
CHROMIUM    := /usr/bin/chromium

# numba's cache survives between papermill, nbval and pytest (and between CI steps when
# .cache/ is kept). numba checks only the defining file of a cached kernel, not the files of
# the helpers it inlines (rng.py, hamiltonian.py), so the folder is keyed by a hash of the
# whole package: any source change starts a fresh cache. Inline matplotlib figures must be
# stored, so no MPLBACKEND=Agg.
PKG_HASH := $(shell find mag_ml -name '*.py' | LC_ALL=C sort | xargs cat | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba/$(PKG_HASH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# numba's OpenMP threads sleep instead of spinning between parallel regions: on a shared
# 2-core machine spinning threads stall each other (relaxations 100x slower under load).
# torch's OpenMP reads the same settings: with no spin at all each of its small ops waits for
# its threads to wake (quick-profile training 1.9x slower, inverse mapping 2.5x:
# benchmarks/openmp_wait.py), so they spin briefly (10,000 rounds, microseconds) before they sleep.
export OMP_WAIT_POLICY := PASSIVE
export GOMP_SPINCOUNT := 10000
export PATH := $(CURDIR)/.venv/bin:$(PATH)
unexport MPLBACKEND

# Chapters, in _toc.yml order: every `file: book/NN_name` entry (with or without .ipynb).
CHAPTERS  := $(patsubst %,%.ipynb,$(patsubst %.ipynb,%,$(shell sed -nE \
               's@^[[:space:]-]*file:[[:space:]]*["'\'']?(book/[0-9][0-9]_[^"'\''[:space:]]+)["'\'']?[[:space:]]*$$@\1@p' _toc.yml)))
EXEC_DIR  := _build/executed
EXECUTED  := $(addprefix $(EXEC_DIR)/,$(CHAPTERS))
PKG_FILES := $(shell find mag_ml -name '*.py' 2>/dev/null)

# Offline web assets, vendored from the npm registry (tarballs only, no node_modules).
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.15
REQUIREJS    := requirejs@2.3.8
MATHJAX      := mathjax@3.2.2
STATIC       := book/_static_offline
NPM_CACHE    := .cache/npm
ASSETS_STAMP := $(STATIC)/.stamp-html-manager-1.0.15-requirejs-2.3.8-mathjax-3.2.2

# jupyter-book: warnings are errors (broken references, unreadable outputs, ...).
JB_FLAGS ?= -W --keep-going
# pytest options for the notebook check: nbval re-runs each executed chapter in its folder
# (_build/executed/book, where data/ resolves to the repository's data/) and compares the
# outputs of cells marked `# NBVAL_CHECK_OUTPUT`; the artifacts cached by the papermill run
# make this second run fast. It is part of the one pytest run of `make test`.
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
PYTEST_ARGS ?=

.PHONY: venv assets chromium book execute test clean distclean

# ----------------------------------------------------------------------------- venv
venv: $(VENV_STAMP) chromium assets

$(VENV_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (mag_ml)" >/dev/null
	# outputs never reach git: nbstripout as the clean filter of *.ipynb (.gitattributes names it)
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean '"$(PY)" -m nbstripout --keep-id' && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv '"$(PY)" -m nbstripout --keep-id -t'; fi
	touch $@

# Debian's Chromium for the rendered-page tests. CI runs as root; elsewhere sudo is tried
# without a password prompt, and the step is skipped with a warning when neither works.
chromium:
	@if [ -x $(CHROMIUM) ]; then exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "warning: $(CHROMIUM) missing and no root/sudo: the rendered-page tests will skip (fail under CI=true)" >&2; \
	fi

assets: $(ASSETS_STAMP)

# book/_static_offline/ (git-ignored; not named _static: jupyter-book adds every js/css under _static to every page, which would load the widget manager twice):
#   requirejs/require.js, html-manager/embed-amd.js (+ its font files),
#   mathjax/tex-mml-chtml.js with input/, output/chtml/ (fonts), ui/, a11y/, adaptors/.
$(ASSETS_STAMP):
	rm -rf $(STATIC) && mkdir -p $(NPM_CACHE) $(STATIC)/requirejs $(STATIC)/html-manager $(STATIC)/mathjax
	tarballs="$(NPM_CACHE)/jupyter-widgets-html-manager-1.0.15.tgz $(NPM_CACHE)/requirejs-2.3.8.tgz \
	          $(NPM_CACHE)/mathjax-3.2.2.tgz" && \
	{ ls $$tarballs >/dev/null 2>&1 || \
	  (cd $(NPM_CACHE) && npm pack --silent $(HTML_MANAGER) $(REQUIREJS) $(MATHJAX) >/dev/null); } && \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for t in $$tarballs; do \
	  mkdir -p "$$tmp/$$(basename $$t)" && tar xzf $$t -C "$$tmp/$$(basename $$t)"; done && \
	cp "$$tmp"/requirejs-*/package/require.js $(STATIC)/requirejs/ && \
	(cd "$$tmp"/jupyter-widgets-html-manager-*/package/dist && \
	  cp embed-amd.js *.woff *.woff2 *.ttf *.eot *.svg $(CURDIR)/$(STATIC)/html-manager/) && \
	(cd "$$tmp"/mathjax-*/package/es5 && \
	  cp -r tex-mml-chtml.js input ui a11y adaptors $(CURDIR)/$(STATIC)/mathjax/ && \
	  mkdir -p $(CURDIR)/$(STATIC)/mathjax/output && cp -r output/chtml output/chtml.js \
	    $(CURDIR)/$(STATIC)/mathjax/output/)
	touch $@

# ----------------------------------------------------------------------------- book
# 1. execute each chapter (sources untouched), 2. mirror the non-notebook sources next to
# the executed notebooks, 3. render with execution off.
book: venv $(EXECUTED)
	@test -n "$(CHAPTERS)" || { echo "no book/NN_*.ipynb chapter found in _toc.yml" >&2; exit 1; }
	mkdir -p $(EXEC_DIR)/book
	find $(EXEC_DIR)/book -mindepth 1 -maxdepth 1 ! -name '*.ipynb' -exec rm -rf {} +
	cp _config.yml _toc.yml $(EXEC_DIR)/
	tar -C . --exclude='./book/*.ipynb' --exclude='.ipynb_checkpoints' --exclude='__pycache__' \
	    -cf - ./book | tar -C $(EXEC_DIR) -xf -
	ln -sfn ../../data $(EXEC_DIR)/data
	$(CURDIR)/.venv/bin/jupyter-book build $(EXEC_DIR) --path-output . --builder html $(JB_FLAGS)
	@echo "book: file://$(CURDIR)/_build/html/index.html"

execute: $(EXECUTED)

$(EXEC_DIR)/book/%.ipynb: book/%.ipynb $(PKG_FILES) | $(VENV_STAMP)
	mkdir -p $(@D) $(EXEC_DIR)/.tmp $(EXEC_DIR)/.figures data
	rm -f $(EXEC_DIR)/.figures/$*.jsonl
	@echo "papermill $< (quick profile)"
	# MAG_ML_PROGRESS=log: the chapter's progress bars go to this terminal as text lines, not into the page.
	# MATPLOTLIBRC + MAG_ML_FIGURE_LOG: book/_ext/figure_log.py logs each figure's smallest text for
	# the readability check of tests/test_book.py.
	MAG_ML_PROGRESS=log MATPLOTLIBRC=$(CURDIR)/book/_ext/matplotlibrc PYTHONPATH=$(CURDIR)/book/_ext \
	  MAG_ML_FIGURE_LOG=$(CURDIR)/$(EXEC_DIR)/.figures/$*.jsonl \
	  $(PY) -m papermill $< $(EXEC_DIR)/.tmp/$*.ipynb --cwd book -k $(KERNEL) --no-progress-bar \
	  --log-level WARNING \
	  || { echo "papermill failed on $<; the partial run is $(EXEC_DIR)/.tmp/$*.ipynb" >&2; exit 1; }
	mv $(EXEC_DIR)/.tmp/$*.ipynb $@

# ----------------------------------------------------------------------------- test
# One pytest run: tests/ (unit, notebook-structure and rendered-page tests) plus nbval on
# the executed chapters.
test: book
	$(PY) -m pytest tests $(EXECUTED) $(NBVAL_FLAGS) $(PYTEST_ARGS)

# ----------------------------------------------------------------------------- clean
clean:
	rm -rf _build .pytest_cache $(STATIC) .cache/numba
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv .cache
