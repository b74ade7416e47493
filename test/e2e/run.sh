#!/usr/bin/env bash
# End-to-end run across real processes: nats-server v2.15.2, bin/api,
# bin/smsworker and bin/emailworker on Postgres, with the real twilio-go and
# sendgrid-go clients pointed at fake provider servers (test/fakeproviders).
# It replays the Streambird seed's (000) and the Stytch B2B seed's (004) curl
# requests verbatim (host changed),
# checks SIGTERM handling, and runs the Stytch Node SDK suite (test/sdk).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$(mktemp -d)
BIN=$ROOT/bin
GOBIN_DIR=$(go env GOPATH)/bin
PGURL_ADMIN=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DBNAME=sesame_e2e_$$
DATABASE_URL=${PGURL_ADMIN/\/postgres\?/\/$DBNAME?}
# Free ports, chosen now (never a fixed port some other process may hold).
read -r NATS_PORT API_PORT SMS_PORT EMAIL_PORT TW_PORT SG_PORT SMTP_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
API=http://127.0.0.1:$API_PORT FAKE_TW=http://127.0.0.1:$TW_PORT FAKE_SG=http://127.0.0.1:$SG_PORT
PIDS=()

# Refuse to start a process on a port another process took since it was picked:
# a connection that succeeds means something listens there already.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "E2E FAIL: port $1 (for $2) is already held by another process; refusing to run against it" >&2
    exit 1
  fi
}
fail() { echo "E2E FAIL: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -30 "$f" >&2; done; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PGURL_ADMIN" -qc "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
wait_ready() { for _ in $(seq 1 "${2:-100}"); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; fail "$1 never became ready"; }

echo "== tools"
if ! "$GOBIN_DIR/nats-server" --version 2>/dev/null | grep -q 'v2\.15\.'; then
  go install github.com/nats-io/nats-server/v2@v2.15.2
fi
go build -o "$BIN/" ./cmd/...
go build -o "$WORK/fakeproviders" ./test/fakeproviders
psql "$PGURL_ADMIN" -qc "CREATE DATABASE $DBNAME" >/dev/null

echo "== start fake providers, workers and api BEFORE nats-server: start order does not matter"
port_free $TW_PORT "fake Twilio"; port_free $SG_PORT "fake SendGrid"; port_free $SMTP_PORT "fake SMTP"
"$WORK/fakeproviders" -twilio-addr 127.0.0.1:$TW_PORT -sendgrid-addr 127.0.0.1:$SG_PORT -smtp-addr 127.0.0.1:$SMTP_PORT >"$WORK/fakes.log" 2>&1 & PIDS+=($!)
wait_ready "$FAKE_TW/healthz"
export DATABASE_URL NATS_URL=nats://127.0.0.1:$NATS_PORT SECRET_KEYS=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
port_free $SMS_PORT smsworker
# Two Twilio accounts on the one fake: "twilio" (primary) and "backup" (failover, its own sender number).
HTTP_ADDR=127.0.0.1:$SMS_PORT SMS_PROVIDERS=twilio,backup:twilio TWILIO_ACCOUNT_SID=ACtest TWILIO_AUTH_TOKEN=token TWILIO_FROM=+15005550006 \
  TWILIO_BASE_URL=$FAKE_TW BACKUP_TWILIO_ACCOUNT_SID=ACbackup BACKUP_TWILIO_AUTH_TOKEN=token BACKUP_TWILIO_FROM=+15005550007 \
  BACKUP_TWILIO_BASE_URL=$FAKE_TW "$BIN/smsworker" >"$WORK/smsworker.log" 2>&1 & SMS_PID=$!; PIDS+=($SMS_PID)
port_free $EMAIL_PORT emailworker
HTTP_ADDR=127.0.0.1:$EMAIL_PORT EMAIL_PROVIDER=sendgrid SENDGRID_API_KEY=SG.test EMAIL_FROM=no-reply@sesame.test \
  SENDGRID_BASE_URL=$FAKE_SG "$BIN/emailworker" >"$WORK/emailworker.log" 2>&1 & EMAIL_PID=$!; PIDS+=($EMAIL_PID)
export SESAME_PROJECT_ID=project-test-5e5a11e0-0000-4000-8000-000000000001
export SESAME_SECRET=sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H   # the seed's key, so its curls run verbatim
port_free $API_PORT api
HTTP_ADDR=127.0.0.1:$API_PORT PUBLIC_URL=$API BOOTSTRAP_PROJECT_ID=$SESAME_PROJECT_ID BOOTSTRAP_PROJECT_SECRET=$SESAME_SECRET \
  "$BIN/api" >"$WORK/api.log" 2>&1 & PIDS+=($!)
wait_ready "$API/readyz"   # ready without NATS: sends wait in the outbox
out=$(curl -s -X POST "$API/v1/otps/sms/login_or_create" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' -d '{"phone_number":"+14155550107"}')
echo "send accepted with NATS down: $out"
echo "$out" | grep -q '"phone_id"' || fail "send while NATS is down"
port_free $NATS_PORT nats-server
"$GOBIN_DIR/nats-server" -a 127.0.0.1 -p $NATS_PORT -js -sd "$WORK/js" >"$WORK/nats.log" 2>&1 & PIDS+=($!)
wait_ready http://127.0.0.1:$SMS_PORT/readyz 300; wait_ready http://127.0.0.1:$EMAIL_PORT/readyz 300
[ "$(curl -s "$FAKE_TW/messages?to=%2B14155550107&wait=20s" | json "len(d)")" = 1 ] || fail "the send made while NATS was down was not delivered once"
echo "delivered once after nats-server started"

echo "== seed 000: Streambird 2FA guide, verbatim"
out=$(curl -s --location --request POST "$API/v1/auth/users/create" \
--header 'Authorization: Bearer sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H' \
--header 'Content-Type: application/json' \
--data-raw '{
    "phone_number": "+14152222222"
}')
echo "create user: $out"
USER_ID=$(echo "$out" | json "d['user_id']")
out=$(curl -s --location --request POST "$API/v1/auth/users/$USER_ID/update" \
--header 'Authorization: Bearer sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H' \
--header 'Content-Type: application/json' \
--data-raw '{
    "phone_numbers": [
        "phone_number": "+14152222222"
    ]
}')
echo "update user: $out"
[ "$(echo "$out" | json "d['user_id']")" = "$USER_ID" ] || fail "update user"
out=$(curl -s --location --request POST "$API/v1/auth/otps/sms/send" \
--header 'Authorization: Bearer sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H' \
--header 'Content-Type: application/json' \
--data-raw '{
    "phone_number": "+14152222222"
}')
echo "sms send: $out"
METHOD_ID=$(echo "$out" | json "d['phone_number_id']")
CODE=$(curl -s "$FAKE_TW/messages?to=%2B14152222222&wait=10s" | json "d[-1]['code']")
[ ${#CODE} = 6 ] || fail "no code reached the fake Twilio"
echo "code arrived at the fake Twilio through twilio-go"
WRONG=$([ "$CODE" = 000001 ] && echo 000002 || echo 000001)
out=$(curl -s --location --request POST "$API/v1/auth/otps/verify" \
--header 'Authorization: Bearer sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H' \
--header 'Content-Type: application/json' \
--data-raw "{
    \"method_id\": \"$METHOD_ID\",
    \"otp\": \"$WRONG\"
}")
echo "verify wrong: $out"
[ "$out" = '{"status_code":400,"error_type":"invalid_otp","error_message":"Invalid OTP Code."}' ] || fail "wrong-code body differs from the seed"
out=$(curl -s --location --request POST "$API/v1/auth/otps/verify" \
--header 'Authorization: Bearer sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H' \
--header 'Content-Type: application/json' \
--data-raw "{
    \"method_id\": \"$METHOD_ID\",
    \"otp\": \"$CODE\",
    \"session_expires_in\": 60
}")
echo "verify: $out"
[ "$(echo "$out" | json "d['method_type']")" = phone_number ] || fail "verify"
[ -n "$(echo "$out" | json "d['session_token']")" ] || fail "no session token"

echo "== a client retry with the same Idempotency-Key sends one message"
for i in 1 2; do
  curl -s -X POST "$API/v1/otps/sms/login_or_create" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Idempotency-Key: e2e-retry-1' \
    -H 'Content-Type: application/json' -d '{"phone_number":"+14155550142"}' >/dev/null
done
curl -s "$FAKE_TW/messages?to=%2B14155550142&wait=5s" >/dev/null; sleep 1
n=$(curl -s "$FAKE_TW/messages?to=%2B14155550142" | json "len(d)")
[ "$n" = 1 ] || fail "idempotent retry delivered $n messages"
echo "two identical requests, one SMS"

echo "== email magic link through sendgrid-go"
out=$(curl -s -X POST "$API/v1/auth/magic_links/email/login_or_create" -H "Authorization: Bearer $SESAME_SECRET" \
  -H 'Content-Type: application/json' -d '{"email":"e2e@example.com","login_redirect_url":"https://app.example.com/auth"}')
TOKEN=$(curl -s "$FAKE_SG/messages?to=e2e@example.com&wait=10s" | json "d[-1]['token']")
[ -n "$TOKEN" ] || fail "no magic link token reached the fake SendGrid"
out=$(curl -s -X POST "$API/v1/auth/magic_links/verify" -H "Authorization: Bearer $SESAME_SECRET" -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\"}")
[ "$(echo "$out" | json "d['method_type']")" = email ] || fail "magic link verify: $out"
echo "magic link verified"

echo "== operator message API"
out=$(curl -s "$API/v1/messages?status=sent" -H "Authorization: Bearer $SESAME_SECRET")
[ "$(echo "$out" | json "len(d['messages'])")" -ge 2 ] || fail "operator API: $out"
echo "operator API lists $(echo "$out" | json "len(d['messages'])") sent messages with provider ids"

echo "== SMS failover: three 500s from the primary account move the code to the backup account"
curl -fs -X POST "$FAKE_TW/fail" -d '{"provider":"twilio","n":3,"status":500,"code":20500}' || fail "inject Twilio failures"
curl -s -X POST "$API/v1/otps/sms/login_or_create" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' \
  -d '{"phone_number":"+14155550177"}' >/dev/null
[ "$(curl -s "$FAKE_TW/messages?to=%2B14155550177&wait=30s" | json "[m['from'] for m in d]")" = "['+15005550007']" ] \
  || fail "the code did not arrive once, from the backup account"
rec=$(curl -s "$API/v1/messages?status=sent" -H "Authorization: Bearer $SESAME_SECRET" | \
  json "[(m['providers_tried'], m['provider']) for m in d['messages'] if m['recipient'].endswith('0177')]")
[ "$rec" = "[(['twilio', 'twilio', 'twilio', 'backup'], 'backup')]" ] || fail "message record: $rec"
curl -fs http://127.0.0.1:$SMS_PORT/metrics | grep '^sesame_sms_provider_failovers_total{from="twilio",route="default",to="backup"} 1' >/dev/null \
  || fail "failover metric"
echo "failed over after 3 transient failures; record $rec"

echo "== metrics"
curl -fs "$API/metrics" | grep '^sesame_otp_requested_total{channel="sms"}' >/dev/null || fail "api metrics"
curl -fs http://127.0.0.1:$SMS_PORT/metrics | grep 'sesame_worker_messages_total{consumer="smsworker",outcome="ack"}' >/dev/null || fail "worker metrics"

echo "== seed 004: Stytch B2B, SMS OTP as MFA after an email magic link, verbatim"
# Step 0 (the seed assumes an organization with a member using email magic links).
B2B_EMAIL=seed004-$$@example.com B2B_PHONE=+14155550104
out=$(curl -s -X POST "$API/v1/b2b/organizations" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' \
  -d '{"organization_name":"Example Org","organization_slug":"example-org"}')
echo "create organization: $out"
ORGANIZATION_ID=$(echo "$out" | json "d['organization']['organization_id']") || fail "create organization"
out=$(curl -s -X POST "$API/v1/b2b/organizations/$ORGANIZATION_ID/members" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' \
  -d "{\"email_address\":\"$B2B_EMAIL\"}")
echo "create member: $out"
[ "$(echo "$out" | json "d['member']['status']")" = active ] || fail "create member"
# Step 1: update the organization's MFA policy.
out=$(curl -s --request POST \
--url $API/v1/b2b/organizations/$ORGANIZATION_ID \
-u "$SESAME_PROJECT_ID:$SESAME_SECRET" \
-H 'Content-Type: application/json' \
-d '{
"mfa_policy": "REQUIRED_FOR_ALL"
}')
echo "step 1 update organization: $out"
[ "$(echo "$out" | json "d['organization']['mfa_policy']")" = REQUIRED_FOR_ALL ] || fail "step 1: mfa_policy"
# Step 2: email magic link as the primary factor.
out=$(curl -s --request POST \
--url $API/v1/b2b/magic_links/email/login_or_signup \
-u "$SESAME_PROJECT_ID:$SESAME_SECRET" \
-H 'Content-Type: application/json' \
-d "{
\"organization_id\": \"$ORGANIZATION_ID\",
\"email_address\": \"$B2B_EMAIL\"
}")
echo "step 2 login_or_signup: $out"
MEMBER_ID=$(echo "$out" | json "d['member_id']") || fail "step 2: login_or_signup"
msg=$(curl -s "$FAKE_SG/messages?to=$B2B_EMAIL&wait=10s")
MAGIC_LINKS_TOKEN=$(echo "$msg" | json "d[-1]['token']") || fail "no magic link reached the fake SendGrid"
echo "$msg" | json "d[-1]['text'] + d[-1].get('html', '')" | grep "stytch_token_type=multi_tenant_magic_links" >/dev/null || fail "step 2: link type"
out=$(curl -s --request POST \
--url $API/v1/b2b/magic_links/authenticate \
-u "$SESAME_PROJECT_ID:$SESAME_SECRET" \
-H 'Content-Type: application/json' \
-d "{
\"magic_links_token\": \"$MAGIC_LINKS_TOKEN\"
}")
echo "step 2 authenticate: $out"
# Step 3: the primary factor response.
[ "$(echo "$out" | json "(d['member_authenticated'], d['session_token'], d['session_jwt'], d['member_session'], d['mfa_required'] is not None, d['member_id'], d['organization_id'])")" \
  = "(False, '', '', None, True, '$MEMBER_ID', '$ORGANIZATION_ID')" ] || fail "step 3: primary response"
INTERMEDIATE_SESSION_TOKEN=$(echo "$out" | json "d['intermediate_session_token']")
[ -n "$INTERMEDIATE_SESSION_TOKEN" ] || fail "step 3: no intermediate_session_token"
# Step 4: send the SMS code.
out=$(curl -s --request POST \
--url $API/v1/b2b/otps/sms/send \
-u "$SESAME_PROJECT_ID:$SESAME_SECRET" \
-H 'Content-Type: application/json' \
-d "{
\"organization_id\": \"$ORGANIZATION_ID\",
\"member_id\": \"$MEMBER_ID\",
\"mfa_phone_number\": \"$B2B_PHONE\"
}")
echo "step 4 sms send: $out"
[ "$(echo "$out" | json "d['member_id']")" = "$MEMBER_ID" ] || fail "step 4: sms send"
SMS_OTP_CODE=$(curl -s "$FAKE_TW/messages?to=%2B14155550104&wait=10s" | json "d[-1]['code']")
[ ${#SMS_OTP_CODE} = 6 ] || fail "step 4: no code reached the fake Twilio"
# Step 5: authenticate the code as the second factor.
out=$(curl -s --request POST \
--url $API/v1/b2b/otps/sms/authenticate \
-u "$SESAME_PROJECT_ID:$SESAME_SECRET" \
-H 'Content-Type: application/json' \
-d "{
\"organization_id\": \"$ORGANIZATION_ID\",
\"member_id\": \"$MEMBER_ID\",
\"intermediate_session_token\": \"$INTERMEDIATE_SESSION_TOKEN\",
\"code\": \"$SMS_OTP_CODE\"
}")
echo "step 5 sms authenticate: $out"
# Step 6: a full member session with both factors.
[ "$(echo "$out" | json "(d['member']['mfa_enrolled'], d['member']['mfa_phone_number_verified'], d['member']['mfa_phone_number'], d['member']['email_address'])")" \
  = "(True, True, '$B2B_PHONE', '$B2B_EMAIL')" ] || fail "step 6: member"
[ "$(echo "$out" | json "[(f['type'], f['delivery_method'], f.get('sequence_order')) for f in d['member_session']['authentication_factors']]")" \
  = "[('magic_link', 'email', 'PRIMARY'), ('otp', 'sms', 'SECONDARY')]" ] || fail "step 6: authentication_factors"
[ "$(echo "$out" | json "(d['member_session']['member_id'], d['member_session']['organization_id'])")" = "('$MEMBER_ID', '$ORGANIZATION_ID')" ] || fail "step 6: member_session"
[ -n "$(echo "$out" | json "d['session_token']")" ] && [ -n "$(echo "$out" | json "d['session_jwt']")" ] || fail "step 6: no session"
[ "$(echo "$out" | json "d['status_code']")" = 200 ] || fail "step 6: status_code"
claims=$(echo "$out" | json "__import__('json').dumps(__import__('json').loads(__import__('base64').urlsafe_b64decode(d['session_jwt'].split('.')[1] + '==')))")
[ "$(echo "$claims" | json "(d['sub'], d['https://stytch.com/organization']['organization_id'], d['https://stytch.com/organization']['slug'], len(d['https://stytch.com/session']['authentication_factors']))")" \
  = "('$MEMBER_ID', '$ORGANIZATION_ID', 'example-org', 2)" ] || fail "step 6: member JWT claims: $claims"
echo "seed 004: member authenticated with magic_link/email PRIMARY then otp/sms SECONDARY"

if [ -f test/sdk/package.json ]; then
  echo "== Stytch Node SDK 14.2.0 suite"
  (cd test/sdk && npm ci --no-audit --no-fund --loglevel=error && \
    SESAME_URL=$API/ FAKES_URL=$FAKE_TW SESAME_PROJECT_ID=$SESAME_PROJECT_ID SESAME_SECRET=$SESAME_SECRET node --test) || fail "Stytch SDK suite"
  echo "== SDK authenticateJwtLocal with ES256 and EdDSA projects (bin/api projects create / update)"
  es=$("$BIN/api" projects create --name e2e-es256 --env test --settings '{"jwt_algorithm":"ES256"}') || fail "projects create ES256"
  ed=$("$BIN/api" projects create --name e2e-eddsa --env test) || fail "projects create"
  "$BIN/api" projects update "$(echo "$ed" | json "d['project_id']")" --settings '{"jwt_algorithm":"EdDSA","jwt_lifetime_seconds":600}' >/dev/null \
    || fail "projects update EdDSA"
  for p in "ES256:$es" "EdDSA:$ed"; do
    (cd test/sdk && SESAME_URL=$API/ FAKES_URL=$FAKE_TW SESAME_JWT_ALG=${p%%:*} SESAME_PROJECT_ID=$(echo "${p#*:}" | json "d['project_id']") \
      SESAME_SECRET=$(echo "${p#*:}" | json "d['secret']") node --test tests/jwt_algs.test.js) || fail "SDK suite with ${p%%:*}"
  done
fi

echo "== email through SMTP: an emailworker with EMAIL_PROVIDER=smtp replaces the SendGrid one"
kill -TERM $EMAIL_PID; wait $EMAIL_PID 2>/dev/null || true
HTTP_ADDR=127.0.0.1:$EMAIL_PORT EMAIL_PROVIDER=smtp SMTP_HOST=127.0.0.1 SMTP_PORT=$SMTP_PORT SMTP_TLS=none \
  SMTP_FROM=no-reply@sesame.test "$BIN/emailworker" >"$WORK/emailworker-smtp.log" 2>&1 & PIDS+=($!)
wait_ready http://127.0.0.1:$EMAIL_PORT/readyz 300
out=$(curl -s -X POST "$API/v1/otps/email/login_or_create" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' \
  -d '{"email":"smtp-e2e@example.com"}')
EMAIL_ID=$(echo "$out" | json "d['email_id']") || fail "email OTP send: $out"
SMTP_CODE=$(curl -s "$FAKE_TW/smtp/messages?to=smtp-e2e@example.com&wait=10s" | json "d[-1]['code']") || fail "no email reached the fake SMTP server"
[ ${#SMTP_CODE} = 6 ] || fail "no code in the email the fake SMTP server received"
out=$(curl -s -X POST "$API/v1/otps/authenticate" -u "$SESAME_PROJECT_ID:$SESAME_SECRET" -H 'Content-Type: application/json' \
  -d "{\"method_id\":\"$EMAIL_ID\",\"code\":\"$SMTP_CODE\"}")
[ "$(echo "$out" | json "d['status_code']")" = 200 ] || fail "SMTP-delivered code did not authenticate: $out"
echo "email OTP delivered over SMTP (go-mail) and authenticated"

echo "== SIGTERM: smsworker drains and exits within 15 s"
start=$(date +%s)
kill -TERM $SMS_PID
for _ in $(seq 1 150); do kill -0 $SMS_PID 2>/dev/null || break; sleep 0.1; done
kill -0 $SMS_PID 2>/dev/null && fail "smsworker still running 15 s after SIGTERM"
echo "smsworker exited after $(( $(date +%s) - start )) s"
echo "E2E OK"
