package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/admin"
	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// tenant is one project of the isolation walk and what was made in it
// through both dialects.
type tenant struct {
	id, secret string
	// Stytch dialect
	userID, emailID, phoneID, sessionID, sessionToken, sessionJWT string
	pendingPhoneID, pendingCode, pendingLink                      string
	orgID, memberID                                               string
	// Streambird dialect
	sbUserID, sbEmailID, sbSessionToken, sbSessionJWT string
	sbPendingEmailID, sbPendingCode, sbPendingLink    string
	messageID                                         string
}

type walker struct {
	t   *testing.T
	srv *httptest.Server
	env *authtest.Env
}

// call sends a request with "basic" (Stytch), "bearer" (Streambird and
// operator) or no credentials of tenant c, and returns status and body.
func (w *walker) call(c *tenant, authKind, method, path string, body any) (int, map[string]any) {
	w.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	switch authKind {
	case "basic":
		req.SetBasicAuth(c.id, c.secret)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+c.secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (w *walker) ok(c *tenant, authKind, method, path string, body any) map[string]any {
	w.t.Helper()
	st, out := w.call(c, authKind, method, path, body)
	if st != 200 && st != 201 {
		w.t.Fatalf("%s %s as %s = %d %v", method, path, c.id, st, out)
	}
	return out
}

func s(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	str, _ := v.(string)
	return str
}

// fill makes users, sessions, pending codes and links, an organization
// and a member in tenant c, through both dialects.
func (w *walker) fill(c *tenant, n int) {
	email, phone := fmt.Sprintf("iso%d@example.com", n), fmt.Sprintf("+1415555%04d", n)
	u := w.ok(c, "basic", "POST", "/v1/users", map[string]any{"email": email, "phone_number": phone})
	c.userID, c.emailID, c.phoneID = s(u, "user_id"), s(u, "email_id"), s(u, "phone_id")
	w.ok(c, "basic", "POST", "/v1/otps/sms/send", map[string]any{"phone_number": phone})
	login := w.ok(c, "basic", "POST", "/v1/otps/authenticate", map[string]any{"method_id": c.phoneID, "code": w.env.LastCode(phone), "session_duration_minutes": 60})
	c.sessionID, c.sessionToken, c.sessionJWT = s(login, "session", "session_id"), s(login, "session_token"), s(login, "session_jwt")
	// A pending code and link that the walk must not burn.
	pendingPhone := fmt.Sprintf("+1415666%04d", n)
	sent := w.ok(c, "basic", "POST", "/v1/otps/sms/login_or_create", map[string]any{"phone_number": pendingPhone})
	c.pendingPhoneID, c.pendingCode = s(sent, "phone_id"), w.env.LastCode(pendingPhone)
	w.ok(c, "basic", "POST", "/v1/magic_links/email/send", map[string]any{"email": email})
	c.pendingLink = w.env.LastToken(email)
	org := w.ok(c, "basic", "POST", "/v1/b2b/organizations", map[string]any{"organization_name": "Org " + c.id[:16], "organization_slug": fmt.Sprintf("org-%d", n)})
	c.orgID = s(org, "organization", "organization_id")
	m := w.ok(c, "basic", "POST", "/v1/b2b/organizations/"+c.orgID+"/members", map[string]any{"email_address": fmt.Sprintf("member%d@example.com", n)})
	c.memberID = s(m, "member", "member_id")

	sbEmail := fmt.Sprintf("sb%d@example.com", n)
	su := w.ok(c, "bearer", "POST", "/v1/auth/users/create", map[string]any{"email": sbEmail})
	c.sbUserID = s(su, "user_id")
	so := w.ok(c, "bearer", "POST", "/v1/auth/otps/email/send", map[string]any{"email": sbEmail})
	c.sbEmailID = s(so, "email_id")
	v := w.ok(c, "bearer", "POST", "/v1/auth/otps/verify", map[string]any{"method_id": c.sbEmailID, "otp": w.env.LastCode(sbEmail), "session_expires_in": 60})
	c.sbSessionToken, c.sbSessionJWT = s(v, "session_token"), s(v, "session_jwt")
	pendingEmail := fmt.Sprintf("sbpending%d@example.com", n)
	po := w.ok(c, "bearer", "POST", "/v1/auth/otps/email/login_or_create", map[string]any{"email": pendingEmail})
	c.sbPendingEmailID, c.sbPendingCode = s(po, "email_id"), w.env.LastCode(pendingEmail)
	w.ok(c, "bearer", "POST", "/v1/auth/magic_links/email/login_or_create", map[string]any{"email": sbEmail})
	c.sbPendingLink = w.env.LastToken(sbEmail)
	c.messageID = s(po, "message_id")
	if c.messageID == "" {
		msgs := w.ok(c, "bearer", "GET", "/v1/messages", nil)
		if list, _ := msgs["messages"].([]any); len(list) > 0 {
			c.messageID = s(list[0].(map[string]any), "message_id")
		}
	}
	for name, v := range map[string]string{"user": c.userID, "session": c.sessionToken, "jwt": c.sessionJWT, "code": c.pendingCode, "link": c.pendingLink,
		"org": c.orgID, "member": c.memberID, "sb user": c.sbUserID, "sb session": c.sbSessionToken, "sb code": c.sbPendingCode, "sb link": c.sbPendingLink, "message": c.messageID} {
		if v == "" {
			w.t.Fatalf("fill %s: no %s", c.id, name)
		}
	}
}

// TestIsolationWalk creates three projects (two test, one live), fills
// each through both dialects, then calls every route that takes an id,
// token, code, link, session, JWT or message with each project's
// credentials against the other two projects' values: every call is
// refused (4xx) and afterwards each project's codes, links and sessions
// still work for their owner. The admin API refuses project secrets and
// the admin key is no project secret.
func TestIsolationWalk(t *testing.T) {
	env := authtest.New(t)
	const adminKey = "admin-key-0123456789abcdef0123456789"
	if err := env.Service.SetAdminKey(adminKey); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/auth/", streambird.NewHandler(env.Service, streambird.Options{}))
	mux.Handle("/v1/", stytch.NewHandler(env.Service, stytch.Options{}))
	ops := operator.NewHandler(env.Service, operator.Options{})
	mux.Handle("/v1/messages", ops)
	mux.Handle("/v1/messages/", ops)
	mux.Handle("/v1/admin/", admin.NewHandler(env.Service, admin.Options{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	w := &walker{t: t, srv: srv, env: env}

	var tenants []*tenant
	for i, e := range []string{"test", "test", "live"} {
		info, _, secret, err := env.Service.CreateProject(t.Context(), auth.CreateProjectInput{Name: fmt.Sprintf("Tenant %d", i), Environment: e})
		if err != nil {
			t.Fatal(err)
		}
		c := &tenant{id: info.ID, secret: secret}
		w.fill(c, i+1)
		tenants = append(tenants, c)
	}

	// control marks the read-only steps, which first must succeed for
	// their owner: so a refusal in the walk is the project boundary, not
	// a malformed request.
	type step struct {
		auth, method, path string
		body               any
		control            bool
	}
	steps := func(v *tenant) []step {
		return []step{
			{"basic", "GET", "/v1/users/" + v.userID, nil, true},
			{"basic", "PUT", "/v1/users/" + v.userID, map[string]any{"name": map[string]any{"first_name": "Mallory"}}, false},
			{"basic", "DELETE", "/v1/users/emails/" + v.emailID, map[string]any{}, false},
			{"basic", "DELETE", "/v1/users/phone_numbers/" + v.phoneID, map[string]any{}, false},
			{"basic", "POST", "/v1/otps/authenticate", map[string]any{"method_id": v.pendingPhoneID, "code": v.pendingCode}, false},
			{"basic", "POST", "/v1/magic_links/authenticate", map[string]any{"token": v.pendingLink}, false},
			{"basic", "POST", "/v1/sessions/authenticate", map[string]any{"session_token": v.sessionToken}, true},
			{"basic", "POST", "/v1/sessions/authenticate", map[string]any{"session_jwt": v.sessionJWT}, true},
			{"basic", "POST", "/v1/sessions/revoke", map[string]any{"session_id": v.sessionID}, false},
			{"basic", "POST", "/v1/sessions/revoke", map[string]any{"session_token": v.sessionToken}, false},
			{"basic", "POST", "/v1/magic_links", map[string]any{"user_id": v.userID}, false},
			{"basic", "POST", "/v1/otps/sms/send", map[string]any{"phone_number": "+14157770000", "user_id": v.userID}, false},
			{"basic", "GET", "/v1/b2b/organizations/" + v.orgID, nil, true},
			{"basic", "POST", "/v1/b2b/organizations/" + v.orgID, map[string]any{"organization_name": "Stolen"}, false},
			{"basic", "PUT", "/v1/b2b/organizations/" + v.orgID + "/members/" + v.memberID, map[string]any{"name": "Mallory"}, false},
			{"basic", "DELETE", "/v1/b2b/organizations/" + v.orgID + "/members/" + v.memberID, map[string]any{}, false},
			{"basic", "GET", "/v1/b2b/organizations/members/dangerously_get/" + v.memberID, nil, true},
			{"basic", "POST", "/v1/b2b/magic_links/email/login_or_signup", map[string]any{"organization_id": v.orgID, "email_address": "x@example.com"}, false},
			{"basic", "DELETE", "/v1/b2b/organizations/" + v.orgID, map[string]any{}, false},
			{"bearer", "GET", "/v1/auth/users/" + v.sbUserID, nil, true},
			{"bearer", "POST", "/v1/auth/users/" + v.sbUserID + "/update", map[string]any{"first_name": "Mallory"}, false},
			{"bearer", "POST", "/v1/auth/otps/verify", map[string]any{"method_id": v.sbPendingEmailID, "otp": v.sbPendingCode}, false},
			{"bearer", "POST", "/v1/auth/magic_links/verify", map[string]any{"token": v.sbPendingLink}, false},
			{"bearer", "POST", "/v1/auth/sessions/verify", map[string]any{"session_token": v.sbSessionToken}, true},
			{"bearer", "POST", "/v1/auth/sessions/verify", map[string]any{"session_jwt": v.sbSessionJWT}, true},
			{"bearer", "DELETE", "/v1/auth/sessions/delete", map[string]any{"session_token": v.sbSessionToken}, false},
			{"bearer", "DELETE", "/v1/auth/users/emails/" + v.sbEmailID + "/delete", map[string]any{}, false},
			{"bearer", "GET", "/v1/messages/" + v.messageID, nil, true},
			{"bearer", "POST", "/v1/messages/" + v.messageID + "/replay", map[string]any{}, false},
			{"basic", "GET", "/v1/messages/" + v.messageID, nil, true},
			// Credentials mixing: another project's id with this one's secret.
			{"mixed", "GET", "/v1/users/" + v.userID, nil, false},
			// The admin API refuses every project credential.
			{"bearer", "GET", "/v1/admin/projects/" + v.id, nil, false},
			{"basic", "POST", "/v1/admin/projects/" + v.id + "/secrets", map[string]any{}, false},
			{"bearer", "DELETE", "/v1/admin/projects/" + v.id, map[string]any{}, false},
			{"bearer", "DELETE", "/v1/auth/users/" + v.sbUserID + "/delete", map[string]any{}, false},
			{"basic", "DELETE", "/v1/users/" + v.userID, map[string]any{}, false},
		}
	}
	controls := 0
	for _, v := range tenants {
		for _, st := range steps(v) {
			if st.control {
				w.ok(v, st.auth, st.method, st.path, st.body)
				controls++
			}
		}
	}
	if controls != 30 {
		t.Fatalf("%d control calls, want 30", controls)
	}
	calls := 0
	for _, attacker := range tenants {
		for _, victim := range tenants {
			if attacker == victim {
				continue
			}
			for _, st := range steps(victim) {
				caller, kind := attacker, st.auth
				if kind == "mixed" {
					caller, kind = &tenant{id: victim.id, secret: attacker.secret}, "basic"
				}
				status, out := w.call(caller, kind, st.method, st.path, st.body)
				calls++
				if status < 400 || status >= 500 {
					t.Errorf("%s %s by %s against %s = %d %v, want a refusal", st.method, st.path, attacker.id, victim.id, status, out)
				}
			}
		}
	}
	// The admin key is no project secret, in either dialect.
	for _, v := range tenants {
		for _, kind := range []string{"basic", "bearer"} {
			status, _ := w.call(&tenant{id: v.id, secret: adminKey}, kind, "GET", map[string]string{"basic": "/v1/users/" + v.userID, "bearer": "/v1/auth/users/" + v.sbUserID}[kind], nil)
			calls++
			if status != 401 {
				t.Errorf("admin key as a %s project credential = %d, want 401", kind, status)
			}
		}
	}
	t.Logf("%d cross-project calls, all refused", calls)

	// Nothing changed: each owner still uses its pending code and link,
	// its sessions, users, organization and member.
	for _, v := range tenants {
		w.ok(v, "basic", "GET", "/v1/users/"+v.userID, nil)
		if got := w.ok(v, "basic", "GET", "/v1/users/"+v.userID, nil); s(got, "name", "first_name") == "Mallory" {
			t.Errorf("%s: user renamed by another project", v.id)
		}
		w.ok(v, "basic", "POST", "/v1/otps/authenticate", map[string]any{"method_id": v.pendingPhoneID, "code": v.pendingCode})
		w.ok(v, "basic", "POST", "/v1/magic_links/authenticate", map[string]any{"token": v.pendingLink})
		w.ok(v, "basic", "POST", "/v1/sessions/authenticate", map[string]any{"session_token": v.sessionToken})
		if got := w.ok(v, "basic", "GET", "/v1/b2b/organizations/"+v.orgID, nil); s(got, "organization", "organization_name") == "Stolen" {
			t.Errorf("%s: organization renamed by another project", v.id)
		}
		w.ok(v, "basic", "GET", "/v1/b2b/organizations/members/dangerously_get/"+v.memberID, nil)
		w.ok(v, "bearer", "GET", "/v1/auth/users/"+v.sbUserID, nil)
		w.ok(v, "bearer", "POST", "/v1/auth/otps/verify", map[string]any{"method_id": v.sbPendingEmailID, "otp": v.sbPendingCode})
		w.ok(v, "bearer", "POST", "/v1/auth/magic_links/verify", map[string]any{"token": v.sbPendingLink})
		w.ok(v, "bearer", "POST", "/v1/auth/sessions/verify", map[string]any{"session_token": v.sbSessionToken})
		w.ok(v, "bearer", "GET", "/v1/messages/"+v.messageID, nil)
		if list, err := env.Service.ListProjectSecrets(t.Context(), v.id); err != nil || len(list) != 1 {
			t.Errorf("%s: %d secrets after the walk (%v)", v.id, len(list), err)
		}
	}
	if !strings.HasPrefix(tenants[2].id, "project-live-") {
		t.Errorf("third tenant %s is not live", tenants[2].id)
	}
}
