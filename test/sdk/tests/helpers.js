"use strict";
// Shared setup for the Stytch Node SDK suite. The suite talks to a running
// Sesame through the official SDK only, and reads codes and magic link
// tokens out of band from the fake providers (never from the database).
//
// Environment:
//   SESAME_URL         base URL of the api, e.g. http://127.0.0.1:8080/
//   SESAME_PROJECT_ID  a project id ("project-test-…" enables the sandbox tests)
//   SESAME_SECRET      its secret
//   FAKES_URL          base URL of test/fakeproviders (either port serves GET /messages)
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const stytch = require("stytch");

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see test/sdk/run.sh)`);
  return v;
}

const SESAME_URL = env("SESAME_URL").replace(/\/?$/, "/");
const PROJECT_ID = env("SESAME_PROJECT_ID");
const SECRET = env("SESAME_SECRET");
const FAKES_URL = env("FAKES_URL").replace(/\/+$/, "");
const IS_TEST_PROJECT = PROJECT_ID.startsWith("project-test-");

// The SDK warns on every client built with a non-Stytch env URL, which is
// exactly what this suite does; keep other warnings.
const origWarn = console.warn;
console.warn = (...args) => {
  if (String(args[0]).startsWith("[Stytch] Warning: Using a custom 'env'")) return;
  origWarn(...args);
};

function newClient(secret = SECRET) {
  return new stytch.Client({ project_id: PROJECT_ID, secret, env: SESAME_URL });
}

const client = newClient();

// uniquePhone returns a random, valid, E.164 US number: +1 415 NXX XXXX.
function uniquePhone() {
  const n = crypto.randomInt(2000000, 9999999);
  return `+1415${n}`;
}

function uniqueEmail(tag) {
  return `sdk-${tag}-${crypto.randomUUID().slice(0, 12)}@example.com`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// messagesTo returns every message the fakes recorded for a recipient.
async function messagesTo(to) {
  const res = await fetch(`${FAKES_URL}/messages?to=${encodeURIComponent(to)}`);
  assert.equal(res.status, 200, `GET ${FAKES_URL}/messages: ${res.status}`);
  return res.json();
}

// nextMessage waits (up to 10 s) for a message to `to` beyond the first
// `seen` ones and returns it. Pass the count taken before the send.
async function nextMessage(to, seen = 0) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const msgs = await messagesTo(to);
    if (msgs.length > seen) return msgs[msgs.length - 1];
    if (Date.now() > deadline) throw new Error(`no message to ${to} within 10 s (had ${seen})`);
    await sleep(150);
  }
}

// count returns how many messages `to` has received so far.
async function count(to) {
  return (await messagesTo(to)).length;
}

async function nextCode(to, seen = 0) {
  const m = await nextMessage(to, seen);
  assert.match(m.code, /^\d{6}$/, `message to ${to} carries no 6-digit code`);
  return m.code;
}

async function nextToken(to, seen = 0) {
  const m = await nextMessage(to, seen);
  assert.ok(m.token, `message to ${to} carries no token`);
  return m;
}

// expectStytchError awaits promise and checks it rejects with a StytchError
// of that status and error_type, with the documented body fields.
async function expectStytchError(promise, status, errorType) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${status} ${errorType}, but the call succeeded`);
  assert.ok(err instanceof stytch.StytchError, `expected a StytchError, got ${err}`);
  assert.equal(err.status_code, status, err.message);
  assert.equal(err.error_type, errorType, err.message);
  assert.match(err.request_id, /^request-id-(test|live)-/);
  assert.ok(err.error_message, "error_message is empty");
  assert.equal(err.error_url, `https://stytch.com/docs/api/errors/${status}#${errorType}`);
  return err;
}

function assertRFC3339(v, field) {
  assert.match(String(v), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${field} = ${v}`);
}

// assertUser checks the User object shape (every required array present).
function assertUser(u) {
  for (const k of ["emails", "phone_numbers", "webauthn_registrations", "providers", "totps", "crypto_wallets", "biometric_registrations", "roles"]) {
    assert.ok(Array.isArray(u[k]), `user.${k} is not an array: ${JSON.stringify(u[k])}`);
  }
  assert.deepEqual(u.roles, ["stytch_user"]);
  assert.ok(u.status === "active" || u.status === "pending");
  assert.equal(typeof u.is_locked, "boolean");
  assertRFC3339(u.created_at, "created_at");
}

function assertSession(s) {
  assert.match(s.session_id, /^session-(test|live)-/);
  assert.ok(Array.isArray(s.authentication_factors));
  assert.deepEqual(s.roles, ["stytch_user"]);
  for (const k of ["started_at", "last_accessed_at", "expires_at"]) assertRFC3339(s[k], k);
  assert.equal(typeof s.custom_claims, "object");
}

// loginSMS signs a new user in by SMS OTP and returns the authenticate response.
async function loginSMS(extra = {}) {
  const phone = uniquePhone();
  const sent = await client.otps.sms.loginOrCreate({ phone_number: phone });
  const code = await nextCode(phone);
  const res = await client.otps.authenticate({ method_id: sent.phone_id, code, session_duration_minutes: 60, ...extra });
  return { phone, sent, res };
}

module.exports = {
  stytch, client, newClient, PROJECT_ID, SECRET, SESAME_URL, IS_TEST_PROJECT,
  uniquePhone, uniqueEmail, messagesTo, nextMessage, nextCode, nextToken, count,
  expectStytchError, assertRFC3339, assertUser, assertSession, loginSMS, sleep,
};
