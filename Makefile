# The two commands: `make test` and `make book`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= cpu
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: test unit book pdf grid setup system bench clean
TABLES ?= table1 table2 table4 tables7-8 figure4

test: setup system
	$(PY) -m pytest

# The unit tests alone (about 2 minutes on 2 cores): every test but those marked slow (notebooks, the book build,
# Chromium, the PDF, training in other processes, anything over ~5 s). `make test` (CI) runs them all.
unit: setup system
	$(PY) -m pytest -m "not slow"

# Execute every chapter with papermill at SCALE (default cpu: reads the committed records), then build the HTML.
book: setup system
	$(PY) scripts/build_book.py --scale $(SCALE)
	@if command -v chromium >/dev/null 2>&1; then $(PY) scripts/check_book_in_browser.py _build; \
	else echo "Chromium not installed: skipped the page check (apt-get install chromium)"; fi

# The built book as one PDF (Chromium prints each page, poppler's pdfunite joins them): _build/saddle-book.pdf
pdf: book
	$(PY) scripts/book_pdf.py _build

# Train every missing run of the paper's tables at SCALE (several `make grid` can run side by side: runs are locked).
WORKERS ?= $(shell nproc)
grid: setup system
	$(PY) -m saddle grid $(TABLES) --scale $(SCALE) --workers $(WORKERS)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Debian packages: Fashion-MNIST (the cpu scale's data), Chromium (the book's page check) and GNU parallel (the
# grid-commands test), when apt is there
# and they are not. Without apt, say how to get them; the tests that need them are skipped.
system:
	@missing=""; \
	[ -f $(FASHION_MNIST) ] || missing="$$missing dataset-fashion-mnist"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v parallel >/dev/null 2>&1 || missing="$$missing parallel"; \
	command -v pdfunite >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif [ -n "$$missing" ]; then echo "missing:$$missing (sudo apt-get install$$missing)"; fi

bench: setup
	$(PY) bench/throughput.py

clean:
	rm -rf _build cache .pytest_cache
