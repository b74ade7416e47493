"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const h = require("./helpers");
const { client } = h;

// linkOf checks the emailed link and returns its URL.
function linkOf(msg, base) {
  const text = `${msg.text || ""} ${msg.html || ""}`;
  const m = text.match(/https?:\/\/[^\s"'<>]+/g) || [];
  const url = m.map((u) => new URL(u.replaceAll("&amp;", "&"))).find((u) => u.searchParams.get("token") === msg.token);
  assert.ok(url, `no link with the token in the email: ${text.slice(0, 200)}`);
  assert.equal(url.searchParams.get("stytch_token_type"), "magic_links");
  if (base) assert.equal(url.origin + url.pathname, base);
  return url;
}

test("magicLinks.email: loginOrCreate (signup link), authenticate, reuse, then send (login link)", async () => {
  const email = h.uniqueEmail("ml");
  const first = await client.magicLinks.email.loginOrCreate({
    email, login_magic_link_url: "https://app.example/login", signup_magic_link_url: "https://app.example/signup",
  });
  assert.equal(first.status_code, 200);
  assert.equal(first.user_created, true);
  const msg = await h.nextToken(email);
  linkOf(msg, "https://app.example/signup");

  const res = await client.magicLinks.authenticate({ token: msg.token, session_duration_minutes: 60 });
  assert.equal(res.user_id, first.user_id);
  assert.equal(res.method_id, first.email_id);
  h.assertUser(res.user);
  h.assertSession(res.session);
  const [factor] = res.session.authentication_factors;
  assert.equal(factor.type, "magic_link");
  assert.equal(factor.delivery_method, "email");
  assert.deepEqual(factor.email_factor, { email_id: first.email_id, email_address: email });
  await h.expectStytchError(client.magicLinks.authenticate({ token: msg.token }), 401, "unable_to_auth_magic_link");

  const sent = await client.magicLinks.email.send({ email, login_magic_link_url: "https://app.example/login", login_expiration_minutes: 10 });
  assert.equal(sent.user_id, first.user_id);
  assert.equal(sent.email_id, first.email_id);
  const msg2 = await h.nextToken(email, 1);
  linkOf(msg2, "https://app.example/login");
  const res2 = await client.magicLinks.authenticate({ token: msg2.token });
  assert.equal(res2.session_token, "");
  assert.ok(res2.session == null);

  await h.expectStytchError(client.magicLinks.authenticate({ token: "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM=" }), 404, "magic_link_not_found");
  await h.expectStytchError(client.magicLinks.email.send({ email: h.uniqueEmail("nobody") }), 404, "email_not_found");
  await h.expectStytchError(client.magicLinks.email.send({ email, login_expiration_minutes: 4 }), 400, "bad_request");
});

test("magicLinks: PKCE code_challenge / code_verifier", async () => {
  const email = h.uniqueEmail("pkce");
  const verifier = crypto.randomBytes(32).toString("base64url");
  const challenge = crypto.createHash("sha256").update(verifier).digest("base64url");
  await client.magicLinks.email.loginOrCreate({ email, code_challenge: challenge });
  const { token } = await h.nextToken(email);
  await h.expectStytchError(client.magicLinks.authenticate({ token, code_verifier: "wrong-verifier-wrong-verifier-wrong-verifier" }), 400, "pkce_mismatch");
  const res = await client.magicLinks.authenticate({ token, code_verifier: verifier, session_duration_minutes: 15 });
  h.assertSession(res.session);
});

test("magicLinks.email: invite creates a pending user, revokeInvite kills the link", async () => {
  const email = h.uniqueEmail("invite");
  const inv = await client.magicLinks.email.invite({ email, name: { first_name: "Ivy" }, invite_magic_link_url: "https://app.example/invite" });
  assert.match(inv.user_id, /^user-/);
  const user = await client.users.get({ user_id: inv.user_id });
  assert.equal(user.status, "pending");
  assert.equal(user.name.first_name, "Ivy");
  const msg = await h.nextToken(email);
  linkOf(msg, "https://app.example/invite");

  const revoked = await client.magicLinks.email.revokeInvite({ email });
  assert.equal(revoked.status_code, 200);
  await h.expectStytchError(client.magicLinks.authenticate({ token: msg.token }), 404, "magic_link_not_found");
  await h.expectStytchError(client.magicLinks.email.revokeInvite({ email }), 404, "invite_not_found");

  await client.magicLinks.email.invite({ email });
  const msg2 = await h.nextToken(email, 1);
  const res = await client.magicLinks.authenticate({ token: msg2.token });
  assert.equal(res.user.status, "active");
});

test("magicLinks.create: an embeddable token authenticates without any email", async () => {
  const email = h.uniqueEmail("embed");
  const user = await client.users.create({ email });
  const created = await client.magicLinks.create({ user_id: user.user_id, expiration_minutes: 15 });
  assert.equal(created.user_id, user.user_id);
  assert.ok(created.token);
  const res = await client.magicLinks.authenticate({ token: created.token, session_duration_minutes: 60 });
  const [factor] = res.session.authentication_factors;
  assert.equal(factor.type, "magic_link");
  assert.equal(factor.delivery_method, "embedded");
  assert.ok(factor.embeddable_magic_link_factor.embedded_id);
  assert.deepEqual(await h.messagesTo(email), []);
  await h.expectStytchError(client.magicLinks.create({ user_id: "user-test-00000000-0000-0000-0000-000000000000" }), 404, "user_not_found");
});
