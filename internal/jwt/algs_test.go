package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
)

// projectSettings is a per-project JWT settings table a test can change,
// standing in for auth.Service.JWTSettings.
type projectSettings struct {
	mu sync.Mutex
	m  map[string]auth.JWTSettings
}

func (p *projectSettings) set(project string, js auth.JWTSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[project] = js
}

func (p *projectSettings) get(_ context.Context, project string) auth.JWTSettings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[project]
}

// algEnv is an env whose signer reads its projects' settings from st.
func algEnv(t testing.TB, dsn string) (*env, *projectSettings) {
	e := newEnv(t, dsn)
	st := &projectSettings{m: map[string]auth.JWTSettings{}}
	e.signer = jwt.New(e.store, e.keyring, jwt.Options{Now: e.clock.Now, Project: st.get})
	return e, st
}

// verifyWithJWKS checks tok against the published JWKS document alone, as
// a client does, and returns the key it used.
func verifyWithJWKS(t testing.TB, raw []byte, tok string) jose.JSONWebKey {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS does not parse as a JWK set: %v\n%s", err, raw)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys for kid %q", len(keys), jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("JWT does not verify with its JWKS key: %v", err)
	}
	return keys[0]
}

func TestAlgorithms(t *testing.T) {
	dsn := newDatabase(t)
	t.Run("EachAlgorithmSignsVerifiesAndPublishes", func(t *testing.T) {
		tests := []struct {
			alg, wantAlg, kty, crv string
			lifetime, wantLife     time.Duration
		}{
			{"", auth.JWTRS256, "RSA", "", 0, auth.JWTLifetime},
			{auth.JWTRS256, auth.JWTRS256, "RSA", "", 10 * time.Minute, 10 * time.Minute},
			{auth.JWTES256, auth.JWTES256, "EC", "P-256", 0, auth.JWTLifetime},
			{auth.JWTEdDSA, auth.JWTEdDSA, "OKP", "Ed25519", time.Hour, time.Hour},
		}
		for _, tt := range tests {
			t.Run(tt.wantAlg+"/"+tt.alg, func(t *testing.T) {
				e, st := algEnv(t, dsn)
				st.set(e.project, auth.JWTSettings{Algorithm: tt.alg, Lifetime: tt.lifetime})
				s := e.session(e.project)
				tok := e.sign(t, s)
				header, payload := decode(t, tok)
				if header["alg"] != tt.wantAlg || header["typ"] != "JWT" {
					t.Fatalf("header %v, want alg %s", header, tt.wantAlg)
				}
				exp, _ := payload["exp"].(json.Number).Int64()
				iat, _ := payload["iat"].(json.Number).Int64()
				if time.Duration(exp-iat)*time.Second != tt.wantLife {
					t.Fatalf("exp - iat = %ds, want %v", exp-iat, tt.wantLife)
				}
				if id, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil || id != s.ID {
					t.Fatalf("ParseSessionJWT = %q, %v; want %q", id, err, s.ID)
				}
				raw, doc := e.jwks(t, e.project)
				if len(doc.Keys) != 2 {
					t.Fatalf("JWKS has %d keys, want current and next", len(doc.Keys))
				}
				for _, k := range doc.Keys {
					if k["kty"] != tt.kty || k["alg"] != tt.wantAlg || (tt.crv != "" && k["crv"] != tt.crv) || k["d"] != nil || k["use"] != "sig" {
						t.Fatalf("JWKS key %v: want kty %s alg %s crv %q, public only", k, tt.kty, tt.wantAlg, tt.crv)
					}
				}
				if k := verifyWithJWKS(t, raw, tok); k.Algorithm != tt.wantAlg {
					t.Fatalf("JWKS key alg %q", k.Algorithm)
				}
			})
		}
	})
	t.Run("AlgorithmChangePublishesThenSigns", func(t *testing.T) {
		e, st := algEnv(t, dsn)
		old := e.sign(t, e.session(e.project)) // RS256 keys
		st.set(e.project, auth.JWTSettings{Algorithm: auth.JWTES256})
		e.clock.Advance(jwt.DefaultCacheTTL + time.Second) // the signer re-reads the keys and settings
		first := e.sign(t, e.session(e.project))
		if h, _ := decode(t, first); h["alg"] != auth.JWTRS256 {
			t.Fatalf("signed with %v before the new key was published", h["alg"])
		}
		_, doc := e.jwks(t, e.project)
		ec := 0
		for _, k := range doc.Keys {
			if k["alg"] == auth.JWTES256 {
				ec++
			}
		}
		if ec != 1 {
			t.Fatalf("JWKS %v: want one ES256 key published ahead", doc.Keys)
		}
		e.clock.Advance(jwt.DefaultCacheTTL + 10*time.Minute + time.Second)
		later := e.sign(t, e.session(e.project))
		if h, _ := decode(t, later); h["alg"] != auth.JWTES256 {
			t.Fatalf("signed with %v once the ES256 key was published", h["alg"])
		}
		for _, tok := range []string{old, first, later} {
			if _, err := e.signer.ParseSessionJWT(e.ctx, e.project, tok); err != nil {
				t.Fatalf("a JWT of the rotation no longer verifies: %v", err)
			}
		}
	})
	t.Run("HeaderAlgorithmMustBeTheKeys", func(t *testing.T) {
		e, _ := algEnv(t, dsn)
		tok := e.sign(t, e.session(e.project)) // RS256
		h, payload := decode(t, tok)
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		forged := joseSign(t, jose.ES256, ec, h["kid"].(string), "JWT", payload)
		_, err = e.signer.ParseSessionJWT(e.ctx, e.project, forged)
		wantCode(t, err, auth.EJWTInvalid)
	})
}

// BenchmarkSignSessionByAlgorithm measures the in-process cost of one
// session JWT per algorithm (keys cached, no store access).
func BenchmarkSignSessionByAlgorithm(b *testing.B) {
	dsn := newDatabase(b)
	for _, alg := range []string{auth.JWTRS256, auth.JWTES256, auth.JWTEdDSA} {
		b.Run(alg, func(b *testing.B) {
			e, st := algEnv(b, dsn)
			st.set(e.project, auth.JWTSettings{Algorithm: alg})
			s := e.session(e.project)
			s.Factors = []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliverySMS, MethodID: "phone-number-test-1", Value: "+12025550162", LastAuthenticatedAt: e.clock.Now()}}
			e.sign(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.signer.SignSession(e.ctx, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
