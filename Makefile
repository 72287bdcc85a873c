# The two commands: `make test` and `make book`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= cpu
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: test book setup data bench clean

test: setup data
	$(PY) -m pytest

# Execute every chapter with papermill at SCALE (default cpu: reads the committed records), then build the HTML.
book: setup data
	$(PY) scripts/build_book.py --scale $(SCALE)

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Fashion-MNIST (the cpu scale's data) from Debian's package when apt is there and the files are not.
data:
	@if [ ! -f $(FASHION_MNIST) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif [ ! -f $(FASHION_MNIST) ]; then \
		echo "Fashion-MNIST not in /usr/share/datasets: 'sudo apt-get install dataset-fashion-mnist', or pass --data-root"; \
	fi

bench: setup
	$(PY) bench/train_step.py

clean:
	rm -rf _build cache .pytest_cache
