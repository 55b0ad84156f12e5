# Two commands do all setup on a fresh machine:
#   make run   - create .venv, install everything, start the service on http://127.0.0.1:8000
#   make test  - the same setup, then lint, architecture contracts and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := node_modules/.installed-stamp
# The database every python-svc machine (and CI) runs; tests skip visibly without it, except
# under CI=true, where a missing service fails the run.
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_POSTGRES_URL
# The Redis broker of the Celery scale-out test (skipped visibly when it does not answer)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export TEST_REDIS_URL

.PHONY: run test lint audit system-deps bench clean contracts stack stack-files web-vendor

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# anvil (the dev chain node), solc-js and OpenZeppelin, pinned in package-lock.json
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

contracts: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m contracts.build

# Debian's ffmpeg when it is missing and we may install it (root + apt); otherwise say so.
system-deps:
	@if ! command -v ffmpeg >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing ffmpeg from Debian"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) \
	      || echo "warning: could not install ffmpeg (video analysis arrives later and will fall back to imageio-ffmpeg)"; \
	  else \
	    echo "note: ffmpeg not found and apt-get not usable; install it for video analysis"; \
	  fi; \
	fi
	@# Debian's chromium (the web pages' browser tests) and a CJK font for their screenshots;
	@# without the browser those tests skip visibly, and fail under CI=true.
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and a CJK font from Debian"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
	      || echo "warning: could not install chromium (the browser tests will be skipped)"; \
	  else \
	    echo "note: chromium not found and apt-get not usable; install it for the browser tests"; \
	  fi; \
	fi

# The pages' browser code is vendored from npm (pinned in package-lock.json) into
# evidence_service/web/static/vendor and committed, so the service needs no node at run time;
# after changing a version, run this and commit the result (a unit test compares the copies).
web-vendor: $(NPM_STAMP)
	cp node_modules/hash-wasm/dist/sha256.umd.min.js evidence_service/web/static/vendor/hash-wasm-sha256.umd.min.js
	cp node_modules/hash-wasm/dist/sm3.umd.min.js evidence_service/web/static/vendor/hash-wasm-sm3.umd.min.js
	cp node_modules/hash-wasm/LICENSE evidence_service/web/static/vendor/hash-wasm.LICENSE
	cp node_modules/tus-js-client/dist/tus.min.js evidence_service/web/static/vendor/tus.min.js
	cp node_modules/tus-js-client/LICENSE evidence_service/web/static/vendor/tus-js-client.LICENSE

run: $(STAMP) $(NPM_STAMP) system-deps
	$(BIN)/evidence serve

lint: $(STAMP)
	$(BIN)/ruff check evidence_service evidence_verify contracts ledger_node video_pipeline tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy evidence_service evidence_verify contracts ledger_node video_pipeline

# Queries the vulnerability database online, so it is kept out of `lint` (offline runs).
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable --progress-spinner off

test: $(STAMP) $(NPM_STAMP) system-deps lint
	$(BIN)/python -m pytest

bench: $(STAMP) system-deps
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/video.py

clean:
	rm -rf $(VENV) var node_modules

# Production topology (docker-compose.yml): generate the Besu QBFT network files once (keys,
# genesis, permissioning, admin and anchoring keystores), then start everything. Needs a
# Docker engine with the compose plugin and a filled-in .env (see .env.example).
BESU_NETWORK_DIR ?= ./var/besu-network
stack-files: $(STAMP)
	@test -f .env || { echo "copy .env.example to .env and fill it in first"; exit 1; }
	@if [ ! -f $(BESU_NETWORK_DIR)/genesis.json ]; then \
	  set -a; . ./.env; set +a; \
	  $(BIN)/ledger-node besu-network --out $(BESU_NETWORK_DIR) --validators 4 \
	    --keystore-dir $(BESU_NETWORK_DIR)/keystores; \
	fi

stack: stack-files
	docker compose up -d --build
