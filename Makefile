# Two commands on a fresh machine:
#   make book   set everything up (virtual environment from the lock, tutorial_utils, Jupyter kernel)
#               and build the book into build/_build/html in the cpu profile, the published site
#               (make book BOOK_PROFILE=gpu for full-size runs); chapters whose code did not change
#               are not executed again (their outputs are cached in build/jupyter_cache/<profile>)
#   make test   set up the same way if needed, then run every test in the ci profile
#   make pdf    the same book as one PDF, build/_build/latex/book.pdf (xelatex; needs TeX Live from
#               Debian, see README.md); shares the book's execution cache, not part of make test
# Maintenance:
#   make lock         re-resolve requirements.in (and the compatibility stacks) into hashed lock files
#   make colab        write the Colab/Jupyter editions of the chapters into notebooks/colab/
#   make student      write the student edition (the chapters without the exercises' solutions) into build/student/
#   make test-compat  the package tests and every notebook on the readers' other stacks (compat/)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := resnet-speech-book
JB_ARGS := . --config book/_config.yml --toc book/_toc.yml --path-output build
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check --no-input

.PHONY: setup book pdf test test-package test-book test-compat lock colab student lab strip clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_INSTALL) --require-hashes -r requirements.txt
	$(BIN)/python $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (resnet-speech-book)"
	touch $(STAMP)

setup: $(STAMP)

BOOK_PROFILE ?= cpu

book: setup
	BOOK_PROFILE=$(BOOK_PROFILE) $(BIN)/jupyter-book build $(JB_ARGS) -W -n --keep-going

pdf: setup
	BOOK_PROFILE=$(BOOK_PROFILE) $(BIN)/jupyter-book build $(JB_ARGS) -W -n --keep-going --builder pdflatex

# The package tests, then the full book build, one after the other (run side by side on a fresh
# environment, two kernels compiling librosa's numba code hung), with one torch thread: the tests'
# tensors are small. The book build is the only run of the notebooks: tests/test_book.py then compares
# the outputs of their checked cells (cell tag `nbval-check-output`) with the committed ones, as
# nbval --nbval-lax did (compat/run still runs the notebooks under nbval), and tests/test_site.py
# opens every page of that build in headless Chromium (Debian's chromium and chromium-driver).
TEST_ENV := BOOK_PROFILE=ci OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider --timeout 900

test: setup
	$(MAKE) --no-print-directory test-package test-book

test-package: setup
	$(TEST_ENV) $(PYTEST) tests -m "not book"

test-book: setup
	$(TEST_ENV) $(PYTEST) tests -m book

# The readers' other stacks, each in its own environment from its own lock (compat/NAME.txt, for the
# Python named beside it): the package is installed from a wheel, as Colab installs it, and the
# package tests and every notebook run in the ci profile (see compat/run).
COMPAT_STACKS := colab-2026-08:3.13 oldest-2026-01:3.12

test-compat: setup
	rm -rf build/wheel && $(BIN)/python -m build --wheel --no-isolation --outdir build/wheel . > /dev/null
	compat/run build/wheel/tutorial_utils-*.whl $(COMPAT_STACKS)

UV_COMPILE := $(BIN)/uv pip compile --quiet --no-python-downloads --generate-hashes --custom-compile-command "make lock"

lock: setup
	$(UV_COMPILE) requirements.in --universal --python-version 3.11 -o requirements.txt
	set -e; for stack in $(COMPAT_STACKS); do name=$${stack%%:*}; \
	  $(UV_COMPILE) pyproject.toml compat/$$name.in --extra book --python-version $${stack##*:} \
	    --python-platform x86_64-manylinux_2_28 -o compat/$$name.txt; done

colab: setup
	$(BIN)/python book/colab_edition.py

student: setup
	$(BIN)/python book/colab_edition.py --student build/student

lab: setup
	$(BIN)/jupyter lab notebooks/

strip:
	$(BIN)/python tests/strip_outputs.py notebooks/[0-9]*.ipynb

clean:
	rm -rf build
