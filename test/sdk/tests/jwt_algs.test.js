"use strict";
// Session JWTs of the project's algorithm (settings jwt_algorithm) verify
// locally with the SDK. SESAME_JWT_ALG names the algorithm the project was
// set up with (RS256 when unset, the default); test/e2e/run.sh runs this file
// once more against an ES256 and an EdDSA project.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { client, stytch } = h;

const ALG = process.env.SESAME_JWT_ALG || "RS256";
const SHAPE = { RS256: { kty: "RSA" }, ES256: { kty: "EC", crv: "P-256" }, EdDSA: { kty: "OKP", crv: "Ed25519" } }[ALG];

function header(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString());
}

test(`session JWTs are ${ALG} and the JWKS publishes ${ALG} keys`, async () => {
  assert.ok(SHAPE, `unknown SESAME_JWT_ALG ${ALG}`);
  const { res } = await h.loginSMS();
  const hd = header(res.session_jwt);
  assert.equal(hd.alg, ALG);
  assert.equal(hd.typ, "JWT");
  const jwks = await client.sessions.getJWKS({ project_id: h.PROJECT_ID });
  const signing = jwks.keys.find((k) => k.kid === hd.kid);
  assert.ok(signing, `kid ${hd.kid} not in the JWKS`);
  for (const k of jwks.keys.filter((k) => k.alg === ALG)) {
    assert.equal(k.kty, SHAPE.kty);
    assert.equal(k.crv, SHAPE.crv);
    assert.equal(k.use, "sig");
    assert.equal(k.d, undefined, "private key material in the JWKS");
  }
  assert.equal(signing.alg, ALG);
});

test(`sessions.authenticateJwtLocal verifies ${ALG} JWTs and refuses a tampered one`, async () => {
  const { res } = await h.loginSMS({ session_custom_claims: { plan: ALG } });
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
  assert.equal(local.session_id, res.session.session_id);
  assert.equal(local.user_id, res.user_id);
  assert.deepEqual(local.custom_claims, { plan: ALG });

  const remote = await client.sessions.authenticate({ session_jwt: res.session_jwt });
  assert.equal(remote.session.session_id, res.session.session_id);
  assert.equal(header(remote.session_jwt).alg, ALG);

  const [hd, body, sig] = res.session_jwt.split(".");
  const flipped = Buffer.from(sig, "base64url");
  flipped[0] ^= 1;
  const tampered = `${hd}.${body}.${flipped.toString("base64url")}`;
  await assert.rejects(client.sessions.authenticateJwtLocal({ session_jwt: tampered }),
    (e) => e instanceof stytch.ClientError && e.code === "jwt_invalid");
});
