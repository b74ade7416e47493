package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func wantProjectErr(t *testing.T, err error, code auth.Code) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

// twoReplicas returns two services on the same database, each with its own
// pool and cache, both watching project changes.
func twoReplicas(t *testing.T) (*auth.Service, *auth.Service) {
	t.Helper()
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	var svcs [2]*auth.Service
	for i := range svcs {
		db, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		svcs[i] = auth.NewService(db, &authtest.Publisher{}, keys, jwt.New(db, keys, jwt.Options{}), nil, nil, auth.Config{SendLimit: 7})
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); svcs[i].WatchProjects(ctx, ready) }()
		t.Cleanup(func() { cancel(); <-done })
		<-ready
	}
	return svcs[0], svcs[1]
}

// eventually polls f until it is true or 5 s pass (the bound on a change
// reaching another replica).
func projEventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("%s did not happen within 5 s", what)
}

func TestProjects_CreateRotateRevokeAcrossReplicas(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := t.Context()
	info, sec1, secret1, err := a.CreateProject(ctx, auth.CreateProjectInput{Name: "Shop", Environment: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ID, "project-live-") || !strings.HasPrefix(secret1, "secret-live-") || !strings.HasPrefix(sec1.ID, "project-secret-live-") {
		t.Fatalf("ids %q %q %q", info.ID, sec1.ID, secret1)
	}
	// Both replicas accept the first secret (and cache it).
	for _, s := range []*auth.Service{a, b} {
		if p, err := s.AuthenticateBasic(ctx, info.ID, secret1); err != nil || p.ID != info.ID {
			t.Fatalf("basic = %v, %v", p, err)
		}
		if p, err := s.AuthenticateBearer(ctx, secret1); err != nil || p.ID != info.ID {
			t.Fatalf("bearer = %v, %v", p, err)
		}
	}
	// Rotation: a second secret works at once next to the first.
	sec2, secret2, err := a.CreateProjectSecret(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{secret1, secret2} {
		if _, err := b.AuthenticateBasic(ctx, info.ID, secret); err != nil {
			t.Fatalf("secret %s refused during rotation: %v", secret[:12], err)
		}
	}
	list, err := b.ListProjectSecrets(ctx, info.ID)
	if err != nil || len(list) != 2 || list[0].ID != sec1.ID || list[1].ID != sec2.ID || list[0].LastUsedAt == nil {
		t.Fatalf("secrets = %+v, %v", list, err)
	}
	// Revoking through a makes b refuse the cached secret within the bound.
	if err := a.RevokeProjectSecret(ctx, info.ID, sec1.ID); err != nil {
		t.Fatal(err)
	}
	projEventually(t, "revocation on the other replica", func() bool {
		_, err := b.AuthenticateBasic(ctx, info.ID, secret1)
		return err != nil
	})
	_, err = b.AuthenticateBearer(ctx, secret1)
	wantProjectErr(t, err, auth.EUnauthorized)
	if _, err := b.AuthenticateBasic(ctx, info.ID, secret2); err != nil {
		t.Fatalf("remaining secret refused: %v", err)
	}
	wantProjectErr(t, a.RevokeProjectSecret(ctx, info.ID, sec1.ID), auth.ENotFound)
	// A secret of one project is no credential of another.
	other, _, otherSecret, err := a.CreateProject(ctx, auth.CreateProjectInput{Name: "Other", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.AuthenticateBasic(ctx, info.ID, otherSecret)
	wantProjectErr(t, err, auth.EUnauthorized)
	wantProjectErr(t, a.RevokeProjectSecret(ctx, other.ID, sec2.ID), auth.ENotFound)
	// Deleting the project ends its secrets everywhere.
	if err := b.DeleteProject(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	projEventually(t, "deletion on the other replica", func() bool {
		_, err := a.AuthenticateBasic(ctx, info.ID, secret2)
		return err != nil
	})
	_, err = a.GetProject(ctx, info.ID)
	wantProjectErr(t, err, auth.ENotFound)
}

func TestProjects_SettingsChangeReachesOtherReplica(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := t.Context()
	info, _, secret, err := a.CreateProject(ctx, auth.CreateProjectInput{Name: "App", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.AuthenticateBasic(ctx, info.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.SettingsOf(ctx, p).SendLimit; got != 0 {
		t.Fatalf("send limit before = %d", got)
	}
	per := 0
	if _, err := a.UpdateProject(ctx, info.ID, auth.UpdateProjectInput{Settings: &auth.Settings{SendLimit: 2, SendLimitPerIP: &per, SMSAllowedCountries: []string{"us"}}}); err != nil {
		t.Fatal(err)
	}
	projEventually(t, "the new settings on the other replica", func() bool { return b.SettingsOf(ctx, p).SendLimit == 2 })
	if got := b.SettingsOf(ctx, p).SMSAllowedCountries; len(got) != 1 || got[0] != "US" {
		t.Fatalf("countries = %v", got)
	}
}

func TestProjects_RefusesInvalidInput(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	neg := -1
	tests := []struct {
		name  string
		in    auth.CreateProjectInput
		field string
	}{
		{"ErrNoName", auth.CreateProjectInput{Environment: "test"}, "name"},
		{"ErrLongName", auth.CreateProjectInput{Name: strings.Repeat("n", 129), Environment: "test"}, "name"},
		{"ErrEnvironment", auth.CreateProjectInput{Name: "x", Environment: "prod"}, "environment"},
		{"ErrScriptRedirect", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{RedirectURLs: []auth.RedirectURL{{URL: "javascript:alert(1)", ValidTypes: []auth.RedirectURLType{{Type: "login"}}}}}}, "redirect_urls.url"},
		{"ErrRedirectType", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{RedirectURLs: []auth.RedirectURL{{URL: "https://a.example/cb", ValidTypes: []auth.RedirectURLType{{Type: "reset"}}}}}}, "redirect_urls.valid_types.type"},
		{"ErrTwoDefaults", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{RedirectURLs: []auth.RedirectURL{
			{URL: "https://a.example/cb", ValidTypes: []auth.RedirectURLType{{Type: "login", IsDefault: true}}},
			{URL: "https://b.example/cb", ValidTypes: []auth.RedirectURLType{{Type: "login", IsDefault: true}}}}}}, "redirect_urls.valid_types.is_default"},
		{"ErrCountry", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{SMSAllowedCountries: []string{"USA"}}}, "sms_allowed_countries"},
		{"ErrSendLimit", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{SendLimit: -3}}, "send_limit"},
		{"ErrSendLimitPerIP", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{SendLimitPerIP: &neg}}, "send_limit_per_ip"},
		{"ErrSendWindow", auth.CreateProjectInput{Name: "x", Environment: "test", Settings: &auth.Settings{SendWindowSeconds: 99999999}}, "send_window_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := env.Service.CreateProject(ctx, tt.in)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Code != auth.EInvalid || ae.Field != tt.field {
				t.Fatalf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
	list, err := env.Service.ListProjects(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("a refused create left %d projects (%v)", len(list), err)
	}
	_, err = env.Service.UpdateProject(ctx, "project-test-missing", auth.UpdateProjectInput{Name: ptr("x")})
	wantProjectErr(t, err, auth.ENotFound)
	_, _, err = env.Service.CreateProjectSecret(ctx, "project-test-missing")
	wantProjectErr(t, err, auth.ENotFound)
	wantProjectErr(t, env.Service.DeleteProject(ctx, "project-test-missing"), auth.ENotFound)
}

func TestProjects_BootstrapKeepsOtherSecrets(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	sec, extra, err := env.Service.CreateProjectSecret(ctx, env.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Re-applying the same bootstrap secret changes nothing; a new one
	// replaces only the bootstrap secret.
	if err := env.Service.EnsureProject(ctx, env.Project.ID, env.Secret); err != nil {
		t.Fatal(err)
	}
	newBoot := "secret-test-" + auth.NewToken()
	if err := env.Service.EnsureProject(ctx, env.Project.ID, newBoot); err != nil {
		t.Fatal(err)
	}
	for secret, ok := range map[string]bool{env.Secret: false, newBoot: true, extra: true} {
		_, err := env.Service.AuthenticateBasic(ctx, env.Project.ID, secret)
		if (err == nil) != ok {
			t.Errorf("secret %s: err = %v, want accepted %v", secret[:14], err, ok)
		}
	}
	list, err := env.Service.ListProjectSecrets(ctx, env.Project.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("secrets = %+v, %v", list, err)
	}
	for _, s := range list {
		if s.Bootstrap == (s.ID == sec.ID) {
			t.Errorf("secret %s: bootstrap = %v", s.ID, s.Bootstrap)
		}
	}
}

func TestProjects_AdminKeyIsNoProjectSecret(t *testing.T) {
	env := authtest.New(t)
	adminKey := strings.Repeat("k", 40)
	wantProjectErr(t, env.Service.SetAdminKey("short"), auth.EInvalid)
	wantProjectErr(t, env.Service.AuthenticateAdmin(adminKey), auth.EUnauthorized) // off until set
	if err := env.Service.SetAdminKey(adminKey); err != nil {
		t.Fatal(err)
	}
	if err := env.Service.AuthenticateAdmin(adminKey); err != nil {
		t.Fatalf("admin key refused: %v", err)
	}
	wantProjectErr(t, env.Service.AuthenticateAdmin(env.Secret), auth.EUnauthorized)
	wantProjectErr(t, env.Service.AuthenticateAdmin(adminKey+"x"), auth.EUnauthorized)
	_, err := env.Service.AuthenticateBearer(t.Context(), adminKey)
	wantProjectErr(t, err, auth.EUnauthorized)
	wantProjectErr(t, env.Service.EnsureProject(t.Context(), "project-test-x", adminKey), auth.EInvalid)
}

func TestProjects_RedirectURLsRegisteredPerType(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	st := auth.Settings{RedirectURLs: []auth.RedirectURL{
		{URL: "https://app.example/login", ValidTypes: []auth.RedirectURLType{{Type: "LOGIN", IsDefault: true}, {Type: "discovery"}}},
		{URL: "https://app.example/welcome", ValidTypes: []auth.RedirectURLType{{Type: "signup", IsDefault: true}, {Type: "invite", IsDefault: true}}},
		{URL: "myapp://auth", ValidTypes: []auth.RedirectURLType{{Type: "login"}}},
	}}
	if _, err := env.Service.UpdateProject(ctx, env.Project.ID, auth.UpdateProjectInput{Settings: &st}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, login, signup string
		wantErr             string // field
		wantBase            string
	}{
		{"OKDefault", "", "", "", "https://app.example/login?"},
		{"OKRegisteredWithQuery", "https://app.example/login?next=/cart", "", "", "https://app.example/login?next=%2Fcart&"},
		{"OKAppScheme", "myapp://auth", "", "", "myapp://auth?"},
		{"ErrUnregistered", "https://evil.example/login", "", "login_magic_link_url", ""},
		{"ErrWrongType", "https://app.example/welcome", "", "login_magic_link_url", ""},
		{"ErrOtherPath", "https://app.example/login/x", "", "login_magic_link_url", ""},
		{"ErrLocalhostOutsideDev", "http://localhost:3000/cb", "", "login_magic_link_url", ""},
		{"ErrSignupUnregistered", "", "https://app.example/login", "signup_magic_link_url", ""},
		{"ErrScript", "javascript:alert(1)", "", "login_magic_link_url", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := "redirect" + string(rune('a'+i)) + "@example.com"
			if _, err := env.Service.CreateUser(ctx, env.Project, auth.CreateUserInput{Email: email}); err != nil {
				t.Fatal(err)
			}
			_, err := env.Service.SendMagicLink(ctx, env.Project, auth.SendMagicLinkInput{Email: email, LoginURL: tt.login, SignupURL: tt.signup})
			if tt.wantErr != "" {
				var ae *auth.Error
				if !errors.As(err, &ae) || ae.Field != tt.wantErr {
					t.Fatalf("err = %v, want invalid %s", err, tt.wantErr)
				}
				if ev := env.Publisher.Last(email, auth.KindMagicLink); ev != nil {
					t.Fatalf("a refused link was sent: %s", ev.URL)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev := env.Publisher.Last(email, auth.KindMagicLink); ev == nil || !strings.HasPrefix(ev.URL, tt.wantBase) {
				t.Fatalf("link = %v, want prefix %s", ev, tt.wantBase)
			}
		})
	}
	// Dev mode lets localhost through; the invite default is the project's.
	env.Service.SetDevMode(true)
	if _, err := env.Service.SendMagicLink(ctx, env.Project, auth.SendMagicLinkInput{Email: "dev@example.com", LoginOrCreate: true, SignupURL: "http://localhost:3000/cb"}); err != nil {
		t.Fatalf("dev localhost: %v", err)
	}
	if _, err := env.Service.InviteMagicLink(ctx, env.Project, auth.InviteInput{Email: "invitee@example.com"}); err != nil {
		t.Fatal(err)
	}
	if ev := env.Publisher.Last("invitee@example.com", auth.KindMagicLink); ev == nil || !strings.HasPrefix(ev.URL, "https://app.example/welcome?") {
		t.Fatalf("invite link = %v", ev)
	}
}

// TestProjects_SettingsAddNoRoundTrip: once a request has authenticated
// (which loads the project's settings in the same statement), resolving
// the project and its settings again costs no database round trip, and a
// send in a project with registered redirect URLs and its own limits costs
// exactly what one in a project without settings does.
func TestProjects_SettingsAddNoRoundTrip(t *testing.T) {
	c := &stmtCounter{}
	db := pgtest.MustOpenDB(t, postgres.WithTracer(c))
	keys, err := auth.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(db, &authtest.Publisher{}, keys, jwt.New(db, keys, jwt.Options{}), nil, nil, auth.Config{SendLimit: 1000})
	ctx := t.Context()
	plain, _, plainSecret, err := svc.CreateProject(ctx, auth.CreateProjectInput{Name: "Plain", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	set, _, setSecret, err := svc.CreateProject(ctx, auth.CreateProjectInput{Name: "Set", Environment: "test", Settings: &auth.Settings{
		SendLimit: 900, SMSAllowedCountries: []string{"US"},
		RedirectURLs: []auth.RedirectURL{{URL: "https://app.example/cb", ValidTypes: []auth.RedirectURLType{{Type: "login", IsDefault: true}, {Type: "signup"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	sendCost := func(id, secret, url string, i int) cost {
		var p *auth.Project
		first := c.count(t, func() (err error) { p, err = svc.AuthenticateBasic(ctx, id, secret); return err })
		if first.trips != 1 {
			t.Fatalf("first authentication = %d round trips, want 1 (secret and settings together)", first.trips)
		}
		if again := c.count(t, func() error { _, err := svc.AuthenticateBasic(ctx, id, secret); return err }); again.trips != 0 {
			t.Fatalf("cached authentication = %d round trips", again.trips)
		}
		if st := c.count(t, func() error { svc.SettingsOf(ctx, p); return nil }); st.trips != 0 {
			t.Fatalf("cached settings = %d round trips", st.trips)
		}
		email := fmt.Sprintf("cost%d@example.com", i)
		if _, err := svc.SendMagicLink(ctx, p, auth.SendMagicLinkInput{Email: email, LoginOrCreate: true}); err != nil { // warm-up: creates the user
			t.Fatal(err)
		}
		return c.count(t, func() error {
			_, err := svc.SendMagicLink(ctx, p, auth.SendMagicLinkInput{Email: email, LoginURL: url})
			return err
		})
	}
	cPlain := sendCost(plain.ID, plainSecret, "", 1)
	cSet := sendCost(set.ID, setSecret, "https://app.example/cb?x=1", 2)
	if cSet != cPlain {
		t.Fatalf("send with settings = %+v, without = %+v", cSet, cPlain)
	}
}

// BenchmarkProjectResolve measures resolving a project from its secret
// and reading its send limits and redirect rules, the per-request cost of
// projects on a send or verify once the process has seen the secret (0
// database round trips; compare with a one-row Postgres query, ~100 µs).
func BenchmarkProjectResolve(b *testing.B) {
	env := authtest.New(b)
	ctx := context.Background()
	if _, err := env.Service.UpdateProject(ctx, env.Project.ID, auth.UpdateProjectInput{Settings: &auth.Settings{SendLimit: 9, SMSAllowedCountries: []string{"US"}}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := env.Service.AuthenticateBasic(ctx, env.Project.ID, env.Secret)
		if err != nil {
			b.Fatal(err)
		}
		if env.Service.SettingsOf(ctx, p).SendLimit != 9 {
			b.Fatal("settings not applied")
		}
	}
}

// TestProjects_RedirectURLsB2BAndDiscovery: the B2B login/signup and
// discovery links obey the project's registered URLs per type, and use the
// type's default when the request names none.
func TestProjects_RedirectURLsB2BAndDiscovery(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	st := auth.Settings{RedirectURLs: []auth.RedirectURL{
		{URL: "https://b2b.example/login", ValidTypes: []auth.RedirectURLType{{Type: "login", IsDefault: true}, {Type: "signup", IsDefault: true}}},
		{URL: "https://b2b.example/discover", ValidTypes: []auth.RedirectURLType{{Type: "discovery", IsDefault: true}}},
	}}
	if _, err := env.Service.UpdateProject(ctx, env.Project.ID, auth.UpdateProjectInput{Settings: &st}); err != nil {
		t.Fatal(err)
	}
	o, err := env.Service.CreateOrganization(ctx, env.Project, auth.OrganizationInput{Name: ptr("Acme"), Slug: ptr("acme-redirects")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.CreateMember(ctx, env.Project, o.ID, auth.MemberInput{EmailAddress: ptr("a@b2b.example")}, auth.Caller{}); err != nil {
		t.Fatal(err)
	}
	field := func(err error) string {
		var ae *auth.Error
		if errors.As(err, &ae) {
			return ae.Field
		}
		return ""
	}
	_, err = env.Service.B2BLoginOrSignup(ctx, env.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: "a@b2b.example", LoginURL: "https://b2b.example/discover"})
	if field(err) != "login_redirect_url" {
		t.Fatalf("B2B login to a discovery-only URL: %v", err)
	}
	_, err = env.Service.B2BLoginOrSignup(ctx, env.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: "a@b2b.example", SignupURL: "https://evil.example/"})
	if field(err) != "signup_redirect_url" {
		t.Fatalf("B2B signup to an unregistered URL: %v", err)
	}
	if _, err := env.Service.B2BLoginOrSignup(ctx, env.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: "a@b2b.example"}); err != nil {
		t.Fatal(err)
	}
	if ev := env.Publisher.Last("a@b2b.example", auth.KindMagicLink); ev == nil || !strings.HasPrefix(ev.URL, "https://b2b.example/login?") {
		t.Fatalf("B2B link = %v, want the project's default", ev)
	}
	err = env.Service.SendDiscoveryMagicLink(ctx, env.Project, auth.DiscoverySendInput{EmailAddress: "d@b2b.example", RedirectURL: "https://b2b.example/login"})
	if field(err) != "discovery_redirect_url" {
		t.Fatalf("discovery to a login-only URL: %v", err)
	}
	if err := env.Service.SendDiscoveryMagicLink(ctx, env.Project, auth.DiscoverySendInput{EmailAddress: "d@b2b.example"}); err != nil {
		t.Fatal(err)
	}
	if ev := env.Publisher.Last("d@b2b.example", auth.KindMagicLink); ev == nil || !strings.HasPrefix(ev.URL, "https://b2b.example/discover?") {
		t.Fatalf("discovery link = %v, want the project's default", ev)
	}
}
