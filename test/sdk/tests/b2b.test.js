"use strict";
// Stytch B2B through the official stytch 14.2.0 B2BClient, unchanged (only
// `env` points at Sesame): seed 004's six steps (MFA required for all,
// email magic link as the primary factor, SMS code as the second), member
// sessions, discovery, session exchange, and organization and member
// management. Links and codes are read from the fake SendGrid and Twilio.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { b2b, stytch } = h;

const REDIRECT = "https://app.example/b2b/authenticate";

// newOrg creates an organization with a fresh slug and returns it.
async function newOrg(tag, settings = {}) {
  const slug = h.uniqueSlug(tag);
  const res = await b2b.organizations.create({ organization_name: `SDK ${tag}`, organization_slug: slug, ...settings });
  assert.equal(res.status_code, 200);
  h.assertOrganization(res.organization);
  assert.equal(res.organization.organization_slug, slug);
  return res.organization;
}

// newMember adds an active member with that email to org.
async function newMember(org, email, extra = {}) {
  const res = await b2b.organizations.members.create({ organization_id: org.organization_id, email_address: email, ...extra });
  assert.equal(res.status_code, 200);
  h.assertMember(res.member);
  assert.equal(res.member.email_address, email);
  return res.member;
}

// primaryByLink runs login_or_signup and authenticates the emailed link.
async function primaryByLink(org, email, extra = {}) {
  const seen = await h.count(email);
  const sent = await b2b.magicLinks.email.loginOrSignup({ organization_id: org.organization_id, email_address: email, login_redirect_url: REDIRECT });
  assert.equal(sent.status_code, 200);
  const link = await h.nextB2BLink(email, seen);
  assert.equal(link.url.origin + link.url.pathname, REDIRECT);
  assert.equal(link.url.searchParams.get("slug"), org.organization_slug);
  const res = await b2b.magicLinks.authenticate({ magic_links_token: link.token, ...extra });
  assert.equal(res.status_code, 200);
  return { sent, link, res };
}

// expectStatus checks that promise rejects with a StytchError of that status
// ("4xx": any client error) and a Stytch error body, for errors whose
// error_type (or status) the contract does not pin.
async function expectStatus(promise, status) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${status}, but the call succeeded`);
  assert.ok(err instanceof stytch.StytchError, `expected a StytchError, got ${err}`);
  if (status === "4xx") assert.ok(err.status_code >= 400 && err.status_code < 500, `${err.status_code}: ${err.message}`);
  else assert.equal(err.status_code, status, err.message);
  assert.match(err.error_type, /^[a-z_]+$/);
  assert.match(err.request_id, /^request-id-(test|live)-/);
  return err;
}

function assertFactors(factors, email, emailID, phone) {
  assert.equal(factors.length, 2, JSON.stringify(factors));
  const [first, second] = factors;
  assert.equal(first.type, "magic_link");
  assert.equal(first.delivery_method, "email");
  assert.equal(first.sequence_order, "PRIMARY");
  assert.equal(first.email_factor.email_address, email);
  assert.equal(first.email_factor.email_id, emailID);
  assert.equal(second.type, "otp");
  assert.equal(second.delivery_method, "sms");
  assert.equal(second.sequence_order, "SECONDARY");
  assert.equal(second.phone_number_factor.phone_number, phone);
  assert.match(second.phone_number_factor.phone_id, /^member-phone-number-(test|live)-/);
  for (const f of factors) h.assertRFC3339(f.last_authenticated_at, "last_authenticated_at");
}

test("b2b seed 004: MFA required for all, magic link then SMS code, member session with both factors", async () => {
  // Step 0 (the seed assumes it): an organization with a member using email magic links.
  const org = await newOrg("seed004");
  const email = h.uniqueEmail("b2b-seed");
  const member = await newMember(org, email);
  assert.equal(member.status, "active");
  assert.equal(member.mfa_enrolled, false);
  const phone = h.uniquePhone();

  // Step 1: update the organization's MFA policy.
  const upd = await b2b.organizations.update({ organization_id: org.organization_id, mfa_policy: "REQUIRED_FOR_ALL" });
  assert.equal(upd.status_code, 200);
  h.assertOrganization(upd.organization);
  assert.equal(upd.organization.mfa_policy, "REQUIRED_FOR_ALL");
  assert.equal(upd.organization.organization_slug, org.organization_slug, "update changed an unset field");

  // Step 2: email magic link as the primary factor.
  const { sent, link, res } = await primaryByLink(org, email);
  assert.equal(sent.member_id, member.member_id);
  assert.equal(sent.member_created, false);
  h.assertMember(sent.member);
  h.assertOrganization(sent.organization);

  // Step 3: the primary response — MFA still required.
  assert.equal(res.member_authenticated, false);
  assert.equal(res.member_id, member.member_id);
  assert.equal(res.organization_id, org.organization_id);
  assert.match(res.method_id, /^member-email-(test|live)-/);
  assert.equal(res.reset_sessions, false);
  assert.equal(res.session_token, "");
  assert.equal(res.session_jwt, "");
  assert.ok(res.member_session == null, `member_session: ${JSON.stringify(res.member_session)}`);
  assert.ok(res.intermediate_session_token, "no intermediate_session_token");
  assert.ok(res.mfa_required, "no mfa_required");
  assert.ok(res.mfa_required.secondary_auth_initiated == null, "an SMS was sent to a member without a phone");
  h.assertMember(res.member);
  assert.equal(res.member.email_address_verified, true);
  h.assertOrganization(res.organization);
  if (res.intermediate_session_token_expires_at) {
    const left = Date.parse(res.intermediate_session_token_expires_at) - Date.now();
    assert.ok(left > 9 * 60e3 && left <= 10 * 60e3 + 5e3, `IST expires at ${res.intermediate_session_token_expires_at}`);
  }
  await h.expectStytchError(b2b.magicLinks.authenticate({ magic_links_token: link.token }), 401, "unable_to_auth_magic_link");
  const ist = res.intermediate_session_token;

  // Step 4: send the SMS code (the member has no phone yet: it is set now).
  const seenSMS = await h.count(phone);
  const smsSent = await b2b.otps.sms.send({ organization_id: org.organization_id, member_id: member.member_id, mfa_phone_number: phone });
  assert.equal(smsSent.status_code, 200);
  assert.equal(smsSent.member_id, member.member_id);
  h.assertMember(smsSent.member);
  assert.equal(smsSent.member.mfa_phone_number, phone);
  assert.equal(smsSent.member.mfa_phone_number_verified, false);
  const code = await h.nextCode(phone, seenSMS);

  // Step 5: authenticate the code as the second factor.
  const done = await b2b.otps.sms.authenticate({
    organization_id: org.organization_id, member_id: member.member_id, intermediate_session_token: ist, code,
  });

  // Step 6: a full member session listing both factors.
  assert.equal(done.status_code, 200);
  assert.equal(done.member_id, member.member_id);
  h.assertMember(done.member);
  assert.equal(done.member.email_address, email);
  assert.equal(done.member.email_address_verified, true);
  assert.equal(done.member.mfa_enrolled, true);
  assert.equal(done.member.mfa_phone_number, phone);
  assert.equal(done.member.mfa_phone_number_verified, true);
  h.assertOrganization(done.organization);
  assert.ok(done.session_token, "no session_token");
  assert.ok(done.session_jwt, "no session_jwt");
  const ms = done.member_session;
  h.assertMemberSession(ms);
  assert.equal(ms.member_id, member.member_id);
  assert.equal(ms.organization_id, org.organization_id);
  assertFactors(ms.authentication_factors, email, res.method_id, phone);
  assert.deepEqual(ms.custom_claims || {}, {});
  const left = Date.parse(ms.expires_at) - Date.now();
  assert.ok(left > 58 * 60e3 && left <= 61 * 60e3, `default session: expires_at ${ms.expires_at}`);

  // The IST was consumed: a fresh code with it is refused.
  const seen2 = await h.count(phone);
  await b2b.otps.sms.send({ organization_id: org.organization_id, member_id: member.member_id, session_token: done.session_token });
  const code2 = await h.nextCode(phone, seen2);
  await h.expectStytchError(b2b.otps.sms.authenticate({
    organization_id: org.organization_id, member_id: member.member_id, intermediate_session_token: ist, code: code2,
  }), 404, "intermediate_session_not_found");

  // The member JWT validates locally against Sesame's B2B JWKS.
  const local = await b2b.sessions.authenticateJwtLocal({ session_jwt: done.session_jwt });
  assert.equal(local.member_session_id, ms.member_session_id);
  assert.equal(local.member_id, member.member_id);
  assert.equal(local.organization_id, org.organization_id);
  assert.equal(local.organization_slug, org.organization_slug);
  assert.ok(local.roles.includes("stytch_member"), JSON.stringify(local.roles));
  assert.deepEqual(local.authentication_factors.map((f) => [f.type, f.delivery_method]), [["magic_link", "email"], ["otp", "sms"]]);
  assert.deepEqual(local.custom_claims, {});
  const viaJwt = await b2b.sessions.authenticateJwt({ session_jwt: done.session_jwt });
  assert.equal(viaJwt.member_session.member_session_id, ms.member_session_id);

  // sessions.authenticate by token and by JWT.
  const byToken = await b2b.sessions.authenticate({ session_token: done.session_token });
  assert.equal(byToken.status_code, 200);
  assert.equal(byToken.member_session.member_session_id, ms.member_session_id);
  assert.equal(byToken.session_token, done.session_token);
  assert.ok(byToken.session_jwt);
  h.assertMember(byToken.member);
  h.assertOrganization(byToken.organization);
  assertFactors(byToken.member_session.authentication_factors, email, res.method_id, phone);
  const byJWT = await b2b.sessions.authenticate({ session_jwt: done.session_jwt });
  assert.equal(byJWT.member_session.member_session_id, ms.member_session_id);

  // sessions.get lists it.
  const list = await b2b.sessions.get({ organization_id: org.organization_id, member_id: member.member_id });
  assert.equal(list.status_code, 200);
  assert.ok(list.member_sessions.some((s) => s.member_session_id === ms.member_session_id), JSON.stringify(list.member_sessions));
  list.member_sessions.forEach(h.assertMemberSession);

  // sessions.revoke ends it.
  const revoked = await b2b.sessions.revoke({ member_session_id: ms.member_session_id });
  assert.equal(revoked.status_code, 200);
  await h.expectStytchError(b2b.sessions.authenticate({ session_token: done.session_token }), 404, "session_not_found");
  const after = await b2b.sessions.get({ organization_id: org.organization_id, member_id: member.member_id });
  assert.ok(!after.member_sessions.some((s) => s.member_session_id === ms.member_session_id));

  // Next login: the member is enrolled, so the code goes out at once.
  const seen3 = await h.count(phone);
  const again = (await primaryByLink(org, email)).res;
  assert.equal(again.member_authenticated, false);
  assert.equal(again.mfa_required.secondary_auth_initiated, "sms_otp");
  assert.equal(again.mfa_required.member_options.mfa_phone_number, phone);
  const code3 = await h.nextCode(phone, seen3);
  const done2 = await b2b.otps.sms.authenticate({
    organization_id: org.organization_id, member_id: member.member_id, intermediate_session_token: again.intermediate_session_token, code: code3,
  });
  h.assertMemberSession(done2.member_session);
  assert.notEqual(done2.member_session.member_session_id, ms.member_session_id);
  await b2b.sessions.revoke({ session_jwt: done2.session_jwt });
  await h.expectStytchError(b2b.sessions.authenticate({ session_token: done2.session_token }), 404, "session_not_found");
});

test("b2b otps.sms: a wrong code is otp_code_not_found (404), the IST stays usable for the right one", async () => {
  const org = await newOrg("wrongcode", { mfa_policy: "REQUIRED_FOR_ALL" });
  assert.equal(org.mfa_policy, "REQUIRED_FOR_ALL");
  const email = h.uniqueEmail("b2b-wrong");
  const member = await newMember(org, email);
  const { res } = await primaryByLink(org, email);
  const ist = res.intermediate_session_token;
  assert.ok(ist);
  const phone = h.uniquePhone();
  await b2b.otps.sms.send({ organization_id: org.organization_id, member_id: member.member_id, mfa_phone_number: phone, intermediate_session_token: ist });
  const code = await h.nextCode(phone);
  const wrong = code === "000001" ? "000002" : "000001";
  const base = { organization_id: org.organization_id, member_id: member.member_id };
  await h.expectStytchError(b2b.otps.sms.authenticate({ ...base, intermediate_session_token: ist, code: wrong }), 404, "otp_code_not_found");
  const m = await b2b.organizations.members.get({ organization_id: org.organization_id, member_id: member.member_id });
  assert.equal(m.member.mfa_phone_number_verified, false);
  assert.equal(m.member.mfa_enrolled, false);
  // Exactly one of IST, session token and session JWT.
  await expectStatus(b2b.otps.sms.authenticate({ ...base, code }), 400);
  await expectStatus(b2b.otps.sms.authenticate({ ...base, code, intermediate_session_token: ist, session_token: "x".repeat(44) }), 400);
  const ok = await b2b.otps.sms.authenticate({ ...base, intermediate_session_token: ist, code });
  assert.equal(ok.member.mfa_phone_number_verified, true);
  h.assertMemberSession(ok.member_session);
  await b2b.sessions.revoke({ member_id: member.member_id });
  await h.expectStytchError(b2b.sessions.authenticate({ session_token: ok.session_token }), 404, "session_not_found");
});

test("b2b OPTIONAL policy: an unenrolled member gets a session from the link alone", async () => {
  const org = await newOrg("optional");
  assert.equal(org.mfa_policy, "OPTIONAL");
  const email = h.uniqueEmail("b2b-opt");
  const member = await newMember(org, email);
  const { res } = await primaryByLink(org, email, { session_duration_minutes: 30, session_custom_claims: { team: "blue" } });
  assert.equal(res.member_authenticated, true);
  assert.equal(res.intermediate_session_token, "");
  assert.ok(res.mfa_required == null);
  assert.ok(res.session_token && res.session_jwt);
  h.assertMemberSession(res.member_session);
  assert.equal(res.member_session.member_id, member.member_id);
  assert.deepEqual(res.member_session.authentication_factors.map((f) => f.type), ["magic_link"]);
  assert.deepEqual(res.member_session.custom_claims, { team: "blue" });
  const local = await b2b.sessions.authenticateJwtLocal({ session_jwt: res.session_jwt });
  assert.equal(local.organization_id, org.organization_id);
  assert.deepEqual(local.custom_claims, { team: "blue" });
  await b2b.sessions.revoke({ session_token: res.session_token });
});

test("b2b discovery: send, authenticate, list, exchange, create; sessions.exchange to a second organization", async () => {
  const email = h.uniqueEmail("b2b-disc");
  const orgA = await newOrg("disc-a");
  const orgB = await newOrg("disc-b");
  const orgMFA = await newOrg("disc-mfa", { mfa_policy: "REQUIRED_FOR_ALL" });
  const memberA = await newMember(orgA, email);
  const memberB = await newMember(orgB, email);
  const memberM = await newMember(orgMFA, email);
  assert.notEqual(memberA.member_id, memberB.member_id);

  // discovery send → link → authenticate.
  const sent = await b2b.magicLinks.email.discovery.send({ email_address: email, discovery_redirect_url: "https://app.example/discover" });
  assert.equal(sent.status_code, 200);
  const link = await h.nextB2BLink(email, 0, "discovery");
  assert.equal(link.url.origin + link.url.pathname, "https://app.example/discover");
  const disc = await b2b.magicLinks.discovery.authenticate({ discovery_magic_links_token: link.token });
  assert.equal(disc.status_code, 200);
  assert.equal(disc.email_address, email);
  assert.ok(disc.intermediate_session_token);
  const ids = (d) => d.discovered_organizations.map((o) => o.organization.organization_id).sort();
  assert.deepEqual(ids(disc), [orgA.organization_id, orgB.organization_id, orgMFA.organization_id].sort());
  for (const d of disc.discovered_organizations) {
    h.assertOrganization(d.organization);
    assert.equal(d.membership.type, "active_member");
    h.assertMember(d.membership.member);
  }
  await h.expectStytchError(b2b.magicLinks.discovery.authenticate({ discovery_magic_links_token: link.token }), 401, "unable_to_auth_magic_link");

  // discovery.organizations.list with the IST.
  const listed = await b2b.discovery.organizations.list({ intermediate_session_token: disc.intermediate_session_token });
  assert.equal(listed.status_code, 200);
  assert.equal(listed.email_address, email);
  assert.deepEqual(ids(listed), ids(disc));

  // intermediateSessions.exchange into A: a session there.
  const inA = await b2b.discovery.intermediateSessions.exchange({ intermediate_session_token: disc.intermediate_session_token, organization_id: orgA.organization_id });
  assert.equal(inA.status_code, 200);
  assert.equal(inA.member_authenticated, true);
  assert.equal(inA.member_id, memberA.member_id);
  assert.ok(inA.session_token && inA.session_jwt);
  h.assertMemberSession(inA.member_session);
  assert.equal(inA.member_session.organization_id, orgA.organization_id);
  assert.deepEqual(inA.member_session.authentication_factors.map((f) => [f.type, f.delivery_method]), [["magic_link", "email"]]);
  // The IST is single use.
  await h.expectStytchError(b2b.discovery.intermediateSessions.exchange({ intermediate_session_token: disc.intermediate_session_token, organization_id: orgB.organization_id }), 404, "intermediate_session_not_found");

  // list with the session token works too.
  const listed2 = await b2b.discovery.organizations.list({ session_token: inA.session_token });
  assert.deepEqual(ids(listed2), ids(disc));

  // sessions.exchange A → B (same email): a session in B.
  const inB = await b2b.sessions.exchange({ organization_id: orgB.organization_id, session_token: inA.session_token });
  assert.equal(inB.status_code, 200);
  assert.equal(inB.member_authenticated, true);
  assert.equal(inB.member_id, memberB.member_id);
  h.assertMemberSession(inB.member_session);
  assert.equal(inB.member_session.organization_id, orgB.organization_id);
  assert.equal(inB.member_session.member_id, memberB.member_id);
  const localB = await b2b.sessions.authenticateJwtLocal({ session_jwt: inB.session_jwt });
  assert.equal(localB.organization_id, orgB.organization_id);
  assert.equal(localB.organization_slug, orgB.organization_slug);
  assert.equal(localB.member_id, memberB.member_id);

  // sessions.exchange into an organization requiring MFA: an IST, not a session.
  const inM = await b2b.sessions.exchange({ organization_id: orgMFA.organization_id, session_jwt: inB.session_jwt });
  assert.equal(inM.member_authenticated, false);
  assert.equal(inM.member_id, memberM.member_id);
  assert.ok(inM.intermediate_session_token);
  assert.equal(inM.session_token, "");
  assert.ok(inM.member_session == null);
  assert.ok(inM.mfa_required);

  // discovery.organizations.create from a fresh discovery IST: the creator is an admin.
  await b2b.magicLinks.email.discovery.send({ email_address: email });
  const link2 = await h.nextB2BLink(email, 1, "discovery");
  const disc2 = await b2b.magicLinks.discovery.authenticate({ discovery_magic_links_token: link2.token });
  const slug = h.uniqueSlug("disc-new");
  const created = await b2b.discovery.organizations.create({ intermediate_session_token: disc2.intermediate_session_token, organization_name: "SDK discovery new", organization_slug: slug });
  assert.equal(created.status_code, 200);
  assert.equal(created.member_authenticated, true);
  h.assertOrganization(created.organization);
  assert.equal(created.organization.organization_slug, slug);
  h.assertMember(created.member);
  assert.equal(created.member.email_address, email);
  assert.equal(created.member.is_admin, true);
  assert.ok(created.member.roles.some((r) => r.role_id === "stytch_admin"), JSON.stringify(created.member.roles));
  h.assertMemberSession(created.member_session);
  assert.ok(created.member_session.roles.includes("stytch_admin"));
  const localNew = await b2b.sessions.authenticateJwtLocal({ session_jwt: created.session_jwt });
  assert.equal(localNew.organization_id, created.organization.organization_id);
  assert.ok(localNew.roles.includes("stytch_admin"));

  for (const s of [inA, inB, created]) await b2b.sessions.revoke({ session_token: s.session_token });
});

test("b2b organizations and members: create, get, update, search, delete through the SDK", async () => {
  const org = await newOrg("crud", { email_allowed_domains: ["crud-sdk.test"], email_jit_provisioning: "RESTRICTED" });
  assert.equal(org.mfa_policy, "OPTIONAL");
  assert.equal(org.mfa_methods, "ALL_ALLOWED");
  assert.equal(org.auth_methods, "ALL_ALLOWED");
  assert.equal(org.email_jit_provisioning, "RESTRICTED");
  assert.deepEqual(org.email_allowed_domains, ["crud-sdk.test"]);

  // get by id and by slug.
  const byID = await b2b.organizations.get({ organization_id: org.organization_id });
  assert.deepEqual(byID.organization, org);
  const bySlug = await b2b.organizations.get({ organization_id: org.organization_slug });
  assert.equal(bySlug.organization.organization_id, org.organization_id);

  // duplicate slug is refused; a common consumer domain too.
  await expectStatus(b2b.organizations.create({ organization_name: "dup", organization_slug: org.organization_slug }), "4xx");
  await expectStatus(b2b.organizations.create({ organization_name: "gmail", organization_slug: h.uniqueSlug("gm"), email_allowed_domains: ["gmail.com"] }), "4xx");

  // search by slug.
  const found = await b2b.organizations.search({ query: { operator: "AND", operands: [{ filter_name: "organization_slugs", filter_value: [org.organization_slug] }] } });
  assert.equal(found.status_code, 200);
  assert.deepEqual(found.organizations.map((o) => o.organization_id), [org.organization_id]);
  assert.equal(found.results_metadata.total, 1);

  // members: create, get by id and email, update, search.
  const email = `ada-${h.uniqueSlug("m")}@crud-sdk.test`;
  const created = await b2b.organizations.members.create({ organization_id: org.organization_id, email_address: email, name: "Ada", create_member_as_pending: true });
  assert.equal(created.member.status, "pending");
  assert.equal(created.member.name, "Ada");
  const memberID = created.member_id;
  await expectStatus(b2b.organizations.members.create({ organization_id: org.organization_id, email_address: email }), "4xx");
  const got = await b2b.organizations.members.get({ organization_id: org.organization_id, member_id: memberID });
  assert.deepEqual(got.member, created.member);
  h.assertOrganization(got.organization);
  const gotByEmail = await b2b.organizations.members.get({ organization_id: org.organization_id, email_address: email });
  assert.equal(gotByEmail.member_id, memberID);
  const upd = await b2b.organizations.members.update({ organization_id: org.organization_id, member_id: memberID, name: "Ada Lovelace", trusted_metadata: { plan: "pro" } });
  assert.equal(upd.member.name, "Ada Lovelace");
  assert.deepEqual(upd.member.trusted_metadata, { plan: "pro" });
  assert.equal(upd.member.email_address, email, "update changed an unset field");
  const search = await b2b.organizations.members.search({
    organization_ids: [org.organization_id],
    query: { operator: "AND", operands: [{ filter_name: "member_emails", filter_value: [email] }] },
  });
  assert.deepEqual(search.members.map((m) => m.member_id), [memberID]);
  assert.ok(search.organizations[org.organization_id], "search.organizations lacks the member's organization");
  const metrics = await b2b.organizations.metrics({ organization_id: org.organization_id });
  assert.equal(metrics.member_count, 1);

  // JIT by allowed domain: a new email of crud-sdk.test becomes a member; another domain does not.
  const jitEmail = `jit-${h.uniqueSlug("j")}@crud-sdk.test`;
  const jit = await b2b.magicLinks.email.loginOrSignup({ organization_id: org.organization_id, email_address: jitEmail, login_redirect_url: REDIRECT, signup_redirect_url: REDIRECT });
  assert.equal(jit.member_created, true);
  await expectStatus(b2b.magicLinks.email.loginOrSignup({ organization_id: org.organization_id, email_address: h.uniqueEmail("b2b-nojit") }), "4xx");

  // delete member, then the organization.
  const del = await b2b.organizations.members.delete({ organization_id: org.organization_id, member_id: memberID });
  assert.equal(del.member_id, memberID);
  const afterDel = await b2b.organizations.members.search({
    organization_ids: [org.organization_id],
    query: { operator: "AND", operands: [{ filter_name: "statuses", filter_value: ["active", "pending", "invited"] }] },
  });
  assert.ok(!afterDel.members.some((m) => m.member_id === memberID), "deleted member still listed");
  const odel = await b2b.organizations.delete({ organization_id: org.organization_id });
  assert.equal(odel.organization_id, org.organization_id);
  await h.expectStytchError(b2b.organizations.get({ organization_id: org.organization_id }), 404, "organization_not_found");
});

test("b2b RBAC: a member session may not manage another organization, nor a non-admin its own", async () => {
  const orgA = await newOrg("rbac-a");
  const orgB = await newOrg("rbac-b");
  const email = h.uniqueEmail("b2b-rbac");
  await newMember(orgA, email);
  const other = await newMember(orgA, h.uniqueEmail("b2b-rbac-other"));
  const { res } = await primaryByLink(orgA, email);
  assert.equal(res.member_authenticated, true);
  const asMember = { authorization: { session_token: res.session_token } };
  // Another organization: 403, with or without admin rights.
  await expectStatus(b2b.organizations.update({ organization_id: orgB.organization_id, organization_name: "hijacked" }, asMember), 403);
  await expectStatus(b2b.organizations.delete({ organization_id: orgB.organization_id }, { authorization: { session_jwt: res.session_jwt } }), 403);
  // Its own organization, not an admin: may not change settings or other members.
  await expectStatus(b2b.organizations.update({ organization_id: orgA.organization_id, mfa_policy: "REQUIRED_FOR_ALL" }, asMember), 403);
  await expectStatus(b2b.organizations.members.update({ organization_id: orgA.organization_id, member_id: other.member_id, name: "x" }, asMember), 403);
  assert.equal((await b2b.organizations.get({ organization_id: orgB.organization_id })).organization.organization_name, "SDK rbac-b");
  assert.equal((await b2b.organizations.get({ organization_id: orgA.organization_id })).organization.mfa_policy, "OPTIONAL");
  // The secret alone may.
  const ok = await b2b.organizations.update({ organization_id: orgB.organization_id, organization_name: "renamed" });
  assert.equal(ok.organization.organization_name, "renamed");
  // authorization_check naming another organization: 403.
  await expectStatus(b2b.sessions.authenticate({ session_token: res.session_token, authorization_check: { organization_id: orgB.organization_id, resource_id: "stytch.member", action: "update" } }), 403);
  // Built-in roles: a member may act on itself, not on other members.
  const self = await b2b.sessions.authenticate({ session_token: res.session_token, authorization_check: { organization_id: orgA.organization_id, resource_id: "stytch.self", action: "update" } });
  assert.deepEqual(self.verdict, { authorized: true, granting_roles: ["stytch_member"] });
  await expectStatus(b2b.sessions.authenticate({ session_token: res.session_token, authorization_check: { organization_id: orgA.organization_id, resource_id: "stytch.member", action: "update" } }), 403);

  // An admin of A (stytch_admin granted by the secret) may change A's settings and members with its session.
  const promoted = await b2b.organizations.members.update({ organization_id: orgA.organization_id, member_id: other.member_id, roles: ["stytch_admin"] });
  assert.equal(promoted.member.is_admin, true);
  const adminLogin = (await primaryByLink(orgA, other.email_address)).res;
  assert.ok(adminLogin.member_session.roles.includes("stytch_admin"), JSON.stringify(adminLogin.member_session.roles));
  const asAdmin = { authorization: { session_jwt: adminLogin.session_jwt } };
  const changed = await b2b.organizations.update({ organization_id: orgA.organization_id, organization_name: "renamed by admin" }, asAdmin);
  assert.equal(changed.organization.organization_name, "renamed by admin");
  const renamed = await b2b.organizations.members.update({ organization_id: orgA.organization_id, member_id: res.member_id, name: "set by admin" }, asAdmin);
  assert.equal(renamed.member.name, "set by admin");
  const adminCheck = await b2b.sessions.authenticate({ session_token: adminLogin.session_token, authorization_check: { organization_id: orgA.organization_id, resource_id: "stytch.member", action: "delete" } });
  assert.equal(adminCheck.verdict.authorized, true);
  assert.ok(adminCheck.verdict.granting_roles.includes("stytch_admin"));
  // ...but still nothing in B.
  await expectStatus(b2b.organizations.update({ organization_id: orgB.organization_id, organization_name: "x" }, asAdmin), 403);
  await b2b.sessions.revoke({ session_token: res.session_token });
  await b2b.sessions.revoke({ member_id: other.member_id }, asAdmin);
});

test("b2b MFA guards: an enrolled member cannot send to a new phone unproven; an IST of another member or organization is refused", async () => {
  const orgA = await newOrg("guard-a", { mfa_policy: "REQUIRED_FOR_ALL" });
  const orgB = await newOrg("guard-b", { mfa_policy: "REQUIRED_FOR_ALL" });
  const email = h.uniqueEmail("b2b-guard");
  const phone = h.uniquePhone();
  const a = await newMember(orgA, email, { mfa_phone_number: phone, mfa_enrolled: true });
  const b = await newMember(orgB, email);
  const other = await newMember(orgA, h.uniqueEmail("b2b-guard-other"));

  // Anti-bypass: the member has an MFA phone, so a code to another number needs a proven factor.
  const attacker = h.uniquePhone();
  await expectStatus(b2b.otps.sms.send({ organization_id: orgA.organization_id, member_id: a.member_id, mfa_phone_number: attacker }), "4xx");
  assert.equal(await h.count(attacker), 0, "a code went to the attacker's phone");
  const still = await b2b.organizations.members.get({ organization_id: orgA.organization_id, member_id: a.member_id });
  assert.equal(still.member.mfa_phone_number, phone);

  // The member's primary factor in A: an IST (the phone is not verified yet,
  // so no code goes out at once); the IST proves the factor for a send.
  const { res } = await primaryByLink(orgA, email);
  assert.equal(res.member_authenticated, false);
  assert.ok(res.mfa_required);
  const ist = res.intermediate_session_token;
  const seen = await h.count(phone);
  await b2b.otps.sms.send({ organization_id: orgA.organization_id, member_id: a.member_id, intermediate_session_token: ist });
  const code = await h.nextCode(phone, seen);

  // That IST does not serve another member of A, nor the same email's member in B.
  const otherPhone = h.uniquePhone();
  await b2b.otps.sms.send({ organization_id: orgA.organization_id, member_id: other.member_id, mfa_phone_number: otherPhone });
  const otherCode = await h.nextCode(otherPhone);
  await expectStatus(b2b.otps.sms.authenticate({ organization_id: orgA.organization_id, member_id: other.member_id, intermediate_session_token: ist, code: otherCode }), "4xx");
  const bPhone = h.uniquePhone();
  await b2b.otps.sms.send({ organization_id: orgB.organization_id, member_id: b.member_id, mfa_phone_number: bPhone });
  const bCode = await h.nextCode(bPhone);
  await expectStatus(b2b.otps.sms.authenticate({ organization_id: orgB.organization_id, member_id: b.member_id, intermediate_session_token: ist, code: bCode }), "4xx");
  const bNow = await b2b.organizations.members.get({ organization_id: orgB.organization_id, member_id: b.member_id });
  assert.equal(bNow.member.mfa_phone_number_verified, false);

  // The IST still completes its own member's login.
  const done = await b2b.otps.sms.authenticate({ organization_id: orgA.organization_id, member_id: a.member_id, intermediate_session_token: ist, code });
  assert.equal(done.member_session.member_id, a.member_id);
  assert.equal(done.member_session.organization_id, orgA.organization_id);
  await b2b.sessions.revoke({ member_id: a.member_id });
});

test("b2b otps.email as the primary factor; magicLinks.email.invite then authenticate activates; PKCE", async () => {
  const org = await newOrg("emailotp");
  const email = h.uniqueEmail("b2b-eotp");
  const member = await newMember(org, email);
  const sent = await b2b.otps.email.loginOrSignup({ organization_id: org.organization_id, email_address: email });
  assert.equal(sent.status_code, 200);
  assert.equal(sent.member_id, member.member_id);
  const code = await h.nextCode(email);
  await h.expectStytchError(b2b.otps.email.authenticate({ organization_id: org.organization_id, email_address: email, code: code === "000001" ? "000002" : "000001" }), 404, "otp_code_not_found");
  const res = await b2b.otps.email.authenticate({ organization_id: org.organization_id, email_address: email, code });
  assert.equal(res.member_authenticated, true);
  assert.equal(res.member_id, member.member_id);
  h.assertMemberSession(res.member_session);
  assert.deepEqual(res.member_session.authentication_factors.map((f) => [f.type, f.delivery_method]), [["otp", "email"]]);
  await b2b.sessions.revoke({ session_token: res.session_token });

  // invite → invited; the link activates the member.
  const invitee = h.uniqueEmail("b2b-invite");
  const inv = await b2b.magicLinks.email.invite({ organization_id: org.organization_id, email_address: invitee, name: "Ivy", invite_redirect_url: REDIRECT });
  assert.equal(inv.status_code, 200);
  assert.equal(inv.member.status, "invited");
  assert.equal(inv.member.name, "Ivy");
  const link = await h.nextB2BLink(invitee);
  const accepted = await b2b.magicLinks.authenticate({ magic_links_token: link.token });
  assert.equal(accepted.member_id, inv.member_id);
  assert.equal(accepted.member.status, "active");
  assert.equal(accepted.member_authenticated, true);
  await expectStatus(b2b.magicLinks.email.invite({ organization_id: org.organization_id, email_address: invitee }), "4xx");
  await b2b.sessions.revoke({ session_token: accepted.session_token });

  // PKCE: the link authenticates only with the right verifier.
  const crypto = require("node:crypto");
  const verifier = crypto.randomBytes(32).toString("base64url");
  const challenge = crypto.createHash("sha256").update(verifier).digest("base64url");
  await b2b.magicLinks.email.loginOrSignup({ organization_id: org.organization_id, email_address: email, pkce_code_challenge: challenge });
  const pk = await h.nextB2BLink(email, 1);
  await expectStatus(b2b.magicLinks.authenticate({ magic_links_token: pk.token, pkce_code_verifier: "wrong-verifier-wrong-verifier-wrong-verifier" }), "4xx");
  const pres = await b2b.magicLinks.authenticate({ magic_links_token: pk.token, pkce_code_verifier: verifier });
  assert.equal(pres.member_authenticated, true);
  await b2b.sessions.revoke({ session_token: pres.session_token });
});

test("b2b members: deleteMFAPhoneNumber, delete then reactivate, dangerouslyGet; B2B JWKS", async () => {
  const org = await newOrg("lifecycle");
  const phone = h.uniquePhone();
  const m = await newMember(org, h.uniqueEmail("b2b-life"), { mfa_phone_number: phone, name: "Lin" });
  assert.equal(m.mfa_phone_number, phone);
  const cleared = await b2b.organizations.members.deleteMFAPhoneNumber({ organization_id: org.organization_id, member_id: m.member_id });
  assert.equal(cleared.member.mfa_phone_number, "");
  assert.equal(cleared.member.mfa_phone_number_verified, false);

  await b2b.organizations.members.delete({ organization_id: org.organization_id, member_id: m.member_id });
  const deleted = await b2b.organizations.members.dangerouslyGet({ member_id: m.member_id, include_deleted: true });
  assert.equal(deleted.member.status, "deleted");
  assert.equal(deleted.organization.organization_id, org.organization_id);
  const back = await b2b.organizations.members.reactivate({ organization_id: org.organization_id, member_id: m.member_id });
  assert.equal(back.member.status, "active");
  assert.equal(back.member.name, "Lin");
  const got = await b2b.organizations.members.dangerouslyGet({ member_id: m.member_id });
  assert.equal(got.member.status, "active");
  await h.expectStytchError(b2b.organizations.members.get({ organization_id: org.organization_id, member_id: "member-test-00000000-0000-4000-8000-000000000000" }), 404, "member_not_found");

  const jwks = await b2b.sessions.getJWKS({ project_id: h.PROJECT_ID });
  assert.ok(jwks.keys.length >= 1);
  for (const k of jwks.keys) {
    assert.equal(k.kty, "RSA");
    assert.equal(k.alg, "RS256");
    assert.equal(k.d, undefined, "private key material in the JWKS");
  }
});
