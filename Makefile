# Two commands on a fresh machine:
#   make book   set everything up (virtual environment, packages, tutorial_utils, Jupyter kernel)
#               and build the book into build/_build/html (profile from BOOK_PROFILE, default cpu)
#   make test   set up the same way if needed, then run every test in the ci profile
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := resnet-speech-book
JB_ARGS := . --config book/_config.yml --toc book/_toc.yml --path-output build

.PHONY: setup book test test-package-and-notebooks test-book lab strip clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (resnet-speech-book)"
	touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BIN)/jupyter-book build $(JB_ARGS) -W -n --keep-going

# The package tests plus every notebook under nbval, then the full book build, one after the other
# (run side by side on a fresh environment, two kernels compiling librosa's numba code hung), with one
# torch thread: the tests' tensors are small.
TEST_ENV := BOOK_PROFILE=ci OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider --timeout 900

test: setup
	$(MAKE) --no-print-directory test-package-and-notebooks test-book

test-package-and-notebooks: setup
	$(TEST_ENV) $(PYTEST) tests notebooks --nbval-lax -m "not book"

test-book: setup
	$(TEST_ENV) $(PYTEST) tests/test_book.py

lab: setup
	$(BIN)/jupyter lab notebooks/

strip:
	$(BIN)/python tests/strip_outputs.py notebooks/*.ipynb

clean:
	rm -rf build
