package stytch_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame/internal/landing"
)

// TestScannedMagicLinksStillWorkForTheirUsers mails every kind of magic
// link (consumer login and invite, B2B login, invite and discovery), lets a
// scripted mail scanner open every link in every mail with GET, HEAD and a
// prefetch GET before the user, then authenticates each link: a scanner
// must never consume a link.
func TestScannedMagicLinksStillWorkForTheirUsers(t *testing.T) {
	f := newFixture(t)
	c := f.c
	// The api as deployed: the landing page plus the Stytch routes (links
	// point at the landing page or at the app's redirect URL).
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+landing.Path, landing.Handler)
	mux.Handle("/", f.h)

	login, invite := uniqueEmail("scan-login"), uniqueEmail("scan-invite")
	c.ok("POST", "/v1/magic_links/email/login_or_create", obj{"email": login})
	c.ok("POST", "/v1/magic_links/email/invite", obj{"email": invite})
	org := flowOrg(t, c, obj{"email_invites": "ALL_ALLOWED"})
	orgID := str(org, "organization_id")
	member, memberInvite, discover := uniqueEmail("scan-member"), uniqueEmail("scan-minvite"), uniqueEmail("scan-discover")
	flowMember(t, c, orgID, member)
	c.ok("POST", "/v1/b2b/magic_links/email/login_or_signup", obj{"organization_id": orgID, "email_address": member})
	c.ok("POST", "/v1/b2b/magic_links/email/invite", obj{"organization_id": orgID, "email_address": memberInvite})
	c.ok("POST", "/v1/b2b/magic_links/email/discovery/send", obj{"email_address": discover})

	// The scanner follows every link of every mail, three ways.
	scanned := 0
	for _, ev := range f.env.Events() {
		if ev.URL == "" {
			continue
		}
		u, err := url.Parse(ev.URL)
		if err != nil {
			t.Fatalf("mailed URL %q: %v", ev.URL, err)
		}
		for _, req := range []struct{ method, purpose string }{{"GET", ""}, {"HEAD", ""}, {"GET", "prefetch"}} {
			r := httptest.NewRequest(req.method, u.RequestURI(), nil)
			if req.purpose != "" {
				r.Header.Set("Purpose", req.purpose)
				r.Header.Set("Sec-Purpose", req.purpose)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if u.Path == landing.Path && w.Code != http.StatusOK {
				t.Fatalf("scanner %s %s: %d, want the landing page", req.method, u.Path, w.Code)
			}
			if w.Code >= 500 {
				t.Fatalf("scanner %s %s: %d", req.method, u.Path, w.Code)
			}
		}
		scanned++
	}
	if scanned != 5 {
		t.Fatalf("scanner opened %d mailed links, want 5", scanned)
	}

	// Each user then authenticates the link they received.
	tok := func(email string) string {
		tk := f.env.LastToken(email)
		if tk == "" {
			t.Fatalf("no link mailed to %s", email)
		}
		return tk
	}
	for _, tc := range []struct{ name, path, field, email string }{
		{"consumer login", "/v1/magic_links/authenticate", "token", login},
		{"consumer invite", "/v1/magic_links/authenticate", "token", invite},
		{"B2B login", "/v1/b2b/magic_links/authenticate", "magic_links_token", member},
		{"B2B invite", "/v1/b2b/magic_links/authenticate", "magic_links_token", memberInvite},
		{"B2B discovery", "/v1/b2b/magic_links/discovery/authenticate", "discovery_magic_links_token", discover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.ok("POST", tc.path, obj{tc.field: tok(tc.email)})
		})
	}
}
