"use strict";
// TOTP (authenticator apps) and recovery codes through the official stytch
// 14.2.0 SDK, unchanged: a consumer enrols with totps.create, proves it with
// a code this test computes from the returned secret (RFC 6238, below), and
// recovers with a recovery code; a B2B member of an organization that
// allows only TOTP enrols with its intermediate session token (IST),
// completes that IST with a TOTP code, and completes a later IST with a
// recovery code.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const h = require("./helpers");
const { client, b2b, stytch } = h;

// ---- RFC 6238 (TOTP: HMAC-SHA1, 30-second steps, 6 digits) ----

// base32Decode decodes RFC 4648 base32 (no padding needed, case-insensitive).
function base32Decode(s) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// hotp is RFC 4226's HOTP value of counter under key, with `digits` digits.
function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac("sha1", key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

// totp is the code of the base32 secret at unix time `seconds` (+ `steps` steps).
function totp(secret, seconds = Date.now() / 1000, steps = 0) {
  return hotp(base32Decode(secret), Math.floor(seconds / 30) + steps);
}

test("totp: the test's RFC 6238 implementation matches the RFC's SHA-1 test vectors", () => {
  const key = Buffer.from("12345678901234567890");
  // RFC 6238 Appendix B, SHA-1, 8 digits.
  for (const [t, want] of [[59, "94287082"], [1111111109, "07081804"], [1234567890, "89005924"], [20000000000, "65353130"]]) {
    assert.equal(hotp(key, Math.floor(t / 30), 8), want, `T=${t}`);
  }
  // The same key written in base32, as an authenticator app receives it.
  assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59), "287082");
});

// expectError checks that promise rejects with a StytchError of that status
// whose error_type is one of `types`, with a Stytch error body.
async function expectError(promise, status, ...types) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${status} ${types.join("|")}, but the call succeeded`);
  assert.ok(err instanceof stytch.StytchError, `expected a StytchError, got ${err}`);
  assert.equal(err.status_code, status, err.message);
  assert.ok(types.includes(err.error_type), `error_type ${err.error_type}, want ${types.join("|")}: ${err.message}`);
  assert.match(err.request_id, /^request-id-(test|live)-/);
  assert.ok(err.error_message, "error_message is empty");
  assert.equal(err.error_url, `https://stytch.com/docs/api/errors/${status}#${err.error_type}`);
  return err;
}

function assertEnrolment(res) {
  assert.equal(res.status_code, 200);
  assert.match(res.secret, /^[A-Z2-7]{16,}=*$/, `secret ${res.secret}`);
  assert.match(res.qr_code, /^data:image\/png;base64,/, "qr_code is not a PNG data URL");
  const png = Buffer.from(res.qr_code.slice(res.qr_code.indexOf(",") + 1).trim(), "base64");
  assert.equal(png.subarray(0, 8).toString("hex"), "89504e470d0a1a0a", "qr_code does not hold a PNG");
  assert.ok(Array.isArray(res.recovery_codes) && res.recovery_codes.length >= 8, `recovery_codes: ${JSON.stringify(res.recovery_codes)}`);
  assert.equal(new Set(res.recovery_codes).size, res.recovery_codes.length, "recovery codes repeat");
}

// ---- Consumer ----

test("totp (consumer): create, authenticate with a computed code, replay refused, recovery codes, recover once, delete", async () => {
  const created = await client.users.create({ email: h.uniqueEmail("totp") });
  const userID = created.user_id;

  const enrol = await client.totps.create({ user_id: userID });
  assertEnrolment(enrol);
  assert.match(enrol.totp_id, /^totp-(test|live)-/);
  assert.equal(enrol.user_id, userID);
  h.assertUser(enrol.user);
  assert.deepEqual(enrol.user.totps, [{ totp_id: enrol.totp_id, verified: false }]);

  // A wrong code is refused and does not verify the registration.
  const now = Date.now() / 1000;
  const good = totp(enrol.secret, now);
  const wrong = good === "000000" ? "111111" : "000000";
  await expectError(client.totps.authenticate({ user_id: userID, totp_code: wrong }), 401, "unable_to_authenticate_totp", "invalid_totp_code");

  const auth = await client.totps.authenticate({ user_id: userID, totp_code: good, session_duration_minutes: 60, session_custom_claims: { app: "totp" } });
  assert.equal(auth.status_code, 200);
  assert.equal(auth.user_id, userID);
  assert.equal(auth.totp_id, enrol.totp_id);
  assert.ok(auth.session_token, "no session_token");
  assert.ok(auth.session_jwt, "no session_jwt");
  h.assertSession(auth.session);
  assert.equal(auth.session.custom_claims.app, "totp");
  const factor = auth.session.authentication_factors.find((f) => f.type === "totp");
  assert.ok(factor, `no totp factor: ${JSON.stringify(auth.session.authentication_factors)}`);
  assert.equal(factor.delivery_method, "authenticator_app");
  assert.equal(factor.authenticator_app_factor.totp_id, enrol.totp_id);
  h.assertUser(auth.user);
  assert.deepEqual(auth.user.totps, [{ totp_id: enrol.totp_id, verified: true }]);

  // The same code again, in the same step: a replay.
  await expectError(client.totps.authenticate({ user_id: userID, totp_code: good }), 401, "totp_code_already_authenticated", "unable_to_authenticate_totp");

  // The session JWT verifies locally and names the factor.
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: auth.session_jwt });
  assert.ok(local.authentication_factors.some((f) => f.type === "totp"));

  // Recovery codes of the verified registration.
  const rc = await client.totps.recoveryCodes({ user_id: userID });
  assert.equal(rc.status_code, 200);
  assert.equal(rc.user_id, userID);
  assert.equal(rc.totps.length, 1);
  assert.equal(rc.totps[0].totp_id, enrol.totp_id);
  assert.equal(rc.totps[0].verified, true);
  assert.ok(Array.isArray(rc.totps[0].recovery_codes));

  // A recovery code extends the session it is given and works once.
  const code = enrol.recovery_codes[0];
  const rec = await client.totps.recover({ user_id: userID, recovery_code: code, session_token: auth.session_token, session_duration_minutes: 30 });
  assert.equal(rec.status_code, 200);
  assert.equal(rec.totp_id, enrol.totp_id);
  assert.equal(rec.session.session_id, auth.session.session_id, "recover started another session");
  const rf = rec.session.authentication_factors.find((f) => f.type === "recovery_codes");
  assert.ok(rf, `no recovery_codes factor: ${JSON.stringify(rec.session.authentication_factors)}`);
  assert.equal(rf.delivery_method, "recovery_code");
  assert.ok(rf.recovery_code_factor && rf.recovery_code_factor.totp_recovery_code_id, JSON.stringify(rf));
  await expectError(client.totps.recover({ user_id: userID, recovery_code: code }), 401, "unable_to_authenticate_recovery_code", "invalid_recovery_code");
  // Another, unused code still works (without a session: none is started).
  const rec2 = await client.totps.recover({ user_id: userID, recovery_code: enrol.recovery_codes[1] });
  assert.equal(rec2.session_token, "");
  assert.ok(rec2.session == null, `session: ${JSON.stringify(rec2.session)}`);

  // users.search finds the user by its TOTP.
  const found = await client.users.search({ limit: 10, query: { operator: "AND", operands: [
    { filter_name: "totp_id", filter_value: [enrol.totp_id] },
    { filter_name: "totp_verified", filter_value: true },
  ] } });
  assert.deepEqual(found.results.map((u) => u.user_id), [userID]);

  // users.deleteTOTP removes it; its codes no longer work.
  const del = await client.users.deleteTOTP({ totp_id: enrol.totp_id });
  assert.equal(del.status_code, 200);
  assert.equal(del.user_id, userID);
  assert.deepEqual(del.user.totps, []);
  await expectError(client.users.deleteTOTP({ totp_id: enrol.totp_id }), 404, "totp_not_found");
  await expectError(client.totps.authenticate({ user_id: userID, totp_code: totp(enrol.secret) }), 404, "totp_not_found", "totps_not_found_for_user");
});

test("totp (consumer): an unknown user and bad input are Stytch errors, never 5xx", async () => {
  await expectError(client.totps.create({ user_id: "user-test-00000000-0000-4000-8000-000000000000" }), 404, "user_not_found");
  const created = await client.users.create({ email: h.uniqueEmail("totp-bad") });
  await expectError(client.totps.create({ user_id: created.user_id, expiration_minutes: 2 }), 400, "invalid_expiration", "bad_request");
  // No registration yet.
  await expectError(client.totps.authenticate({ user_id: created.user_id, totp_code: "123456" }), 404, "totp_not_found", "totps_not_found_for_user");
  await expectError(client.totps.recover({ user_id: created.user_id, recovery_code: "abcd-efgh-ijkl" }), 404, "totp_not_found", "totps_not_found_for_user", "recovery_codes_not_found");
});

// ---- B2B ----

const REDIRECT = "https://app.example/b2b/authenticate";

async function totpOrg(tag) {
  const slug = h.uniqueSlug(tag);
  const res = await b2b.organizations.create({
    organization_name: `SDK ${tag}`, organization_slug: slug,
    mfa_policy: "REQUIRED_FOR_ALL", mfa_methods: "RESTRICTED", allowed_mfa_methods: ["totp"],
  });
  h.assertOrganization(res.organization);
  assert.deepEqual(res.organization.allowed_mfa_methods, ["totp"]);
  return res.organization;
}

// primaryIST signs the member in by email magic link and returns the
// authenticate response, which must be an IST with mfa_required.
async function primaryIST(org, email) {
  const seen = await h.count(email);
  await b2b.magicLinks.email.loginOrSignup({ organization_id: org.organization_id, email_address: email, login_redirect_url: REDIRECT });
  const link = await h.nextB2BLink(email, seen);
  const res = await b2b.magicLinks.authenticate({ magic_links_token: link.token });
  assert.equal(res.member_authenticated, false);
  assert.ok(res.intermediate_session_token, "no IST");
  assert.ok(res.mfa_required, "no mfa_required");
  assert.ok(res.mfa_required.secondary_auth_initiated == null, "a code was sent although only TOTP is allowed");
  assert.equal(res.session_token, "");
  return res;
}

test("totp (b2b): enrol with the IST, TOTP completes it; a recovery code completes the next; SMS is not offered", async () => {
  const org = await totpOrg("totp");
  const orgID = org.organization_id;
  const email = h.uniqueEmail("b2b-totp");
  const member = (await b2b.organizations.members.create({ organization_id: orgID, email_address: email })).member;
  const memberID = member.member_id;
  assert.equal(member.totp_registration_id, "");

  // Login 1: primary factor, then enrol an authenticator app with the IST.
  const first = await primaryIST(org, email);
  const ist = first.intermediate_session_token;
  const enrol = await b2b.totps.create({ organization_id: orgID, member_id: memberID, intermediate_session_token: ist });
  assertEnrolment(enrol);
  assert.equal(enrol.member_id, memberID);
  assert.match(enrol.totp_registration_id, /^member-totp-(test|live)-|^totp-(test|live)-/);
  h.assertMember(enrol.member);
  h.assertOrganization(enrol.organization);

  // SMS is not an allowed method of this organization.
  await expectError(b2b.otps.sms.send({ organization_id: orgID, member_id: memberID, mfa_phone_number: h.uniquePhone(), intermediate_session_token: ist }),
    403, "operation_restricted_by_organization_mfa_methods");

  // A wrong code does not consume the IST; the right one completes it.
  const good = totp(enrol.secret);
  const wrong = good === "000000" ? "111111" : "000000";
  await expectError(b2b.totps.authenticate({ organization_id: orgID, member_id: memberID, code: wrong, intermediate_session_token: ist }),
    401, "unable_to_authenticate_totp", "invalid_totp_code");
  const done = await b2b.totps.authenticate({ organization_id: orgID, member_id: memberID, code: good, intermediate_session_token: ist, session_duration_minutes: 60 });
  assert.equal(done.status_code, 200);
  assert.equal(done.member_id, memberID);
  assert.ok(done.session_token && done.session_jwt);
  h.assertMemberSession(done.member_session);
  const fs = done.member_session.authentication_factors;
  assert.equal(fs.length, 2, JSON.stringify(fs));
  assert.equal(fs[0].type, "magic_link");
  assert.equal(fs[0].sequence_order, "PRIMARY");
  assert.equal(fs[1].type, "totp");
  assert.equal(fs[1].delivery_method, "authenticator_app");
  assert.equal(fs[1].sequence_order, "SECONDARY");
  assert.equal(fs[1].authenticator_app_factor.totp_id, enrol.totp_registration_id);
  h.assertMember(done.member);
  assert.equal(done.member.totp_registration_id, enrol.totp_registration_id);
  assert.equal(done.member.mfa_enrolled, true);
  assert.equal(done.member.default_mfa_method, "totp");
  // The IST is spent.
  await expectError(b2b.totps.authenticate({ organization_id: orgID, member_id: memberID, code: totp(enrol.secret, Date.now() / 1000, 1), intermediate_session_token: ist }),
    404, "intermediate_session_not_found");
  const local = await b2b.sessions.authenticateJwtLocal({ session_jwt: done.session_jwt });
  assert.equal(local.member_id, memberID);
  assert.ok(local.authentication_factors.some((f) => f.type === "totp" && f.authenticator_app_factor.totp_id === enrol.totp_registration_id),
    JSON.stringify(local.authentication_factors));

  // The recovery codes as issued.
  const got = await b2b.recoveryCodes.get({ organization_id: orgID, member_id: memberID });
  assert.equal(got.status_code, 200);
  assert.equal(got.member_id, memberID);
  assert.ok(Array.isArray(got.recovery_codes));

  // Login 2: mfa_required names the TOTP registration; a recovery code completes the IST.
  const second = await primaryIST(org, email);
  assert.equal(second.mfa_required.member_options.totp_registration_id, enrol.totp_registration_id);
  const code = enrol.recovery_codes[0];
  const rec = await b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: code, intermediate_session_token: second.intermediate_session_token });
  assert.equal(rec.status_code, 200);
  assert.equal(rec.recovery_codes_remaining, enrol.recovery_codes.length - 1);
  h.assertMemberSession(rec.member_session);
  const rf = rec.member_session.authentication_factors;
  assert.equal(rf.length, 2, JSON.stringify(rf));
  assert.equal(rf[1].type, "recovery_codes");
  assert.equal(rf[1].delivery_method, "recovery_code");

  // Login 3: the used code is refused; rotation replaces every code.
  const third = await primaryIST(org, email);
  await expectError(b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: code, intermediate_session_token: third.intermediate_session_token }),
    401, "unable_to_authenticate_recovery_code", "invalid_recovery_code");
  const rot = await b2b.recoveryCodes.rotate({ organization_id: orgID, member_id: memberID });
  assert.equal(rot.status_code, 200);
  assert.equal(rot.recovery_codes.length, enrol.recovery_codes.length);
  assert.ok(!rot.recovery_codes.some((c) => enrol.recovery_codes.includes(c)), "rotate kept an old code");
  await expectError(b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: enrol.recovery_codes[1], intermediate_session_token: third.intermediate_session_token }),
    401, "unable_to_authenticate_recovery_code", "invalid_recovery_code");
  const rec3 = await b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: rot.recovery_codes[0], intermediate_session_token: third.intermediate_session_token });
  assert.equal(rec3.recovery_codes_remaining, rot.recovery_codes.length - 1);

  // deleteTOTP removes the registration.
  const del = await b2b.organizations.members.deleteTOTP({ organization_id: orgID, member_id: memberID });
  assert.equal(del.status_code, 200);
  assert.equal(del.member.totp_registration_id, "");
});

test("totp (b2b): enrolling a member that already has a second factor needs proof of it; other organizations cannot use the registration", async () => {
  const org = await totpOrg("totp-guard");
  const orgID = org.organization_id;
  const email = h.uniqueEmail("b2b-totp-guard");
  const memberID = (await b2b.organizations.members.create({ organization_id: orgID, email_address: email })).member.member_id;
  const first = await primaryIST(org, email);
  const enrol = await b2b.totps.create({ organization_id: orgID, member_id: memberID, intermediate_session_token: first.intermediate_session_token });
  await b2b.totps.authenticate({ organization_id: orgID, member_id: memberID, code: totp(enrol.secret), intermediate_session_token: first.intermediate_session_token });

  // No IST or session: the active TOTP would be bypassed.
  await expectError(b2b.totps.create({ organization_id: orgID, member_id: memberID }), 400, "no_associated_session_passed_in", "active_totp_exists");

  // The member's id in another organization of the project is unknown there.
  const other = await totpOrg("totp-other");
  await expectError(b2b.totps.authenticate({ organization_id: other.organization_id, member_id: memberID, code: totp(enrol.secret, Date.now() / 1000, 1), intermediate_session_token: first.intermediate_session_token }),
    404, "member_not_found");
  await expectError(b2b.recoveryCodes.get({ organization_id: other.organization_id, member_id: memberID }), 404, "member_not_found");
});

test("totp (b2b): migrate imports an existing secret and recovery codes; the member's app and a code complete ISTs", async () => {
  const org = await totpOrg("totp-migrate");
  const orgID = org.organization_id;
  const email = h.uniqueEmail("b2b-totp-migrate");
  const memberID = (await b2b.organizations.members.create({ organization_id: orgID, email_address: email })).member.member_id;
  const secret = crypto.randomBytes(20).reduce((s, b) => s + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b & 31], "");
  const res = await b2b.totps.migrate({ organization_id: orgID, member_id: memberID, secret, recovery_codes: ["kept-0001", "kept-0002"] });
  assert.equal(res.status_code, 200);
  assert.equal(res.member_id, memberID);
  assert.match(res.totp_registration_id, /^totp-(test|live)-/);
  assert.deepEqual(res.recovery_codes, ["kept-0001", "kept-0002"]);
  h.assertMember(res.member);
  h.assertOrganization(res.organization);
  assert.equal(res.member.totp_registration_id, res.totp_registration_id);

  // The registration is active at once: the member's existing app completes the IST.
  const first = await primaryIST(org, email);
  assert.equal(first.mfa_required.member_options.totp_registration_id, res.totp_registration_id);
  const done = await b2b.totps.authenticate({ organization_id: orgID, member_id: memberID, code: totp(secret), intermediate_session_token: first.intermediate_session_token });
  assert.equal(done.member.totp_registration_id, res.totp_registration_id);
  h.assertMemberSession(done.member_session);

  // An imported recovery code completes the next IST, once.
  const second = await primaryIST(org, email);
  const rec = await b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: "kept-0002", intermediate_session_token: second.intermediate_session_token });
  assert.equal(rec.recovery_codes_remaining, 1);
  const third = await primaryIST(org, email);
  await expectError(b2b.recoveryCodes.recover({ organization_id: orgID, member_id: memberID, recovery_code: "kept-0002", intermediate_session_token: third.intermediate_session_token }),
    401, "unable_to_authenticate_recovery_code", "invalid_recovery_code");

  // A second migrate while verified, and a secret that is not base32, are 400s.
  await expectError(b2b.totps.migrate({ organization_id: orgID, member_id: memberID, secret, recovery_codes: [] }), 400, "active_totp_exists");
  const other = (await b2b.organizations.members.create({ organization_id: orgID, email_address: h.uniqueEmail("b2b-totp-migrate") })).member;
  await expectError(b2b.totps.migrate({ organization_id: orgID, member_id: other.member_id, secret: "0189", recovery_codes: [] }), 400, "bad_request");
  // Without recovery codes, 10 are minted.
  const minted = await b2b.totps.migrate({ organization_id: orgID, member_id: other.member_id, secret, recovery_codes: [] });
  assert.equal(minted.recovery_codes.length, 10);
});
