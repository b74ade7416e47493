"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const h = require("./helpers");
const { client } = h;

test("users: create, get (flattened), update, deletePhoneNumber, deleteEmail, delete", async () => {
  const email = h.uniqueEmail("user");
  const phone = h.uniquePhone();
  const created = await client.users.create({
    email, phone_number: phone, name: { first_name: "Ada", last_name: "Lovelace" },
    trusted_metadata: { plan: "pro" }, external_id: `ext-${crypto.randomUUID()}`,
  });
  assert.equal(created.status_code, 200);
  assert.match(created.request_id, /^request-id-/);
  assert.match(created.user_id, /^user-(test|live)-/);
  assert.match(created.email_id, /^email-(test|live)-/);
  assert.match(created.phone_id, /^phone-number-(test|live)-/);
  assert.equal(created.status, "active");
  h.assertUser(created.user);
  assert.deepEqual(created.user.trusted_metadata, { plan: "pro" });
  assert.deepEqual(created.user.untrusted_metadata, {});

  const got = await client.users.get({ user_id: created.user_id });
  h.assertUser(got);
  assert.equal(got.user, undefined, "get must be flattened");
  assert.equal(got.user_id, created.user_id);
  assert.equal(got.name.first_name, "Ada");
  assert.deepEqual(got.emails, [{ email_id: created.email_id, email, verified: false }]);
  assert.deepEqual(got.phone_numbers, [{ phone_id: created.phone_id, phone_number: phone, verified: false }]);

  const upd = await client.users.update({ user_id: created.user_id, name: { first_name: "Augusta" }, untrusted_metadata: { theme: "dark" } });
  assert.equal(upd.user_id, created.user_id);
  assert.ok(Array.isArray(upd.emails) && Array.isArray(upd.phone_numbers) && Array.isArray(upd.crypto_wallets));
  assert.equal(upd.user.name.first_name, "Augusta");
  assert.deepEqual(upd.user.untrusted_metadata, { theme: "dark" });

  const noPhone = await client.users.deletePhoneNumber({ phone_id: created.phone_id });
  assert.equal(noPhone.user_id, created.user_id);
  assert.deepEqual(noPhone.user.phone_numbers, []);
  const noEmail = await client.users.deleteEmail({ email_id: created.email_id });
  assert.deepEqual(noEmail.user.emails, []);
  await h.expectStytchError(client.users.deleteEmail({ email_id: created.email_id }), 404, "email_not_found");

  const del = await client.users.delete({ user_id: created.user_id });
  assert.equal(del.user_id, created.user_id);
  await h.expectStytchError(client.users.get({ user_id: created.user_id }), 404, "user_not_found");
});

test("users: create errors use Stytch error types", async () => {
  const email = h.uniqueEmail("dup");
  await client.users.create({ email });
  await h.expectStytchError(client.users.create({ email }), 400, "duplicate_email");
  await h.expectStytchError(client.users.create({ phone_number: "12345" }), 400, "invalid_phone_number");
  await h.expectStytchError(client.users.create({ email: "not-an-email" }), 400, "invalid_email");
});

test("users: search with filters and searchAll across pages", async () => {
  const tag = `Zq${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const u = await client.users.create({ email: h.uniqueEmail(`search${i}`), name: { first_name: tag, last_name: String(i) } });
    ids.push(u.user_id);
  }
  const byName = { operator: "AND", operands: [{ filter_name: "full_name_fuzzy", filter_value: tag }] };

  const res = await client.users.search({ limit: 10, query: byName });
  assert.equal(res.status_code, 200);
  assert.equal(res.results.length, 3);
  res.results.forEach(h.assertUser);
  assert.equal(res.results_metadata.total, 3);
  assert.ok(!res.results_metadata.next_cursor, "a complete page has no next_cursor");

  const one = await client.users.search({ query: { operator: "OR", operands: [{ filter_name: "user_id", filter_value: [ids[1]] }] } });
  assert.deepEqual(one.results.map((u) => u.user_id), [ids[1]]);

  const none = await client.users.search({ query: { operator: "AND", operands: [...byName.operands, { filter_name: "totp_verified", filter_value: true }] } });
  assert.deepEqual(none.results, []);

  const seen = [];
  let pages = 0;
  for await (const page of client.users.searchAll({ limit: 1, query: byName })) {
    pages++;
    seen.push(...page.map((u) => u.user_id));
    assert.ok(pages <= 5, "searchAll does not end");
  }
  assert.equal(pages, 3);
  assert.deepEqual([...seen].sort(), [...ids].sort());

  await h.expectStytchError(
    client.users.search({ query: { operator: "AND", operands: [{ filter_name: "no_such_filter", filter_value: "x" }] } }),
    400, "invalid_search_filter");
});

test("auth: a client with a wrong secret gets 401 unauthorized_credentials", async () => {
  const bad = h.newClient("wrong-secret-wrong-secret-wrong");
  const err = await h.expectStytchError(bad.users.search({ limit: 1 }), 401, "unauthorized_credentials");
  assert.equal(err.error_message, "Unauthorized credentials.");
  await h.expectStytchError(bad.otps.sms.loginOrCreate({ phone_number: h.uniquePhone() }), 401, "unauthorized_credentials");
});
