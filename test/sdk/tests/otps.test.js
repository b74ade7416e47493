"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { client } = h;

// wrongCode returns a 6-digit code different from code.
const wrongCode = (code) => (code === "000001" ? "000002" : "000001");

for (const channel of ["sms", "whatsapp"]) {
  test(`otps.${channel}: loginOrCreate, wrong code, authenticate with a session, reused code`, async () => {
    const phone = h.uniquePhone();
    const first = await client.otps[channel].loginOrCreate({ phone_number: phone, expiration_minutes: 5 });
    assert.equal(first.status_code, 200);
    assert.equal(first.user_created, true);
    assert.match(first.phone_id, /^phone-number-/);
    const code = await h.nextCode(phone);

    const again = await client.otps[channel].loginOrCreate({ phone_number: phone });
    assert.equal(again.user_created, false);
    assert.equal(again.user_id, first.user_id);
    assert.equal(again.phone_id, first.phone_id);
    const newest = await h.nextCode(phone, 1);
    // The newer code supersedes the first one.
    if (newest !== code) {
      await h.expectStytchError(client.otps.authenticate({ method_id: first.phone_id, code }), 404, "otp_code_not_found");
    }
    await h.expectStytchError(client.otps.authenticate({ method_id: first.phone_id, code: wrongCode(newest) }), 404, "otp_code_not_found");

    const res = await client.otps.authenticate({
      method_id: first.phone_id, code: newest, session_duration_minutes: 60, session_custom_claims: { tier: "gold" },
    });
    assert.equal(res.status_code, 200);
    assert.equal(res.user_id, first.user_id);
    assert.equal(res.method_id, first.phone_id);
    assert.equal(res.reset_sessions, false);
    assert.ok(res.session_token && res.session_jwt);
    h.assertUser(res.user);
    assert.equal(res.user.phone_numbers[0].verified, true);
    h.assertSession(res.session);
    assert.equal(res.session.custom_claims.tier, "gold");
    const [factor] = res.session.authentication_factors;
    assert.equal(factor.type, "otp");
    assert.equal(factor.delivery_method, channel);
    assert.deepEqual(factor.phone_number_factor, { phone_id: first.phone_id, phone_number: phone });

    await h.expectStytchError(client.otps.authenticate({ method_id: first.phone_id, code: newest }), 401, "unable_to_auth_otp_code");
  });

  test(`otps.${channel}.send: a known number, authenticate without a session`, async () => {
    const phone = h.uniquePhone();
    const user = await client.users.create({ phone_number: phone });
    const sent = await client.otps[channel].send({ phone_number: phone });
    assert.equal(sent.user_id, user.user_id);
    assert.equal(sent.phone_id, user.phone_id);
    assert.equal(sent.user_created, undefined);
    const res = await client.otps.authenticate({ method_id: sent.phone_id, code: await h.nextCode(phone) });
    assert.equal(res.session_token, "");
    assert.equal(res.session_jwt, "");
    assert.ok(res.session == null, "no session without session_duration_minutes");
    await h.expectStytchError(client.otps[channel].send({ phone_number: h.uniquePhone() }), 404, "phone_number_not_found");
  });
}

test("otps.email: loginOrCreate, authenticate, then send attaches a second email to the session", async () => {
  const email = h.uniqueEmail("otp");
  const first = await client.otps.email.loginOrCreate({ email, create_user_as_pending: true });
  assert.equal(first.user_created, true);
  assert.match(first.email_id, /^email-/);
  assert.equal((await client.users.get({ user_id: first.user_id })).status, "pending");
  const res = await client.otps.authenticate({ method_id: first.email_id, code: await h.nextCode(email), session_duration_minutes: 30 });
  assert.equal(res.user.status, "active");
  assert.deepEqual(res.session.authentication_factors[0].email_factor, { email_id: first.email_id, email_address: email });
  assert.equal(res.session.authentication_factors[0].delivery_method, "email");

  const second = h.uniqueEmail("otp2");
  const sent = await client.otps.email.send({ email: second, session_token: res.session_token });
  assert.equal(sent.user_id, first.user_id);
  const both = await client.otps.authenticate({ method_id: sent.email_id, code: await h.nextCode(second), session_token: res.session_token });
  assert.equal(both.session.session_id, res.session.session_id);
  assert.equal(both.session.authentication_factors.length, 2);
  assert.equal(both.user.emails.length, 2);

  await h.expectStytchError(client.otps.email.send({ email: h.uniqueEmail("nobody") }), 404, "email_not_found");
  await h.expectStytchError(client.otps.email.loginOrCreate({ email, expiration_minutes: 11 }), 400, "bad_request");
});

test("otps: sandbox +10000000000 and sandbox@stytch.com authenticate with 000000 in a test project", { skip: !h.IS_TEST_PROJECT && "live project" }, async () => {
  const sms = await client.otps.sms.loginOrCreate({ phone_number: "+10000000000" });
  const res = await client.otps.authenticate({ method_id: sms.phone_id, code: "000000", session_duration_minutes: 5 });
  h.assertSession(res.session);
  await h.expectStytchError(client.otps.authenticate({ method_id: sms.phone_id, code: "123456" }), 404, "otp_code_not_found");

  const email = await client.otps.email.loginOrCreate({ email: "sandbox@stytch.com" });
  const res2 = await client.otps.authenticate({ method_id: email.email_id, code: "000000" });
  assert.equal(res2.user_id, email.user_id);
  assert.deepEqual(await h.messagesTo("+10000000000"), [], "nothing is ever sent to the sandbox number");
});
