# resetd — common tasks. `make run` needs nothing; `make test` needs PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379, and starts an SMTP sink.

export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export RESETD_TEST_DATABASE_URL ?= $(DATABASE_URL)
export RESETD_TEST_REDIS_URL ?= redis://127.0.0.1:6379
SMTP_SINK_PORT ?= 2525
SMTP_SINK_DIR ?= $(CURDIR)/target/smtp-sink
export RESETD_TEST_SMTP_PORT = $(SMTP_SINK_PORT)
export RESETD_TEST_SMTP_DIR = $(SMTP_SINK_DIR)

.PHONY: run test lint fmt bench migrate up smtp-sink

run:
	cargo run --bin resetd -- serve

smtp-sink:
	@mkdir -p $(SMTP_SINK_DIR)
	@if ! (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null; then \
		nohup python3 scripts/smtp_sink.py --host 127.0.0.1 --port $(SMTP_SINK_PORT) --dir $(SMTP_SINK_DIR) >target/smtp-sink.log 2>&1 & \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	fi

test: smtp-sink
	cargo test --workspace --all-targets
	cargo test --workspace --doc

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench:
	cargo bench -p resetd-domain --bench domain

migrate:
	cargo run --bin resetd -- migrate

up:
	docker compose up --build
