// Package jwt implements auth.SessionSigner with go-jose: session JWTs
// (RS256, ES256 or EdDSA, as each project's settings say) in the format
// Stytch's SDKs verify locally, one rotating key set per project, and the
// project's JWKS document.
//
// Keys live in the auth.KeyStore with states next, current and retired.
// Only the current key signs; next, current and unexpired retired keys
// verify and are published in the JWKS, so a key is known to clients before
// it signs and stays known after it stops. Private keys are stored as PKCS#8
// DER encrypted with the auth.Keyring (associated data = kid).
package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Defaults of Options.
const (
	DefaultRotateEvery = 30 * 24 * time.Hour
	DefaultRetireAfter = 24 * time.Hour
	DefaultCacheTTL    = time.Minute
	DefaultKeyBits     = 2048
)

// clientJWKSCache is how long Stytch's SDK (jose createRemoteJWKSet) caches
// a JWKS document.
const clientJWKSCache = 10 * time.Minute

// notBeforeLeeway is the clock skew tolerated on nbf and iat.
const notBeforeLeeway = 30 * time.Second

// maxTokenLen bounds the JWTs ParseSessionJWT looks at.
const maxTokenLen = 64 << 10

// Options configure a Signer. Zero values mean the defaults.
type Options struct {
	// RotateEvery is the age after which the current key is rotated (next
	// promoted to current, a new next key added) on the next SignSession or
	// JWKS call. Default 30 days (DefaultRotateEvery).
	RotateEvery time.Duration
	// RetireAfter is how long a retired key keeps verifying and stays in the
	// JWKS after the rotation that retired it. It must exceed
	// auth.JWTLifetime plus the JWKS cache times (CacheTTL here, 10 minutes
	// in Stytch's SDK); smaller values are raised to that. Default 24 hours
	// (DefaultRetireAfter).
	RetireAfter time.Duration
	// CacheTTL is how long a project's decrypted keys (and its JWKS
	// document) are cached in process before being re-read from the store.
	// Default 1 minute (DefaultCacheTTL).
	CacheTTL time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// KeyBits is the RSA modulus size of new keys, at least 2048 (jose
	// refuses smaller RS256 keys). Default 2048 (DefaultKeyBits).
	KeyBits int
	// Project returns a project's JWT settings (algorithm of its new keys,
	// JWT lifetime); the api passes auth.Service.JWTSettings. A changed
	// algorithm takes effect through two rotations (see rotationWanted).
	// Default: every project RS256 with auth.JWTLifetime.
	Project func(ctx context.Context, projectID string) auth.JWTSettings
}

// Signer issues and verifies session JWTs. It implements
// auth.SessionSigner and is safe for concurrent use.
type Signer struct {
	store   auth.KeyStore
	keyring *auth.Keyring
	opts    Options

	mu       sync.Mutex
	projects map[string]*projectState
}

var _ auth.SessionSigner = (*Signer)(nil)

// New returns a Signer that keeps its keys in store, encrypted with keys.
func New(store auth.KeyStore, keys *auth.Keyring, opts Options) *Signer {
	if opts.RotateEvery <= 0 {
		opts.RotateEvery = DefaultRotateEvery
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.RetireAfter <= 0 {
		opts.RetireAfter = DefaultRetireAfter
	}
	if floor := auth.MaxJWTLifetime + opts.CacheTTL + clientJWKSCache; opts.RetireAfter < floor {
		opts.RetireAfter = floor
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeyBits < DefaultKeyBits {
		opts.KeyBits = DefaultKeyBits
	}
	if opts.Project == nil {
		opts.Project = func(context.Context, string) auth.JWTSettings {
			return auth.JWTSettings{Algorithm: auth.JWTRS256, Lifetime: auth.JWTLifetime}
		}
	}
	return &Signer{store: store, keyring: keys, opts: opts, projects: make(map[string]*projectState)}
}

func (s *Signer) now() time.Time { return s.opts.Now() }

// project returns the project's JWT settings, bounded and defaulted.
func (s *Signer) project(ctx context.Context, projectID string) auth.JWTSettings {
	js := s.opts.Project(ctx, projectID)
	switch js.Algorithm {
	case auth.JWTRS256, auth.JWTES256, auth.JWTEdDSA:
	default:
		js.Algorithm = auth.JWTRS256
	}
	if js.Lifetime <= 0 {
		js.Lifetime = auth.JWTLifetime
	}
	js.Lifetime = min(max(js.Lifetime, auth.MinJWTLifetime), auth.MaxJWTLifetime)
	return js
}

// SignSession returns a JWT for s signed with the project's current key,
// issued now and valid for the project's JWT lifetime (Options.Project,
// auth.JWTLifetime by default). The header is {"alg":"RS256" (or the current
// key's ES256 or EdDSA), "kid":…, "typ":"JWT"}; the payload has iss
// "stytch.com/{project_id}", aud [project_id], sub (user or member id),
// iat = nbf = now, exp = now + the lifetime, the
// session claim (see StytchSessionClaim) and s.CustomClaims at the top
// level, except those named like a reserved claim, which are ignored. A
// B2B member session has sub = member id, the member's roles in the
// session claim and the organization claim (see StytchOrganizationClaim). The
// project's first keys are created, and a due rotation done, as needed.
func (s *Signer) SignSession(ctx context.Context, sess *auth.Session) (string, error) {
	if sess == nil || sess.ProjectID == "" {
		return "", auth.Internal(errors.New("jwt: SignSession needs a session with a project id"))
	}
	ks, err := s.keySet(ctx, sess.ProjectID, true)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(s.claims(sess, s.project(ctx, sess.ProjectID).Lifetime))
	if err != nil {
		return "", auth.Internal(fmt.Errorf("jwt: marshal claims of session %s: %w", sess.ID, err))
	}
	jws, err := ks.signer.Sign(payload)
	if err != nil {
		return "", auth.Internal(fmt.Errorf("jwt: sign session %s: %w", sess.ID, err))
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", auth.Internal(fmt.Errorf("jwt: serialize session %s: %w", sess.ID, err))
	}
	return tok, nil
}

// claims returns the JWT payload for sess issued at now, valid for lifetime.
func (s *Signer) claims(sess *auth.Session, lifetime time.Duration) map[string]any {
	iat := s.now().Unix()
	c := make(map[string]any, len(sess.CustomClaims)+7)
	for k, v := range sess.CustomClaims {
		if !reservedClaims[k] {
			c[k] = v
		}
	}
	c["iss"] = Issuer(sess.ProjectID)
	c["aud"] = []string{sess.ProjectID}
	c["sub"] = Subject(sess)
	c["iat"] = iat
	c["nbf"] = iat
	c["exp"] = iat + int64(lifetime/time.Second)
	c[SessionClaim] = StytchSessionClaim(sess)
	if IsMemberSession(sess) {
		c[OrganizationClaim] = StytchOrganizationClaim(sess)
	}
	return c
}

// parsedClaims is what ParseSessionJWT reads from a payload.
type parsedClaims struct {
	josejwt.Claims
	Session *struct {
		ID string `json:"id"`
	} `json:"https://stytch.com/session"`
}

// ParseSessionJWT verifies token as a session JWT of projectID and returns
// the session id of its session claim. It accepts RS256, ES256 and EdDSA,
// each only from a key of that algorithm, with header
// typ "JWT" and a kid naming one of the project's next, current or
// unexpired retired keys; iss must be "stytch.com/{project_id}" and aud
// must contain projectID; nbf and iat may be at most 30 s in the future.
// An expired exp is accepted: the caller checks the session itself.
// Every problem with the token is an EJWTInvalid error; a failure to read
// the project's keys is returned as is (EInternal or the store's code).
func (s *Signer) ParseSessionJWT(ctx context.Context, projectID, token string) (string, error) {
	if projectID == "" || token == "" || len(token) > maxTokenLen {
		return "", invalid("The session JWT is malformed.", nil)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return "", invalid("The session JWT is malformed or not signed with RS256, ES256 or EdDSA.", err)
	}
	if len(jws.Signatures) != 1 {
		return "", invalid("The session JWT is malformed.", nil)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return "", invalid(`The session JWT header typ is not "JWT".`, nil)
	}
	if h.KeyID == "" {
		return "", invalid("The session JWT header has no kid.", nil)
	}
	ks, err := s.keySet(ctx, projectID, false)
	if err != nil {
		return "", err
	}
	key := ks.key(h.KeyID)
	if key == nil {
		if ks, err = s.refreshOnMiss(ctx, projectID, ks); err != nil {
			return "", err
		}
		if key = ks.key(h.KeyID); key == nil {
			return "", invalid("The session JWT is not signed by a key of this project.", nil)
		}
	}
	if h.Algorithm != key.alg {
		return "", invalid("The session JWT is not signed with its key's algorithm.", nil)
	}
	payload, err := jws.Verify(key.priv.Public())
	if err != nil {
		return "", invalid("The session JWT signature is invalid.", err)
	}
	var c parsedClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", invalid("The session JWT claims are malformed.", err)
	}
	c.Expiry = nil // an expired JWT still names its session
	if err := c.Claims.ValidateWithLeeway(josejwt.Expected{
		Issuer:      Issuer(projectID),
		AnyAudience: josejwt.Audience{projectID},
		Time:        s.now(),
	}, notBeforeLeeway); err != nil {
		return "", invalid("The session JWT has the wrong issuer or audience, or is not valid yet.", err)
	}
	if c.Subject == "" || c.Session == nil || c.Session.ID == "" {
		return "", invalid("The session JWT has no subject or session.", nil)
	}
	return c.Session.ID, nil
}

// JWKS returns the project's public keys (current, next, then unexpired
// retired) as {"keys":[{kty,use,key_ops,alg,kid,n,e}, …]}, creating the
// project's first keys if needed. The document is cached for CacheTTL.
// For a project the store does not know, the store's error (ENotFound) is
// returned, but only after generating keys: the unauthenticated endpoint
// that serves the JWKS must check that the project exists first.
func (s *Signer) JWKS(ctx context.Context, projectID string) ([]byte, error) {
	if projectID == "" {
		return nil, auth.Invalid("project_id", "project_id is required.")
	}
	ks, err := s.keySet(ctx, projectID, true)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), ks.jwks...), nil
}

// Rotate rotates the project's keys now, whatever the current key's age:
// the current key is retired (it verifies for RetireAfter more), next
// becomes current and a new next key is added. A project without keys gets
// its first current and next keys instead.
func (s *Signer) Rotate(ctx context.Context, projectID string) error {
	if projectID == "" {
		return auth.Invalid("project_id", "project_id is required.")
	}
	ps := s.projectState(projectID)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	now := s.now()
	prev := ps.set.Load()
	ks, err := s.load(ctx, projectID, prev, now)
	if err != nil {
		return err
	}
	rotErr := s.rotate(ctx, projectID, ks, now)
	ks, err = s.load(ctx, projectID, ks, now)
	if err != nil {
		ps.set.Store(nil)
		return err
	}
	if rotErr != nil {
		var ae *auth.Error
		if !errors.As(rotErr, &ae) {
			rotErr = internal("rotate signing keys", projectID, rotErr)
		}
		ps.set.Store(ks)
		return rotErr
	}
	ps.set.Store(ks)
	return nil
}

// invalid returns an EJWTInvalid error with a client-safe message.
func invalid(msg string, err error) *auth.Error {
	return &auth.Error{Code: auth.EJWTInvalid, Message: msg, Err: err}
}
