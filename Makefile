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

.PHONY: setup book test test-package test-notebooks lab strip clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (resnet-speech-book)"
	touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BIN)/jupyter-book build $(JB_ARGS) -W -n --keep-going

test: setup
	BOOK_PROFILE=ci $(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

test-package: setup
	BOOK_PROFILE=ci $(BIN)/python -m pytest tests -m "not book" -p no:cacheprovider

test-notebooks: setup
	BOOK_PROFILE=ci $(BIN)/python -m pytest notebooks --nbval-lax -p no:cacheprovider

lab: setup
	$(BIN)/jupyter lab notebooks/

strip:
	$(BIN)/python tests/strip_outputs.py notebooks/*.ipynb

clean:
	rm -rf build
