# resetd — common tasks. `make run` needs nothing. `make test` uses PostgreSQL and Redis at the
# URLs below when they answer, else starts throwaway ones from the installed binaries (Debian
# packages postgresql and redis-server), and its Python packages live in target/venv (the
# tests start their own SMTP sink, scripts/smtp_sink.py, on a free port). `make smtp-sink`
# starts one on port 2525 for trying the service by hand.

export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export RESETD_TEST_DATABASE_URL ?= $(DATABASE_URL)
export RESETD_TEST_REDIS_URL ?= redis://127.0.0.1:6379
SMTP_SINK_PORT ?= 2525
SMTP_SINK_DIR ?= $(CURDIR)/target/smtp-sink

CARGO_TARGET_DIR ?= $(CURDIR)/target
VENV = $(CURDIR)/target/venv

.PHONY: run test lint fmt bench migrate up up-scale smtp-sink venv fuzz schemathesis

run:
	cargo run --bin resetd -- serve

smtp-sink: venv
	@mkdir -p $(SMTP_SINK_DIR)
	@if ! (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null; then \
		nohup $(VENV)/bin/python scripts/smtp_sink.py --host 127.0.0.1 --port $(SMTP_SINK_PORT) --dir $(SMTP_SINK_DIR) >target/smtp-sink.log 2>&1 & \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_SINK_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	fi

# The tests' one Python: the packages of tests/requirements.txt (the SMTP sink's aiosmtpd, the
# official Looker SDK, pinned) in a virtual environment under target/; the machine's python3
# needs no extra package. resetd-test-support makes the same one when a test needs it first.
venv: $(VENV)/.requirements
$(VENV)/.requirements: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	cp tests/requirements.txt $@

# The suite runs through with-test-servers: the PostgreSQL and Redis at the URLs above when
# they answer, else throwaway ones from the installed binaries (stopped afterwards).
test: venv
	cargo build -q -p resetd-test-support --bin with-test-servers
	$(CARGO_TARGET_DIR)/debug/with-test-servers cargo test --workspace --all-targets
	cargo test --workspace --doc

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo check -q --manifest-path fuzz/Cargo.toml --bins

# Every fuzz target for FUZZ_SECONDS each (cargo fuzz, installed when missing; RUSTC_BOOTSTRAP
# lets the stable toolchain take its sanitizer flags). Corpora stay in fuzz/corpus/.
FUZZ_SECONDS ?= 60
# Then schemathesis with a random seed and FUZZ_EXAMPLES examples per operation (at most 30 min).
FUZZ_EXAMPLES ?= 1000
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --locked
	cd fuzz && for t in $$(cargo fuzz list); do \
		RUSTC_BOOTSTRAP=1 cargo fuzz run -s none $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
		echo "$$t: $$(ls corpus/$$t | wc -l) corpus entries, no crash"; \
	done
	cargo build -q -p resetd-test-support --bin with-test-servers
	SCHEMATHESIS_SEED=random SCHEMATHESIS_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_MINUTES=30 \
		$(CARGO_TARGET_DIR)/debug/with-test-servers scripts/schemathesis.sh

# Schemathesis against a production-profile resetd's /openapi.json, as an admin (about two
# minutes; .ci/run runs it too), with a fixed seed so that a failure reproduces; `make fuzz`
# explores with random seeds.
schemathesis:
	cargo build -q -p resetd-test-support --bin with-test-servers
	$(CARGO_TARGET_DIR)/debug/with-test-servers scripts/schemathesis.sh

fmt:
	cargo fmt --all

# Criterion benches of the domain, then the HTTP load run (release build, production profile,
# the local PostgreSQL and Redis; needs pgbench for the comparison).
# The load run compares resetd (the system allocator) with the same binary on mimalloc, built
# first and set aside.
bench:
	cargo bench -p resetd-domain --bench domain
	cargo build -q --release -p resetd-server --bin resetd --features mimalloc
	cp $(CARGO_TARGET_DIR)/release/resetd $(CARGO_TARGET_DIR)/release/resetd-mimalloc
	RESETD_BENCH_OTHER_ALLOCATOR=$(CARGO_TARGET_DIR)/release/resetd-mimalloc \
	  cargo bench -p resetd-server --bench http_load

migrate:
	cargo run --bin resetd -- migrate

# The token key is generated into .env on first use (compose reads it; .env is not committed),
# and the token signing key (a P-256 PEM) into .secrets/ (not committed either): the folder is
# the owner's only, the file readable by the container's own user.
up:
	@test -f .env || (umask 077 && printf 'RESETD_TOKEN_KEY=%s\n' "$$(head -c 32 /dev/urandom | base64 | tr -d '\n')" > .env)
	@test -f .secrets/oidc-signing-key.pem || (mkdir -p -m 700 .secrets \
	  && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out .secrets/oidc-signing-key.pem \
	  && chmod 644 .secrets/oidc-signing-key.pem)
	docker compose up --build

# The same keys, then two resetd processes behind HAProxy on a three-master Redis Cluster
# (docker-compose.scale.yml; docs/operations.md, "Running more than one process").
up-scale:
	@test -f .env || (umask 077 && printf 'RESETD_TOKEN_KEY=%s\n' "$$(head -c 32 /dev/urandom | base64 | tr -d '\n')" > .env)
	@test -f .secrets/oidc-signing-key.pem || (mkdir -p -m 700 .secrets \
	  && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out .secrets/oidc-signing-key.pem \
	  && chmod 644 .secrets/oidc-signing-key.pem)
	docker compose -f docker-compose.scale.yml up --build
