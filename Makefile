# resetd — common tasks. `make run` needs nothing; `make test` needs PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379 and Python's aiosmtpd (the
# tests start their own SMTP sink, scripts/smtp_sink.py, on a free port). `make smtp-sink`
# starts one on port 2525 for trying the service by hand.

export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export RESETD_TEST_DATABASE_URL ?= $(DATABASE_URL)
export RESETD_TEST_REDIS_URL ?= redis://127.0.0.1:6379
SMTP_SINK_PORT ?= 2525
SMTP_SINK_DIR ?= $(CURDIR)/target/smtp-sink

LOOKER_SDK_VERSION = 26.22.0
AIOSMTPD_VERSION = 1.4.6
VENV = $(CURDIR)/target/venv
export RESETD_TEST_PYTHON = $(VENV)/bin/python

.PHONY: run test lint fmt bench migrate up smtp-sink venv

run:
	cargo run --bin resetd -- serve

smtp-sink:
	@mkdir -p $(SMTP_SINK_DIR)
	@if ! (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null; then \
		nohup python3 scripts/smtp_sink.py --host 127.0.0.1 --port $(SMTP_SINK_PORT) --dir $(SMTP_SINK_DIR) >target/smtp-sink.log 2>&1 & \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	fi

# The tests' one Python: the SMTP sink (aiosmtpd) and the official Looker Python SDK, pinned,
# in a virtual environment under target/ (the machine's python3 needs no extra package).
venv: $(VENV)/.ready-$(LOOKER_SDK_VERSION)-$(AIOSMTPD_VERSION)
$(VENV)/.ready-$(LOOKER_SDK_VERSION)-$(AIOSMTPD_VERSION):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q looker_sdk==$(LOOKER_SDK_VERSION) aiosmtpd==$(AIOSMTPD_VERSION)
	touch $@

test: venv
	cargo test --workspace --all-targets
	cargo test --workspace --doc

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Criterion benches of the domain, then the HTTP load run (release build, production profile,
# the local PostgreSQL and Redis; needs pgbench for the comparison).
bench:
	cargo bench -p resetd-domain --bench domain
	cargo bench -p resetd-server --bench http_load

migrate:
	cargo run --bin resetd -- migrate

up:
	docker compose up --build
