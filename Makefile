# Two commands on a fresh machine with Python >= 3.10: `make demo` and `make test`.
# Each creates its own virtual environment in .venv from nothing; so does `make docs`, in either order:
# the docs stamp depends on the test stamp, so a fresh clone builds .venv once, and a change to
# pyproject.toml reinstalls both.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-stamp
# -W: any warning fails the build (CI runs this); --keep-going lists them all first.
SPHINXOPTS ?= -W --keep-going
BENCH_VENV := .venv-bench

.PHONY: demo test test-slow test-all docs pictures bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

# The main job on the embedded default data set (scikit-learn's digits; no network).
demo: $(STAMP)
	$(VENV)/bin/chainrule train --out runs/demo

# -n auto: one pytest worker per core (pytest-xdist). `make test` leaves out the tests marked slow (they
# train on real data for more than a few seconds, or run hundreds of subprocesses); `make test-slow` runs
# exactly those; `make test-all` both. .ci/run runs make test, then make test-slow.
test: $(STAMP)
	$(PY) -m pytest -q -n auto -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -n auto -m slow

test-all: test test-slow

# The documentation site (Sphinx, numpydoc, sphinx-gallery) in docs/_build/html. The gallery
# (examples/) is executed during the build; unchanged examples are not run again.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[all,test,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	MPLBACKEND=Agg $(PY) -m sphinx -b html $(SPHINXOPTS) docs/source docs/_build/html
	@echo "open docs/_build/html/index.html"

# Regenerate the pictures the README shows (committed under docs/images).
pictures: $(STAMP)
	$(VENV)/bin/chainrule train --quiet --out runs/readme-mlp
	$(VENV)/bin/chainrule train --quiet --model linear --alpha 0.01 --out runs/readme-linear
	$(VENV)/bin/chainrule train --quiet --dataset spirals --out runs/readme-spirals
	$(VENV)/bin/chainrule demo overfitting --out runs/readme-overfitting
	$(VENV)/bin/chainrule demo features --out runs/readme-features
	mkdir -p docs/images
	cp runs/readme-mlp/curves.png runs/readme-mlp/confusion.png runs/readme-mlp/mistakes.png docs/images/
	cp runs/readme-linear/templates.png docs/images/templates.png
	cp runs/readme-spirals/boundary.png docs/images/boundary.png
	cp runs/readme-overfitting/overfitting.png runs/readme-features/features.png docs/images/

# Benchmarks against PyTorch and scikit-learn in their own environment (PyTorch is never a test dependency).
$(BENCH_VENV)/.installed-stamp: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[all,fast,bench]'
	touch $@

bench: $(BENCH_VENV)/.installed-stamp
	$(BENCH_VENV)/bin/python benchmarks/compare.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build src/*.egg-info .pytest_cache
	rm -rf docs/_build docs/source/api docs/source/auto_examples docs/source/sg_execution_times.rst
