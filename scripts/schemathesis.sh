#!/usr/bin/env bash
# Schemathesis against /openapi.json of a running production-profile resetd, as an admin, all
# checks, bounded to a couple of minutes. Run it under with-test-servers (make schemathesis),
# which exports DATABASE_URL and RESETD_TEST_REDIS_URL. Fails on any server error or any
# answer outside the documented schema.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-80}
# A fixed seed by default, so a red run reproduces with the same command (`make schemathesis`
# in CI); `make fuzz` passes SCHEMATHESIS_SEED=random and many more examples to explore.
SEED=${SCHEMATHESIS_SEED:-20261202}
MINUTES=${SCHEMATHESIS_MINUTES:-5}
SEED_ARGS=(--seed "$SEED")
if [ "$SEED" = random ]; then SEED_ARGS=(); fi
VENV=target/schemathesis-venv
if [ ! -f "$VENV/.ready-$SCHEMATHESIS_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$VENV/.ready-$SCHEMATHESIS_VERSION"
fi
PY="$VENV/bin/python"

cargo build -q --bin resetd
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DB="resetd_schemathesis_$$"
DB_URL=$("$PY" - "$DATABASE_URL" "$DB" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
PY
)
psql -q "$DATABASE_URL" -c "CREATE DATABASE $DB"

export RESETD_CONFIG_DIR=config RESETD_PROFILE=production
export RESETD__DATABASE__URL="$DB_URL" RESETD__REDIS__URL="$RESETD_TEST_REDIS_URL" RESETD__REDIS__KEY_PREFIX="st$$:"
RESETD__SECURITY__TOKEN_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
export RESETD__SECURITY__TOKEN_KEY
RESETD__OIDC__SIGNING_KEY=$(target/debug/resetd signing-key)
export RESETD__OIDC__SIGNING_KEY
export RESETD__MAIL__ENABLED=false RESETD__SMS__ENABLED=false
export RESETD__SERVER__BIND="127.0.0.1:$PORT" RESETD__SERVER__PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
# Many calls come from one address: its limits stay out of the way of the schema checks.
export RESETD__LIMITS__LOGIN_PER_IP_PER_MINUTE=100000 RESETD__LIMITS__PASSWORD_CHANGES_PER_IP_PER_MINUTE=100000
export RESETD__OTP__PER_IP_PER_MINUTE=100000 RESETD__LIMITS__TOKEN_PER_IP_PER_MINUTE=100000

target/debug/resetd migrate >/dev/null
CREDS=$(target/debug/resetd admin create-api-credentials --email schemathesis@example.com --admin 2>/dev/null)
# A CIAM application and a user with a password: the Bearer endpoints are called with a real
# access token (a Looker one would only ever meet their token check).
CIAM=$(target/debug/resetd admin create-client --type spa --name schemathesis 2>/dev/null)
target/debug/resetd admin create-user --email ciam-schemathesis@example.com \
  --password Schemathesis-Zeppelin-42 >/dev/null 2>&1
target/debug/resetd serve 2> target/schemathesis-resetd.log &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true' EXIT
TOKEN=$("$PY" - "http://127.0.0.1:$PORT" "$CREDS" <<'PY'
import json, sys, time, urllib.parse, urllib.request
base, creds = sys.argv[1], json.loads(sys.argv[2])
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/healthz", timeout=1); break
    except Exception:
        time.sleep(0.1)
body = urllib.parse.urlencode({"client_id": creds["client_id"], "client_secret": creds["client_secret"]}).encode()
print(json.load(urllib.request.urlopen(base + "/api/4.0/login", body))["access_token"])
PY
)
CIAM_TOKEN=$("$PY" - "http://127.0.0.1:$PORT" "$CIAM" <<'PY'
import json, sys, urllib.parse, urllib.request
base, client = sys.argv[1], json.loads(sys.argv[2])
body = urllib.parse.urlencode({"grant_type": "password", "client_id": client["client_id"],
    "username": "ciam-schemathesis@example.com", "password": "Schemathesis-Zeppelin-42"}).encode()
print(json.load(urllib.request.urlopen(base + "/oauth2/token", body))["access_token"])
PY
)
# The Looker session for every operation, the CIAM access token for the Bearer ones.
CONFIG=target/schemathesis.toml
cat > "$CONFIG" <<TOML
headers = { Authorization = "token $TOKEN" }

[[operations]]
include-path-regex = "^/(userinfo|change_user_password)\$"
headers = { Authorization = "Bearer $CIAM_TOKEN" }

TOML
# Logging out would end the session the run authenticates with: that one operation is left out.
# Two checks are left out. positive_data_acceptance (ST202) flags requests the schema allows
# and the server refuses on purpose (an empty email, an empty password, a token that is not
# one), each answered with its documented 4xx. ensure_resource_availability (ST302) follows
# links it infers from POST /api/4.0/users to every path with {user_id}, credentials_email
# included: a user made without credentials_email has none, and its 404 there is Looker's
# answer, not a resource lost after its creation (a per-operation exclusion does not reach
# the stateful phase). tests/api covers each created resource being readable.
timeout $((MINUTES * 60)) "$VENV/bin/schemathesis" --config-file "$CONFIG" run "http://127.0.0.1:$PORT/openapi.json" \
  "${SEED_ARGS[@]}" --checks all --exclude-checks positive_data_acceptance,ensure_resource_availability \
  --max-examples "$EXAMPLES" \
  --exclude-operation-id logout --exclude-path /api/logout --no-color
