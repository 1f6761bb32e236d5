# Two commands on a fresh machine:  make demo   (the main job)   and   make test
# Each creates .venv and installs what it needs: torch (CPU build) first, then crnn.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
# Debian packages: fonts for rendering Latin and Chinese text, poppler + LibreOffice for
# page-rendered validation sets, Chromium for the web page's browser test.
DEB_PACKAGES ?= fonts-dejavu fonts-liberation2 fonts-noto-cjk fonts-wqy-zenhei \
	fonts-noto-cjk-extra fonts-arphic-gbsn00lp fonts-arphic-gkai00mp fonts-ipafont-mincho \
	fonts-ipafont-gothic fonts-ipaexfont-mincho fonts-takao-mincho fonts-droid-fallback \
	fonts-urw-base35 fonts-texgyre fonts-liberation fonts-crosextra-carlito \
	fonts-crosextra-caladea fonts-freefont-ttf fonts-linuxlibertine fonts-open-sans \
	fonts-roboto fonts-ebgaramond fonts-lato fonts-cantarell \
	fonts-wqy-microhei fonts-arphic-uming fonts-arphic-ukai fonts-lxgw-wenkai \
	fonts-sil-andika fonts-sil-gentium fonts-sil-charis fonts-beteckna fonts-league-spartan \
	fonts-comfortaa fonts-quicksand fonts-cabin fonts-karla fonts-inter fonts-manrope \
	fonts-paratype fonts-roboto-slab fonts-adf-baskervald fonts-adf-gillius \
	fonts-adf-universalis fonts-adf-accanthis fonts-junicode fonts-cardo fonts-hack \
	fonts-jetbrains-mono fonts-go fonts-dosis fonts-averia-sans-gwf fonts-averia-serif-gwf \
	fonts-hanazono fonts-babelstone-han fonts-ipamj-mincho fonts-morisawa-bizud-gothic \
	fonts-morisawa-bizud-mincho fonts-migmix fonts-vlgothic fonts-stix fonts-oldstandard \
	fonts-vollkorn fonts-yrsa-rasa fonts-croscore fonts-sil-gentiumplus fonts-noto-core \
	poppler-utils libreoffice-writer-nogui chromium
# The texts whose prose tools/prose_corpus.py turns into training text (the bundled model's
# recipe, configs/v19/train.yaml): fortune files, the Debian reference, and the Chinese
# editions of LibreOffice's and GIMP's help and of Debian's guides. `make text-deps`.
TEXT_PACKAGES ?= fortunes fortunes-zh debian-reference-zh-cn libreoffice-help-zh-cn \
	gimp-help-zh-cn maint-guide-zh-cn debian-faq-zh-cn

BENCH_VENV ?= .venv-bench
BENCH_PEERS ?= rapidocr_onnxruntime==1.4.4 rapidocr==3.10.0
BENCH_DATA ?= build/bench/lines.lmdb

.PHONY: demo train-demo test lint system-deps text-deps venv clean bench bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Installs the Debian packages when run as root (or with sudo) on Debian/Ubuntu; elsewhere it
# says what to install. Re-running is cheap: packages already present are skipped.
system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif ! command -v apt-get >/dev/null; then \
		echo "install these (or equivalent) packages:$$missing"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends \
			$$missing >/dev/null && echo "system packages installed"; fi

text-deps:
	@$(MAKE) --no-print-directory system-deps DEB_PACKAGES="$(DEB_PACKAGES) $(TEXT_PACKAGES)"

# The main job: read the bundled sample lines with the bundled model (no flags), then score
# them against their labels.
demo: venv
	$(BIN)/crnn predict examples/lines
	$(BIN)/crnn eval --data examples/lines/labels.tsv --nfkc --ignore-space

# Render data, train a small CRNN on the CPU, read held-out lines (a few minutes).
train-demo: venv system-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

test: venv system-deps
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check src tests benchmarks tools

# Peers for benchmarks/recognize.py live in their own venv (they pull opencv-python and
# their own models) so the core install stays small.
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q $(TORCH)
	$(BENCH_VENV)/bin/pip install -q -e '.[export]' $(BENCH_PEERS)
	touch $@

bench-deps: $(BENCH_VENV)/.installed
	@$(MAKE) --no-print-directory system-deps DEB_PACKAGES="$(DEB_PACKAGES) tesseract-ocr \
		tesseract-ocr-chi-sim tesseract-ocr-eng"

bench: bench-deps
	@test -e $(BENCH_DATA) || $(BENCH_VENV)/bin/crnn synth pages --out $(BENCH_DATA) \
		--pages 12 --seed 7
	$(BENCH_VENV)/bin/python benchmarks/recognize.py --data $(BENCH_DATA)

clean:
	rm -rf build runs .pytest_cache
