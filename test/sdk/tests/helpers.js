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

// ---- B2B (stytch.B2BClient) ----

function newB2BClient(secret = SECRET) {
  return new stytch.B2BClient({ project_id: PROJECT_ID, secret, env: SESAME_URL });
}

const b2b = newB2BClient();

// uniqueSlug returns a fresh organization slug (alnum and "-").
function uniqueSlug(tag) {
  return `sdk-${tag}-${crypto.randomUUID().slice(0, 12)}`;
}

// nextB2BLink waits for the next email to `to` beyond the first `seen` and
// returns the magic link in it: the URL whose token query value is the one
// the fake SendGrid recorded, and that token. B2B links look like
// <redirect>?slug=<org slug>&stytch_token_type=multi_tenant_magic_links&token=<token>
// (discovery links: stytch_token_type=discovery, no slug).
async function nextB2BLink(to, seen = 0, tokenType = "multi_tenant_magic_links") {
  const msg = await nextToken(to, seen);
  const text = `${msg.text || ""} ${msg.html || ""}`;
  const urls = (text.match(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi) || []).map((u) => {
    try { return new URL(u.replaceAll("&amp;", "&")); } catch { return null; }
  });
  const url = urls.find((u) => u && u.searchParams.get("token") === msg.token);
  assert.ok(url, `no link with the token in the email to ${to}: ${text.slice(0, 300)}`);
  assert.equal(url.searchParams.get("stytch_token_type"), tokenType, `link ${url}`);
  return { token: url.searchParams.get("token"), url, msg };
}

// assertOrganization checks the Organization object shape (§C.2).
function assertOrganization(o) {
  assert.match(o.organization_id, /^organization-(test|live)-/);
  for (const k of ["organization_name", "organization_slug", "organization_logo_url", "email_jit_provisioning", "email_invites",
    "auth_methods", "mfa_policy", "mfa_methods", "sso_jit_provisioning", "oauth_tenant_jit_provisioning",
    "first_party_connected_apps_allowed_type", "third_party_connected_apps_allowed_type"]) {
    assert.equal(typeof o[k], "string", `organization.${k} = ${JSON.stringify(o[k])}`);
  }
  for (const k of ["sso_jit_provisioning_allowed_connections", "sso_active_connections", "email_allowed_domains",
    "allowed_auth_methods", "rbac_email_implicit_role_assignments", "allowed_mfa_methods", "claimed_email_domains",
    "allowed_first_party_connected_apps", "allowed_third_party_connected_apps", "custom_roles"]) {
    assert.ok(Array.isArray(o[k]), `organization.${k} is not an array: ${JSON.stringify(o[k])}`);
  }
}

// assertMember checks the Member object shape (§C.3); roles always hold stytch_member.
function assertMember(m) {
  assert.match(m.member_id, /^member-(test|live)-/);
  assert.match(m.organization_id, /^organization-(test|live)-/);
  for (const k of ["email_address", "status", "name", "member_password_id", "totp_registration_id", "mfa_phone_number", "default_mfa_method"]) {
    assert.equal(typeof m[k], "string", `member.${k} = ${JSON.stringify(m[k])}`);
  }
  for (const k of ["is_breakglass", "email_address_verified", "mfa_phone_number_verified", "is_admin", "is_locked", "mfa_enrolled"]) {
    assert.equal(typeof m[k], "boolean", `member.${k} = ${JSON.stringify(m[k])}`);
  }
  for (const k of ["sso_registrations", "oauth_registrations", "retired_email_addresses", "roles"]) {
    assert.ok(Array.isArray(m[k]), `member.${k} is not an array: ${JSON.stringify(m[k])}`);
  }
  assert.ok(m.roles.some((r) => r.role_id === "stytch_member"), `roles: ${JSON.stringify(m.roles)}`);
  assert.ok(["active", "pending", "invited", "deleted"].includes(m.status), m.status);
}

// assertMemberSession checks the MemberSession object shape (§C.4).
function assertMemberSession(s) {
  assert.match(s.member_session_id, /^member-session-(test|live)-/);
  assert.match(s.member_id, /^member-(test|live)-/);
  assert.match(s.organization_id, /^organization-(test|live)-/);
  assert.ok(Array.isArray(s.authentication_factors));
  assert.ok(Array.isArray(s.roles) && s.roles.includes("stytch_member"), `roles: ${JSON.stringify(s.roles)}`);
  for (const k of ["started_at", "last_accessed_at", "expires_at"]) assertRFC3339(s[k], k);
  assert.equal(typeof s.organization_slug, "string");
}

module.exports = {
  stytch, client, newClient, PROJECT_ID, SECRET, SESAME_URL, IS_TEST_PROJECT,
  uniquePhone, uniqueEmail, messagesTo, nextMessage, nextCode, nextToken, count,
  expectStytchError, assertRFC3339, assertUser, assertSession, loginSMS, sleep,
  b2b, newB2BClient, uniqueSlug, nextB2BLink, assertOrganization, assertMember, assertMemberSession,
};
