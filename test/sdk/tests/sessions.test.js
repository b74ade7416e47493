"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { client, stytch } = h;

test("sessions: get, authenticate by token and JWT, extend, revoke", async () => {
  const { res } = await h.loginSMS();
  const { session_token, session_jwt } = res;
  const sessionID = res.session.session_id;

  const list = await client.sessions.get({ user_id: res.user_id });
  assert.equal(list.status_code, 200);
  assert.deepEqual(list.sessions.map((s) => s.session_id), [sessionID]);
  list.sessions.forEach(h.assertSession);

  const byToken = await client.sessions.authenticate({ session_token, session_duration_minutes: 120 });
  assert.equal(byToken.session.session_id, sessionID);
  assert.equal(byToken.session_token, session_token);
  assert.ok(byToken.session_jwt);
  h.assertUser(byToken.user);
  const left = Date.parse(byToken.session.expires_at) - Date.now();
  assert.ok(left > 118 * 60e3 && left <= 121 * 60e3, `session extended to ${byToken.session.expires_at}`);

  const byJWT = await client.sessions.authenticate({ session_jwt });
  assert.equal(byJWT.session.session_id, sessionID);

  await h.expectStytchError(client.sessions.authenticate({ session_token, session_jwt }), 400, "too_many_session_arguments");
  await h.expectStytchError(client.sessions.authenticate({ session_jwt: "not.a.jwt" }), 401, "unable_to_parse_session_jwt");

  const revoked = await client.sessions.revoke({ session_id: sessionID });
  assert.equal(revoked.status_code, 200);
  await h.expectStytchError(client.sessions.authenticate({ session_token }), 404, "session_not_found");
  await h.expectStytchError(client.sessions.revoke({ session_token }), 404, "session_not_found");
  assert.deepEqual((await client.sessions.get({ user_id: res.user_id })).sessions, []);
});

test("sessions.revoke by session_token and by session_jwt", async () => {
  const a = (await h.loginSMS()).res;
  await client.sessions.revoke({ session_token: a.session_token });
  await h.expectStytchError(client.sessions.authenticate({ session_jwt: a.session_jwt }), 404, "session_not_found");
  const b = (await h.loginSMS()).res;
  await client.sessions.revoke({ session_jwt: b.session_jwt });
  await h.expectStytchError(client.sessions.authenticate({ session_token: b.session_token }), 404, "session_not_found");
});

test("sessions.getJWKS returns the project's RS256 keys", async () => {
  const jwks = await client.sessions.getJWKS({ project_id: h.PROJECT_ID });
  assert.ok(jwks.keys.length >= 1);
  for (const k of jwks.keys) {
    assert.equal(k.kty, "RSA");
    assert.equal(k.alg, "RS256");
    assert.ok(k.kid && k.n && k.e);
    assert.equal(k.d, undefined, "private key material in the JWKS");
  }
});

test("sessions.authenticateJwtLocal verifies against our JWKS and returns custom claims", async () => {
  const { res } = await h.loginSMS({ session_custom_claims: { tier: "gold", nested: { a: 1 } } });
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
  assert.equal(local.session_id, res.session.session_id);
  assert.equal(local.user_id, res.user_id);
  assert.deepEqual(local.custom_claims, { tier: "gold", nested: { a: 1 } });
  assert.deepEqual(local.roles, ["stytch_user"]);
  assert.equal(local.authentication_factors[0].delivery_method, "sms");
  assert.equal(Date.parse(local.expires_at), Date.parse(res.session.expires_at));

  let err;
  try {
    await client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt, max_token_age_seconds: 0 });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof stytch.ClientError, `expected a ClientError, got ${err}`);
  assert.equal(err.code, "jwt_too_old");

  const tampered = res.session_jwt.slice(0, -4) + (res.session_jwt.endsWith("AAAA") ? "BBBB" : "AAAA");
  await assert.rejects(client.sessions.authenticateJwtLocal({ session_jwt: tampered }), (e) => e instanceof stytch.ClientError && e.code === "jwt_invalid");
});

test("sessions.authenticateJwt: local first, remote with max_token_age_seconds 0 or an expired JWT", async () => {
  const { res } = await h.loginSMS({ session_custom_claims: { tier: "silver" } });

  const local = await client.sessions.authenticateJwt({ session_jwt: res.session_jwt });
  assert.equal(local.session.session_id, res.session.session_id);
  assert.equal(local.session_jwt, res.session_jwt);
  assert.equal(local.status_code, undefined, "a local result has no API envelope");

  const remote = await client.sessions.authenticateJwt({
    session_jwt: res.session_jwt, max_token_age_seconds: 0, session_custom_claims: { tier: "platinum" }, session_duration_minutes: 90,
  });
  assert.equal(remote.status_code, 200, "max_token_age_seconds 0 goes to the API");
  assert.equal(remote.session.session_id, res.session.session_id);
  assert.equal(remote.session.custom_claims.tier, "platinum");
  const fresh = await client.sessions.authenticateJwtLocal({ session_jwt: remote.session_jwt });
  assert.equal(fresh.custom_claims.tier, "platinum");

  // Ten minutes from now the 5-minute JWT has expired locally: the SDK falls back to the API, which accepts it.
  const later = new Date(Date.now() + 10 * 60e3);
  await assert.rejects(client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt, current_date: later }),
    (e) => e instanceof stytch.ClientError && e.code === "jwt_invalid");
  const fallback = await client.sessions.authenticateJwt({ session_jwt: res.session_jwt, current_date: later });
  assert.equal(fallback.status_code, 200);
  assert.equal(fallback.session.session_id, res.session.session_id);
  assert.ok(fallback.session_jwt, "the API answers with a fresh JWT");

  await client.sessions.revoke({ session_id: res.session.session_id });
  await h.expectStytchError(client.sessions.authenticateJwt({ session_jwt: res.session_jwt, max_token_age_seconds: 0 }), 404, "session_not_found");
});
