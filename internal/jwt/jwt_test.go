package jwt_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// testStore is the part of auth.Store the tests use.
type testStore interface {
	auth.KeyStore
	EnsureProject(ctx context.Context, id string, secretHash []byte) error
}

// clock is a settable time source shared by the store and the signers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	ctx     context.Context
	store   testStore
	keyring *auth.Keyring
	clock   *clock
	signer  *jwt.Signer
	project string
}

func newKeyring(t testing.TB) *auth.Keyring {
	t.Helper()
	kr, err := auth.ParseKeyring(auth.MustGenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestSigner runs every test of the package as a parallel subtest on one
// database (each on its own projects), since creating a database is slow.
func TestSigner(t *testing.T) {
	dsn := newDatabase(t)
	for _, tc := range []struct {
		name string
		test func(t *testing.T, dsn string)
	}{
		{"SignSession_ParseSessionJWT_RoundTripReturnsSessionID", testSignSession_ParseSessionJWT_RoundTripReturnsSessionID},
		{"SignSession_HeaderAndClaimsAreStytchs", testSignSession_HeaderAndClaimsAreStytchs},
		{"SignSession_NoFactorsIsEmptyArray", testSignSession_NoFactorsIsEmptyArray},
		{"StytchFactor_HasOneDetailObjectPerDeliveryMethod", testStytchFactor_HasOneDetailObjectPerDeliveryMethod},
		{"ParseSessionJWT_AcceptsExpiredAndSlightlyEarlyJWTs", testParseSessionJWT_AcceptsExpiredAndSlightlyEarlyJWTs},
		{"ParseSessionJWT_RejectsInvalidJWTs", testParseSessionJWT_RejectsInvalidJWTs},
		{"ParseSessionJWT_ProjectWithoutKeysIsInvalidAndCreatesNone", testParseSessionJWT_ProjectWithoutKeysIsInvalidAndCreatesNone},
		{"JWKS_PublishesVerifyOnlyRS256Keys", testJWKS_PublishesVerifyOnlyRS256Keys},
		{"JWKS_EveryCallGetsItsOwnCopy", testJWKS_EveryCallGetsItsOwnCopy},
		{"JWKS_IsCachedForCacheTTL", testJWKS_IsCachedForCacheTTL},
		{"Rotate_OldJWTsVerifyUntilRetireAfter", testRotate_OldJWTsVerifyUntilRetireAfter},
		{"SignSession_RotatesCurrentKeyOlderThanRotateEvery", testSignSession_RotatesCurrentKeyOlderThanRotateEvery},
		{"ParseSessionJWT_FindsKeyRotatedInByAnotherProcess", testParseSessionJWT_FindsKeyRotatedInByAnotherProcess},
		{"SigningKeys_PrivateKeysAreStoredEncrypted", testSigningKeys_PrivateKeysAreStoredEncrypted},
		{"SignSession_ConcurrentFirstUseYieldsOneKeySet", testSignSession_ConcurrentFirstUseYieldsOneKeySet},
		{"JWKS_KeysOfOtherProjectsAreSeparate", testJWKS_KeysOfOtherProjectsAreSeparate},
		{"Rotate_ProjectWithoutKeysGetsCurrentAndNext", testRotate_ProjectWithoutKeysGetsCurrentAndNext},
		{"MissingProjectFailsWithStoreError", testMissingProjectFailsWithStoreError},
		{"IsReservedClaim_NamesRegisteredAndSessionClaims", testIsReservedClaim_NamesRegisteredAndSessionClaims},
		{"SignSession_MemberSessionHasOrganizationClaimMemberSubAndRoles", testSignSession_MemberSessionHasOrganizationClaimMemberSubAndRoles},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, dsn)
		})
	}
}

func newDatabase(tb testing.TB) string {
	tb.Helper()
	dsn, err := pgtest.NewDatabase(tb)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// newEnv returns a Signer on a store handle of the database dsn whose
// clock is the env's.
func newEnv(t testing.TB, dsn string) *env {
	t.Helper()
	c := newClock()
	db, err := postgres.Open(context.Background(), dsn, postgres.WithClock(c.Now), postgres.WithMaxConns(4))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(db.Close)
	e := &env{ctx: context.Background(), store: db, keyring: newKeyring(t), clock: c}
	e.signer = e.newSigner()
	e.project = e.newProject(t)
	return e
}

// newSigner returns another Signer on the same store, keyring and clock,
// as another process would have.
func (e *env) newSigner() *jwt.Signer {
	return jwt.New(e.store, e.keyring, jwt.Options{Now: e.clock.Now})
}

func (e *env) newProject(t testing.TB) string {
	t.Helper()
	id := "project-test-" + auth.NewUUID()
	if err := e.store.EnsureProject(e.ctx, id, []byte(id)); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) session(project string) *auth.Session {
	now := e.clock.Now()
	return &auth.Session{
		ID:             auth.NewID(auth.PrefixSession, &auth.Project{ID: project}),
		ProjectID:      project,
		UserID:         auth.NewID(auth.PrefixUser, &auth.Project{ID: project}),
		StartedAt:      now.Add(-time.Hour),
		LastAccessedAt: now,
		ExpiresAt:      now.Add(time.Hour),
		Attributes:     auth.Attributes{IPAddress: "203.0.113.1", UserAgent: "Mozilla/5.0"},
		CustomClaims:   map[string]any{},
	}
}

func (e *env) sign(t testing.TB, s *auth.Session) string {
	t.Helper()
	tok, err := e.signer.SignSession(e.ctx, s)
	if err != nil {
		t.Fatalf("SignSession: %v", err)
	}
	return tok
}

func (e *env) keysByState(t testing.TB, project string) map[auth.SigningKeyState][]string {
	t.Helper()
	rows, err := e.store.SigningKeys(e.ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	out := map[auth.SigningKeyState][]string{}
	for _, r := range rows {
		out[r.State] = append(out[r.State], r.ID)
	}
	return out
}

// currentKey decrypts the project's current private key from the store.
func (e *env) currentKey(t testing.TB, project string) (*rsa.PrivateKey, string) {
	t.Helper()
	rows, err := e.store.SigningKeys(e.ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.State != auth.KeyCurrent {
			continue
		}
		der, err := e.keyring.Decrypt(r.PrivateEnc, []byte(r.ID))
		if err != nil {
			t.Fatal(err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return k.(*rsa.PrivateKey), r.ID
	}
	t.Fatal("no current key")
	return nil, ""
}

// jwks fetches and decodes the project's JWKS.
func (e *env) jwks(t testing.TB, project string) (raw []byte, doc struct{ Keys []map[string]any }) {
	t.Helper()
	raw, err := e.signer.JWKS(e.ctx, project)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	return raw, doc
}

func kids(doc struct{ Keys []map[string]any }) []string {
	var out []string
	for _, k := range doc.Keys {
		out = append(out, fmt.Sprint(k["kid"]))
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// decode returns a JWT's header and payload without verifying it.
func decode(t testing.TB, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return header, payload
}

// rawJWT builds a compact JWS from a header and payload, signed by sign.
func rawJWT(t testing.TB, header, payload map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

// joseSign signs payload with go-jose using any algorithm and key.
func joseSign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, payload map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantCode(t testing.TB, err error, code auth.Code) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err = %v, want *auth.Error with code %s", err, code)
	}
}

func testSignSession_ParseSessionJWT_RoundTripReturnsSessionID(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	now := e.clock.Now()
	tests := []struct {
		name   string
		modify func(s *auth.Session)
	}{
		{"minimal session", func(s *auth.Session) {}},
		{"session with factors", func(s *auth.Session) {
			s.Factors = []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: now}}
		}},
		{"session with custom claims", func(s *auth.Session) {
			s.CustomClaims = map[string]any{"claim1": "value1", "n": 3.5, "nested": map[string]any{"a": []any{1, "b"}}}
		}},
		{"nil custom claims", func(s *auth.Session) { s.CustomClaims = nil }},
		{"empty attributes", func(s *auth.Session) { s.Attributes = auth.Attributes{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.session(e.project)
			tt.modify(s)
			tok := e.sign(t, s)
			got, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok)
			if err != nil {
				t.Fatalf("ParseSessionJWT: %v", err)
			}
			if got != s.ID {
				t.Fatalf("session id = %q, want %q", got, s.ID)
			}
			// Another process with the same store verifies it too.
			if got, err := e.newSigner().ParseSessionJWT(e.ctx, e.project, tok); err != nil || got != s.ID {
				t.Fatalf("other signer: %q, %v", got, err)
			}
		})
	}
}

func testSignSession_HeaderAndClaimsAreStytchs(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	now := e.clock.Now()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	s := e.session(e.project)
	s.Factors = []auth.Factor{
		{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: at(-2 * time.Minute), CreatedAt: at(-3 * time.Minute), UpdatedAt: at(-2 * time.Minute)},
		{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail, MethodID: "email-test-1", Value: "ada@example.com", LastAuthenticatedAt: at(-time.Minute), CreatedAt: at(-time.Minute), UpdatedAt: at(-time.Minute)},
	}
	s.CustomClaims = map[string]any{
		"claim1": "value1",
		"nested": map[string]any{"a": 1},
		// Reserved names are ignored.
		"iss": "evil", "sub": "evil", "aud": "evil", "exp": 1, "nbf": 1, "iat": 1, "jti": "evil",
		"https://stytch.com/session": "evil",
	}
	tok := e.sign(t, s)
	header, payload := decode(t, tok)

	kid, _ := header["kid"].(string)
	if want := map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}; !reflect.DeepEqual(header, want) {
		t.Errorf("header = %v, want %v", header, want)
	}
	if !strings.HasPrefix(kid, "jwk-test-") {
		t.Errorf("kid = %q, want jwk-test-<uuid>", kid)
	}
	_, doc := e.jwks(t, e.project)
	if !contains(kids(doc), kid) {
		t.Errorf("kid %q not in JWKS %v", kid, kids(doc))
	}

	num := func(k string) int64 {
		n, err := payload[k].(json.Number).Int64()
		if err != nil {
			t.Fatalf("%s = %v: %v", k, payload[k], err)
		}
		return n
	}
	if got, want := payload["iss"], "stytch.com/"+e.project; got != want {
		t.Errorf("iss = %v, want %v", got, want)
	}
	if got, want := payload["aud"], []any{e.project}; !reflect.DeepEqual(got, want) {
		t.Errorf("aud = %#v, want %#v", got, want)
	}
	if got := payload["sub"]; got != s.UserID {
		t.Errorf("sub = %v, want %v", got, s.UserID)
	}
	if iat := num("iat"); iat != now.Unix() || num("nbf") != iat || num("exp")-iat != 300 {
		t.Errorf("iat/nbf/exp = %d/%d/%d, want %d, iat, iat+300", iat, num("nbf"), num("exp"), now.Unix())
	}
	if _, ok := payload["jti"]; ok {
		t.Errorf("jti set from custom claims")
	}
	if got := payload["claim1"]; got != "value1" {
		t.Errorf("claim1 = %v", got)
	}
	if got, want := payload["nested"], map[string]any{"a": json.Number("1")}; !reflect.DeepEqual(got, want) {
		t.Errorf("nested = %#v", got)
	}
	wantKeys := sorted("iss", "aud", "sub", "iat", "nbf", "exp", "https://stytch.com/session", "claim1", "nested")
	var gotKeys []string
	for k := range payload {
		gotKeys = append(gotKeys, k)
	}
	if sort.Strings(gotKeys); !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Errorf("payload keys = %v, want %v", gotKeys, wantKeys)
	}

	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	wantSession := map[string]any{
		"id":               s.ID,
		"started_at":       ts(-time.Hour),
		"last_accessed_at": ts(0),
		"expires_at":       ts(time.Hour),
		"attributes":       map[string]any{"ip_address": "203.0.113.1", "user_agent": "Mozilla/5.0"},
		"authentication_factors": []any{
			map[string]any{
				"type": "otp", "delivery_method": "sms",
				"last_authenticated_at": ts(-2 * time.Minute), "created_at": ts(-3 * time.Minute), "updated_at": ts(-2 * time.Minute),
				"phone_number_factor": map[string]any{"phone_id": "phone-number-test-1", "phone_number": "+12025550162"},
			},
			map[string]any{
				"type": "magic_link", "delivery_method": "email",
				"last_authenticated_at": ts(-time.Minute), "created_at": ts(-time.Minute), "updated_at": ts(-time.Minute),
				"email_factor": map[string]any{"email_id": "email-test-1", "email_address": "ada@example.com"},
			},
		},
		"roles": []any{"stytch_user"},
	}
	if got := payload["https://stytch.com/session"]; !reflect.DeepEqual(got, wantSession) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(wantSession, "", "  ")
		t.Errorf("session claim =\n%s\nwant\n%s", g, w)
	}
	if !strings.HasSuffix(wantSession["expires_at"].(string), "Z") {
		t.Errorf("expires_at not UTC")
	}
}

func testSignSession_NoFactorsIsEmptyArray(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	_, payload := decode(t, e.sign(t, e.session(e.project)))
	sc := payload["https://stytch.com/session"].(map[string]any)
	if got, ok := sc["authentication_factors"].([]any); !ok || len(got) != 0 {
		t.Fatalf("authentication_factors = %#v, want []", sc["authentication_factors"])
	}
}

func testStytchFactor_HasOneDetailObjectPerDeliveryMethod(t *testing.T, dsn string) {
	at := time.Date(2023, 11, 14, 22, 13, 20, 500, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		in   auth.Factor
		want string
	}{
		{
			"email otp gives email_factor",
			auth.Factor{Type: "otp", DeliveryMethod: "email", MethodID: "email-test-1", Value: "a@example.com", LastAuthenticatedAt: at, CreatedAt: at, UpdatedAt: at},
			`{"created_at":"2023-11-14T21:13:20Z","delivery_method":"email","email_factor":{"email_address":"a@example.com","email_id":"email-test-1"},"last_authenticated_at":"2023-11-14T21:13:20Z","type":"otp","updated_at":"2023-11-14T21:13:20Z"}`,
		},
		{
			"email magic link gives email_factor",
			auth.Factor{Type: "magic_link", DeliveryMethod: "email", MethodID: "email-test-1", Value: "a@example.com", LastAuthenticatedAt: at},
			`{"delivery_method":"email","email_factor":{"email_address":"a@example.com","email_id":"email-test-1"},"last_authenticated_at":"2023-11-14T21:13:20Z","type":"magic_link"}`,
		},
		{
			"sms otp gives phone_number_factor",
			auth.Factor{Type: "otp", DeliveryMethod: "sms", MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: at},
			`{"delivery_method":"sms","last_authenticated_at":"2023-11-14T21:13:20Z","phone_number_factor":{"phone_id":"phone-number-test-1","phone_number":"+12025550162"},"type":"otp"}`,
		},
		{
			"whatsapp otp gives phone_number_factor",
			auth.Factor{Type: "otp", DeliveryMethod: "whatsapp", MethodID: "phone-number-test-1", Value: "+12025550162"},
			`{"delivery_method":"whatsapp","phone_number_factor":{"phone_id":"phone-number-test-1","phone_number":"+12025550162"},"type":"otp"}`,
		},
		{
			"embedded magic link gives embeddable_magic_link_factor",
			auth.Factor{Type: "magic_link", DeliveryMethod: "embedded", MethodID: "magic-link-test-1"},
			`{"delivery_method":"embedded","embeddable_magic_link_factor":{"embedded_id":"magic-link-test-1"},"type":"magic_link"}`,
		},
		{
			"unknown delivery method gives no detail",
			auth.Factor{Type: "oauth", DeliveryMethod: "oauth_google"},
			`{"delivery_method":"oauth_google","type":"oauth"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(jwt.StytchFactor(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func testParseSessionJWT_AcceptsExpiredAndSlightlyEarlyJWTs(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	s := e.session(e.project)
	tok := e.sign(t, s)
	priv, kid := e.currentKey(t, e.project)
	now := e.clock.Now()
	claims := func(nbf time.Time) map[string]any {
		return map[string]any{
			"iss": "stytch.com/" + e.project, "aud": e.project, "sub": s.UserID,
			"iat": nbf.Unix(), "nbf": nbf.Unix(), "exp": nbf.Unix() + 300,
			"https://stytch.com/session": map[string]any{"id": s.ID},
		}
	}
	tests := []struct {
		name    string
		token   string
		advance time.Duration
	}{
		{"fresh JWT", tok, 0},
		{"JWT expired an hour ago", tok, time.Hour},
		{"nbf 20s in the future (within leeway), aud as string", joseSign(t, jose.RS256, priv, kid, "JWT", claims(now.Add(20*time.Second))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			defer e.clock.Advance(-tt.advance)
			got, err := e.signer.ParseSessionJWT(e.ctx, e.project, tt.token)
			if err != nil || got != s.ID {
				t.Fatalf("ParseSessionJWT = %q, %v; want %q", got, err, s.ID)
			}
		})
	}
}

func testParseSessionJWT_RejectsInvalidJWTs(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	other := e.newProject(t)
	s := e.session(e.project)
	tok := e.sign(t, s)
	otherTok := e.sign(t, e.session(other))
	priv, kid := e.currentKey(t, e.project)
	now := e.clock.Now()

	good := func() map[string]any {
		return map[string]any{
			"iss": "stytch.com/" + e.project, "aud": []string{e.project}, "sub": s.UserID,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 300,
			"https://stytch.com/session": map[string]any{"id": s.ID},
		}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &priv.PublicKey)})
	parts := strings.Split(tok, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}

	tests := []struct {
		name  string
		token string
	}{
		{"empty token", ""},
		{"garbage", "not.a.jwt"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"tampered payload", parts[0] + "." + flip(parts[1]) + "." + parts[2]},
		{"other project's JWT", otherTok},
		{"HS256 with the public key as secret", joseSign(t, jose.HS256, pubPEM, kid, "JWT", good())},
		{"HS256 with the DER public key as secret", joseSign(t, jose.HS256, mustPKIX(t, &priv.PublicKey), kid, "JWT", good())},
		{"alg none", rawJWT(t, map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}, good(), func([]byte) []byte { return nil })},
		{"PS256 with the right key", joseSign(t, jose.PS256, priv, kid, "JWT", good())},
		{"typ missing", joseSign(t, jose.RS256, priv, kid, "", good())},
		{"typ not JWT", joseSign(t, jose.RS256, priv, kid, "at+jwt", good())},
		{"kid missing", joseSign(t, jose.RS256, priv, "", "JWT", good())},
		{"kid unknown", joseSign(t, jose.RS256, priv, "jwk-test-"+auth.NewUUID(), "JWT", good())},
		{"wrong issuer", joseSign(t, jose.RS256, priv, kid, "JWT", with("iss", "stytch.com/"+other))},
		{"issuer missing", joseSign(t, jose.RS256, priv, kid, "JWT", with("iss", nil))},
		{"wrong audience", joseSign(t, jose.RS256, priv, kid, "JWT", with("aud", []string{other}))},
		{"audience missing", joseSign(t, jose.RS256, priv, kid, "JWT", with("aud", nil))},
		{"nbf 31s in the future", joseSign(t, jose.RS256, priv, kid, "JWT", with("nbf", now.Unix()+31))},
		{"iat an hour in the future", joseSign(t, jose.RS256, priv, kid, "JWT", with("iat", now.Unix()+3600))},
		{"session claim missing", joseSign(t, jose.RS256, priv, kid, "JWT", with("https://stytch.com/session", nil))},
		{"session id empty", joseSign(t, jose.RS256, priv, kid, "JWT", with("https://stytch.com/session", map[string]any{"id": ""}))},
		{"session claim not an object", joseSign(t, jose.RS256, priv, kid, "JWT", with("https://stytch.com/session", "x"))},
		{"sub missing", joseSign(t, jose.RS256, priv, kid, "JWT", with("sub", nil))},
		{"exp not a number", joseSign(t, jose.RS256, priv, kid, "JWT", with("exp", "soon"))},
		{"JWS JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.signer.ParseSessionJWT(e.ctx, e.project, tt.token)
			if got != "" {
				t.Errorf("session id = %q, want empty", got)
			}
			wantCode(t, err, auth.EJWTInvalid)
		})
	}
	// The project's own JWT is fine, so the failures above are the tampering.
	if _, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil {
		t.Fatalf("untampered JWT: %v", err)
	}
}

func mustPKIX(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testParseSessionJWT_ProjectWithoutKeysIsInvalidAndCreatesNone(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	tok := e.sign(t, e.session(e.project))
	empty := e.newProject(t)
	_, err := e.signer.ParseSessionJWT(e.ctx, empty, tok)
	wantCode(t, err, auth.EJWTInvalid)
	if got := e.keysByState(t, empty); len(got) != 0 {
		t.Fatalf("keys created by ParseSessionJWT: %v", got)
	}
}

func testJWKS_PublishesVerifyOnlyRS256Keys(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	raw, doc := e.jwks(t, e.project)
	if len(doc.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want current and next", len(doc.Keys))
	}
	for _, k := range doc.Keys {
		var names []string
		for n := range k {
			names = append(names, n)
		}
		sort.Strings(names)
		if want := sorted("kty", "use", "key_ops", "alg", "kid", "n", "e"); !reflect.DeepEqual(names, want) {
			t.Errorf("key fields = %v, want %v", names, want)
		}
		if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["e"] != "AQAB" ||
			!reflect.DeepEqual(k["key_ops"], []any{"verify"}) {
			t.Errorf("key = %v", k)
		}
		n, err := base64.RawURLEncoding.DecodeString(k["n"].(string))
		if err != nil || len(n) != 256 {
			t.Errorf("n is %d bytes (%v), want 256 unpadded base64url", len(n), err)
		}
	}
	if bytes.Contains(raw, []byte(`"d"`)) || bytes.Contains(raw, []byte(`"p"`)) {
		t.Fatalf("JWKS leaks private parameters")
	}

	// A remote verifier (as jose's createRemoteJWKSet + jwtVerify) checks a
	// JWT against the document alone.
	s := e.session(e.project)
	tok := e.sign(t, s)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Headers[0]
	if h.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Fatalf("typ = %v", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || keys[0].Use != "sig" || keys[0].Algorithm != "RS256" {
		t.Fatalf("JWKS keys for kid %q: %+v", h.KeyID, keys)
	}
	var c josejwt.Claims
	if err := parsed.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("verify with JWKS key: %v", err)
	}
	if err := c.ValidateWithLeeway(josejwt.Expected{Issuer: "stytch.com/" + e.project, AnyAudience: josejwt.Audience{e.project}, Time: e.clock.Now()}, 0); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

func testJWKS_EveryCallGetsItsOwnCopy(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	a, _ := e.jwks(t, e.project)
	want := append([]byte(nil), a...)
	clear(a)
	if b, _ := e.jwks(t, e.project); !bytes.Equal(b, want) {
		t.Fatalf("JWKS changed after a caller modified its copy")
	}
}

// countingStore counts SigningKeys reads.
type countingStore struct {
	testStore
	reads atomic.Int64
}

func (c *countingStore) SigningKeys(ctx context.Context, projectID string) ([]auth.SigningKey, error) {
	c.reads.Add(1)
	return c.testStore.SigningKeys(ctx, projectID)
}

func testJWKS_IsCachedForCacheTTL(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	cs := &countingStore{testStore: e.store}
	signer := jwt.New(cs, e.keyring, jwt.Options{Now: e.clock.Now, CacheTTL: time.Minute})
	first, err := signer.JWKS(e.ctx, e.project)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.SignSession(e.ctx, e.session(e.project))
	if err != nil {
		t.Fatal(err)
	}
	reads := cs.reads.Load()
	for i := 0; i < 5; i++ {
		if _, err := signer.JWKS(e.ctx, e.project); err != nil {
			t.Fatal(err)
		}
		if _, err := signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Second)
	}
	if got := cs.reads.Load(); got != reads {
		t.Fatalf("store read %d times within CacheTTL", got-reads)
	}
	e.clock.Advance(20 * time.Second) // one minute after the first call
	second, err := signer.JWKS(e.ctx, e.project)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.reads.Load(); got != reads+1 {
		t.Fatalf("store read %d times after CacheTTL, want 1", got-reads)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("JWKS changed without rotation")
	}
}

func testRotate_OldJWTsVerifyUntilRetireAfter(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	s := e.session(e.project)
	before := e.sign(t, s)
	h0, _ := decode(t, before)
	k1 := h0["kid"].(string)
	st := e.keysByState(t, e.project)
	if len(st[auth.KeyCurrent]) != 1 || len(st[auth.KeyNext]) != 1 || st[auth.KeyCurrent][0] != k1 {
		t.Fatalf("first keys = %v, want current %s and one next", st, k1)
	}
	k2 := st[auth.KeyNext][0]

	e.clock.Advance(time.Hour)
	if err := e.signer.Rotate(e.ctx, e.project); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	st = e.keysByState(t, e.project)
	if !reflect.DeepEqual(st[auth.KeyRetired], []string{k1}) || !reflect.DeepEqual(st[auth.KeyCurrent], []string{k2}) || len(st[auth.KeyNext]) != 1 {
		t.Fatalf("keys after Rotate = %v, want retired %s, current %s, one next", st, k1, k2)
	}
	k3 := st[auth.KeyNext][0]
	if _, doc := e.jwks(t, e.project); !reflect.DeepEqual(kids(doc), sorted(k1, k2, k3)) {
		t.Fatalf("JWKS kids = %v, want retired, current and next %v", kids(doc), sorted(k1, k2, k3))
	}
	after := e.sign(t, s)
	if h, _ := decode(t, after); h["kid"] != k2 {
		t.Fatalf("signed with %v after Rotate, want the former next key %s", h["kid"], k2)
	}
	for name, signer := range map[string]*jwt.Signer{"rotating signer": e.signer, "other signer": e.newSigner()} {
		for _, tok := range []string{before, after} {
			if id, err := signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil || id != s.ID {
				t.Fatalf("%s: ParseSessionJWT after Rotate = %q, %v", name, id, err)
			}
		}
	}

	e.clock.Advance(jwt.DefaultRetireAfter + time.Second)
	if _, doc := e.jwks(t, e.project); !reflect.DeepEqual(kids(doc), sorted(k2, k3)) {
		t.Fatalf("JWKS kids after RetireAfter = %v, want %v", kids(doc), sorted(k2, k3))
	}
	for name, signer := range map[string]*jwt.Signer{"rotating signer": e.signer, "other signer": e.newSigner()} {
		_, err := signer.ParseSessionJWT(e.ctx, e.project, before)
		wantCode(t, err, auth.EJWTInvalid)
		if _, err := signer.ParseSessionJWT(e.ctx, e.project, after); err != nil {
			t.Fatalf("%s: JWT of the current key: %v", name, err)
		}
	}
	// The next rotation deletes the expired key from the store.
	if err := e.signer.Rotate(e.ctx, e.project); err != nil {
		t.Fatal(err)
	}
	if st := e.keysByState(t, e.project); contains(st[auth.KeyRetired], k1) || !reflect.DeepEqual(st[auth.KeyRetired], []string{k2}) {
		t.Fatalf("keys after second Rotate = %v", st)
	}
}

func testSignSession_RotatesCurrentKeyOlderThanRotateEvery(t *testing.T, dsn string) {
	tests := []struct {
		name    string
		advance time.Duration
		rotated bool
	}{
		{"key younger than RotateEvery is kept", jwt.DefaultRotateEvery - time.Hour, false},
		{"key older than RotateEvery is rotated", jwt.DefaultRotateEvery + time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, dsn)
			s := e.session(e.project)
			before := e.sign(t, s)
			first := e.keysByState(t, e.project)
			e.clock.Advance(tt.advance)
			after := e.sign(t, s)
			h, _ := decode(t, after)
			st := e.keysByState(t, e.project)
			if !tt.rotated {
				if h["kid"] != first[auth.KeyCurrent][0] || !reflect.DeepEqual(st, first) {
					t.Fatalf("keys changed: %v → %v (signed with %v)", first, st, h["kid"])
				}
				return
			}
			if h["kid"] != first[auth.KeyNext][0] {
				t.Fatalf("signed with %v, want the former next key %s", h["kid"], first[auth.KeyNext][0])
			}
			if !reflect.DeepEqual(st[auth.KeyRetired], first[auth.KeyCurrent]) || len(st[auth.KeyNext]) != 1 {
				t.Fatalf("keys after rotation = %v (before %v)", st, first)
			}
			// The old JWT still parses (expired, retired key).
			if _, err := e.signer.ParseSessionJWT(e.ctx, e.project, before); err != nil {
				t.Fatalf("JWT of the retired key: %v", err)
			}
			// Rotation happens once, not on every call.
			e.sign(t, s)
			if again := e.keysByState(t, e.project); !reflect.DeepEqual(again, st) {
				t.Fatalf("rotated again: %v → %v", st, again)
			}
		})
	}
}

func testParseSessionJWT_FindsKeyRotatedInByAnotherProcess(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	s := e.session(e.project)
	e.sign(t, s) // e.signer caches current + next
	other := e.newSigner()
	for i := 0; i < 2; i++ { // the key that now signs was never in e.signer's cache
		if err := other.Rotate(e.ctx, e.project); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := other.SignSession(e.ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Second)
	if id, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil || id != s.ID {
		t.Fatalf("ParseSessionJWT = %q, %v", id, err)
	}
}

func testSigningKeys_PrivateKeysAreStoredEncrypted(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	_, doc := e.jwks(t, e.project)
	rows, err := e.store.SigningKeys(e.ctx, e.project)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d keys stored, want 2", len(rows))
	}
	published := map[string]string{}
	for _, k := range doc.Keys {
		published[k["kid"].(string)] = k["n"].(string)
	}
	otherRing := newKeyring(t)
	for _, r := range rows {
		der, err := e.keyring.Decrypt(r.PrivateEnc, []byte(r.ID))
		if err != nil {
			t.Fatalf("%s does not decrypt with the keyring: %v", r.ID, err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatalf("%s is not PKCS#8: %v", r.ID, err)
		}
		priv := k.(*rsa.PrivateKey)
		if priv.N.BitLen() != 2048 {
			t.Errorf("%s has %d bits", r.ID, priv.N.BitLen())
		}
		if n := base64.RawURLEncoding.EncodeToString(priv.N.Bytes()); published[r.ID] != n {
			t.Errorf("%s: stored key does not match the JWKS", r.ID)
		}
		for what, secret := range map[string][]byte{"PKCS#8 DER": der, "private exponent": priv.D.Bytes(), "prime": priv.Primes[0].Bytes(), "modulus": priv.N.Bytes()} {
			if bytes.Contains(r.PrivateEnc, secret) {
				t.Errorf("%s: stored bytes contain the %s", r.ID, what)
			}
		}
		if _, err := otherRing.Decrypt(r.PrivateEnc, []byte(r.ID)); err == nil {
			t.Errorf("%s decrypts with another keyring", r.ID)
		}
		if _, err := e.keyring.Decrypt(r.PrivateEnc, []byte("jwk-test-"+auth.NewUUID())); err == nil {
			t.Errorf("%s decrypts bound to another kid", r.ID)
		}
	}
	// A signer with the wrong keyring cannot use the keys and says so.
	_, err = jwt.New(e.store, otherRing, jwt.Options{Now: e.clock.Now}).SignSession(e.ctx, e.session(e.project))
	wantCode(t, err, auth.EInternal)
}

func testSignSession_ConcurrentFirstUseYieldsOneKeySet(t *testing.T, dsn string) {
	tests := []struct {
		name      string
		processes bool // one Signer per goroutine, as separate processes
	}{
		{"8 goroutines of one process", false},
		{"8 processes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, dsn)
			signers := make([]*jwt.Signer, 8)
			for i := range signers {
				signers[i] = e.signer
				if tt.processes {
					signers[i] = e.newSigner()
				}
			}
			s := e.session(e.project)
			toks := make([]string, len(signers))
			errs := make([]error, len(signers))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, sg := range signers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if i%2 == 1 {
						_, errs[i] = sg.JWKS(e.ctx, e.project)
					}
					if errs[i] == nil {
						toks[i], errs[i] = sg.SignSession(e.ctx, s)
					}
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("goroutine %d: %v", i, err)
				}
			}
			// The losers of the race (EConflict from the store) use the
			// winner's keys.
			st := e.keysByState(t, e.project)
			if len(st[auth.KeyCurrent]) != 1 || len(st[auth.KeyNext]) != 1 || len(st[auth.KeyRetired]) != 0 {
				t.Fatalf("stored keys = %v, want one current and one next", st)
			}
			for i, tok := range toks {
				if h, _ := decode(t, tok); h["kid"] != st[auth.KeyCurrent][0] {
					t.Fatalf("goroutine %d signed with %v, want %s", i, h["kid"], st[auth.KeyCurrent][0])
				}
			}
			// Every JWT verifies everywhere, and once caches expire every
			// process signs with the one current key.
			e.clock.Advance(jwt.DefaultCacheTTL)
			for i, sg := range signers {
				for j, tok := range toks {
					if id, err := sg.ParseSessionJWT(e.ctx, e.project, tok); err != nil || id != s.ID {
						t.Fatalf("signer %d, JWT %d: %q, %v", i, j, id, err)
					}
				}
				tok, err := sg.SignSession(e.ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				if h, _ := decode(t, tok); h["kid"] != st[auth.KeyCurrent][0] {
					t.Fatalf("signer %d signs with %v, want the stored current %s", i, h["kid"], st[auth.KeyCurrent][0])
				}
			}
		})
	}
}

func testJWKS_KeysOfOtherProjectsAreSeparate(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	other := e.newProject(t)
	_, a := e.jwks(t, e.project)
	_, b := e.jwks(t, other)
	for _, k := range kids(a) {
		if contains(kids(b), k) {
			t.Fatalf("kid %s in both projects' JWKS", k)
		}
	}
	live := "project-live-" + auth.NewUUID()
	if err := e.store.EnsureProject(e.ctx, live, []byte(live)); err != nil {
		t.Fatal(err)
	}
	_, l := e.jwks(t, live)
	for _, k := range kids(l) {
		if !strings.HasPrefix(k, "jwk-live-") {
			t.Fatalf("live project kid %s", k)
		}
	}
}

func testRotate_ProjectWithoutKeysGetsCurrentAndNext(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	if err := e.signer.Rotate(e.ctx, e.project); err != nil {
		t.Fatal(err)
	}
	st := e.keysByState(t, e.project)
	if len(st[auth.KeyCurrent]) != 1 || len(st[auth.KeyNext]) != 1 || len(st) != 2 {
		t.Fatalf("keys = %v, want one current and one next", st)
	}
	if h, _ := decode(t, e.sign(t, e.session(e.project))); h["kid"] != st[auth.KeyCurrent][0] {
		t.Fatalf("signed with %v, want %s", h["kid"], st[auth.KeyCurrent][0])
	}
}

func testMissingProjectFailsWithStoreError(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	missing := "project-test-" + auth.NewUUID()
	tests := []struct {
		name string
		call func() error
	}{
		{"SignSession", func() error { _, err := e.signer.SignSession(e.ctx, e.session(missing)); return err }},
		{"JWKS", func() error { _, err := e.signer.JWKS(e.ctx, missing); return err }},
		{"Rotate", func() error { return e.signer.Rotate(e.ctx, missing) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.call(), auth.ENotFound)
		})
	}
}

func testIsReservedClaim_NamesRegisteredAndSessionClaims(t *testing.T, dsn string) {
	for name, want := range map[string]bool{
		"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
		"https://stytch.com/session": true, "https://stytch.com/organization": true,
		"claim1": false, "": false, "ISS": false,
	} {
		if got := jwt.IsReservedClaim(name); got != want {
			t.Errorf("IsReservedClaim(%q) = %v, want %v", name, got, want)
		}
	}
}

func testSignSession_MemberSessionHasOrganizationClaimMemberSubAndRoles(t *testing.T, dsn string) {
	e := newEnv(t, dsn)
	p := &auth.Project{ID: e.project}
	member := func(roles []string) *auth.Session {
		s := e.session(e.project)
		s.ID = auth.NewID(auth.PrefixMemberSession, p)
		s.UserID = ""
		s.MemberID = auth.NewID(auth.PrefixMember, p)
		s.OrganizationID = auth.NewID(auth.PrefixOrganization, p)
		s.OrganizationSlug = "acme"
		s.Roles = roles
		s.CustomClaims = map[string]any{"https://stytch.com/organization": "evil", "claim1": "value1"}
		now := e.clock.Now()
		s.Factors = []auth.Factor{
			{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail, MethodID: "member-email-test-1", Value: "ada@acme.test", LastAuthenticatedAt: now},
			{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "member-phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: now},
		}
		return s
	}
	tests := []struct {
		name      string
		session   *auth.Session
		wantSub   func(s *auth.Session) string
		wantRoles []any
		wantOrg   bool
	}{
		{"MemberSessionAdminRoles", member([]string{"stytch_member", "stytch_admin"}), func(s *auth.Session) string { return s.MemberID }, []any{"stytch_member", "stytch_admin"}, true},
		{"MemberSessionWithoutRolesIsStytchMember", member(nil), func(s *auth.Session) string { return s.MemberID }, []any{"stytch_member"}, true},
		{"ConsumerSessionUnchanged", e.session(e.project), func(s *auth.Session) string { return s.UserID }, []any{"stytch_user"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.sign(t, tt.session)
			_, payload := decode(t, tok)
			if got := payload["sub"]; got != tt.wantSub(tt.session) {
				t.Errorf("sub = %v, want %v", got, tt.wantSub(tt.session))
			}
			sc := payload[jwt.SessionClaim].(map[string]any)
			if got := sc["roles"]; !reflect.DeepEqual(got, tt.wantRoles) {
				t.Errorf("roles = %#v, want %#v", got, tt.wantRoles)
			}
			org, ok := payload[jwt.OrganizationClaim]
			if ok != tt.wantOrg {
				t.Fatalf("organization claim present = %v, want %v (payload %v)", ok, tt.wantOrg, payload)
			}
			if tt.wantOrg {
				want := map[string]any{"organization_id": tt.session.OrganizationID, "slug": "acme"}
				if !reflect.DeepEqual(org, want) {
					t.Errorf("organization claim = %#v, want %#v", org, want)
				}
				if payload["claim1"] != "value1" {
					t.Errorf("claim1 = %v", payload["claim1"])
				}
				// Member factors carry their order, as the B2B API shows them.
				fs, _ := sc["authentication_factors"].([]any)
				var order []any
				for _, f := range fs {
					order = append(order, f.(map[string]any)["sequence_order"])
				}
				if want := []any{"PRIMARY", "SECONDARY"}; !reflect.DeepEqual(order, want) {
					t.Errorf("sequence_order = %v, want %v", order, want)
				}
			} else if fs, _ := sc["authentication_factors"].([]any); len(fs) > 0 {
				if _, ok := fs[0].(map[string]any)["sequence_order"]; ok {
					t.Errorf("consumer factor has sequence_order: %v", fs[0])
				}
			}
			// The JWT names the session for the service's lookup.
			if id, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil || id != tt.session.ID {
				t.Errorf("ParseSessionJWT = %q, %v; want %q", id, err, tt.session.ID)
			}
		})
	}
}

func BenchmarkSignSession(b *testing.B) {
	e := newEnv(b, newDatabase(b))
	s := e.session(e.project)
	s.Factors = []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: e.clock.Now()}}
	s.CustomClaims = map[string]any{"claim1": "value1"}
	e.sign(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.signer.SignSession(e.ctx, s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkParseSessionJWT(b *testing.B) {
	e := newEnv(b, newDatabase(b))
	s := e.session(e.project)
	s.Factors = []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: e.clock.Now()}}
	tok := e.sign(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
