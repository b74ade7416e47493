package jwt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesame-auth/sesame/internal/auth"
)

// missRefreshInterval is how often at most a project's keys are re-read
// because a JWT names a kid the cache does not know.
const missRefreshInterval = 5 * time.Second

// loadedKey is a decrypted signing key.
type loadedKey struct {
	id        string
	state     auth.SigningKeyState
	rotatedAt time.Time
	enc       []byte // the ciphertext it came from, to reuse it across reloads
	priv      crypto.Signer
	alg       string // auth.JWTRS256, JWTES256 or JWTEdDSA, from the key's type
}

// keySet is a project's usable keys at one moment. It is immutable once
// published in projectState.set.
type keySet struct {
	byKID   map[string]*loadedKey // next, current and unexpired retired keys
	current *loadedKey            // nil when the project has no current key
	signer  jose.Signer           // signs with current
	next    *loadedKey            // nil when the project has no next key
	alg     string                // the algorithm the project's settings ask for
	// algPending is set while the current key's algorithm is not alg and
	// the next key of alg is not yet published long enough to sign.
	algPending bool
	jwks       []byte
	loaded     time.Time // when it was read from the store
	expires    time.Time // reload after this
	// rotationFailed is set when a due rotation could not be stored: the old
	// current key keeps signing until the set expires, then it is retried.
	rotationFailed bool
}

// rotationDue reports whether the current key should be rotated at now.
func (ks *keySet) rotationDue(now time.Time, every time.Duration) bool {
	return ks.current != nil && now.Sub(ks.current.rotatedAt) >= every
}

// projectState holds a project's cached keys. mu serializes store reads and
// writes for the project within this process.
type projectState struct {
	mu  sync.Mutex
	set atomic.Pointer[keySet]
}

func (s *Signer) projectState(projectID string) *projectState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projects[projectID]
	if ps == nil {
		ps = &projectState{}
		s.projects[projectID] = ps
	}
	return ps
}

// forget drops a project's cache entry (used when it holds no keys, so
// lookups of arbitrary project ids do not grow the map).
func (s *Signer) forget(projectID string, ps *projectState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projects[projectID] == ps {
		delete(s.projects, projectID)
	}
}

// fresh reports whether ks can be used at now without going to the store;
// forSigning also requires a current key that is not due for rotation.
func (s *Signer) fresh(ks *keySet, now time.Time, forSigning bool) bool {
	if ks == nil || !now.Before(ks.expires) {
		return false
	}
	if !forSigning {
		return true
	}
	return ks.current != nil && (ks.rotationFailed ||
		(!ks.rotationDue(now, s.opts.RotateEvery) && (ks.algPending || ks.current.alg == ks.alg)))
}

// publishDelay is how long a new key is published before it signs: the
// longest a client (or another replica) may serve an older JWKS document.
func (s *Signer) publishDelay() time.Duration { return s.opts.CacheTTL + clientJWKSCache }

// rotationWanted reports whether ks needs a rotation at now: no current key
// yet, a current key due, or a change of algorithm. An algorithm changes in
// two rotations: the first publishes a next key of the new algorithm, the
// second (once that key was published for publishDelay) makes it sign;
// meanwhile ks.algPending is set and the old key keeps signing.
func (s *Signer) rotationWanted(ks *keySet, now time.Time) bool {
	if ks.current == nil || ks.rotationDue(now, s.opts.RotateEvery) {
		return true
	}
	if ks.current.alg == ks.alg {
		return false
	}
	if ks.next == nil || ks.next.alg != ks.alg || now.Sub(ks.next.rotatedAt) >= s.publishDelay() {
		return true
	}
	ks.algPending = true
	return false
}

// keySet returns the project's key set. With provision it creates the
// project's first keys and rotates a current key that is due.
func (s *Signer) keySet(ctx context.Context, projectID string, provision bool) (*keySet, error) {
	ps := s.projectState(projectID)
	if ks := ps.set.Load(); s.fresh(ks, s.now(), provision) {
		return ks, nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	now := s.now()
	prev := ps.set.Load()
	if s.fresh(prev, now, provision) {
		return prev, nil // another goroutine refreshed it meanwhile
	}
	ks, err := s.load(ctx, projectID, prev, now)
	if err == nil && provision {
		ks, err = s.provision(ctx, projectID, ks, now)
	}
	if err != nil {
		if prev == nil {
			s.forget(projectID, ps)
		}
		return nil, err
	}
	if len(ks.byKID) == 0 {
		s.forget(projectID, ps)
		return ks, nil
	}
	ps.set.Store(ks)
	return ks, nil
}

// refreshOnMiss re-reads the project's keys when a JWT names a kid that ks
// does not have, at most once per missRefreshInterval.
func (s *Signer) refreshOnMiss(ctx context.Context, projectID string, ks *keySet) (*keySet, error) {
	now := s.now()
	if ks != nil && now.Sub(ks.loaded) < missRefreshInterval {
		return ks, nil
	}
	ps := s.projectState(projectID)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	prev := ps.set.Load()
	if prev != nil && prev != ks && now.Sub(prev.loaded) < missRefreshInterval {
		return prev, nil
	}
	fresh, err := s.load(ctx, projectID, prev, now)
	if err != nil {
		return nil, err
	}
	if len(fresh.byKID) == 0 {
		s.forget(projectID, ps)
		return fresh, nil
	}
	ps.set.Store(fresh)
	return fresh, nil
}

// provision makes sure the project has a current key that is not due for
// rotation: it creates the first current and next keys of a new project and
// rotates an old current key. It tolerates other writers (processes) doing
// the same concurrently: whatever the store holds afterwards is used.
func (s *Signer) provision(ctx context.Context, projectID string, ks *keySet, now time.Time) (*keySet, error) {
	if !s.rotationWanted(ks, now) {
		return ks, nil
	}
	rotErr := s.rotate(ctx, projectID, ks, now)
	// Re-read whether or not the rotation was stored: a concurrent writer
	// (another process creating the first keys, EConflict) may have won.
	ks, err := s.load(ctx, projectID, ks, now)
	if err != nil {
		return nil, err
	}
	if ks.current == nil {
		var ae *auth.Error
		if errors.As(rotErr, &ae) {
			return nil, rotErr // e.g. ENotFound for a project that does not exist
		}
		if rotErr == nil {
			rotErr = errors.New("the key store holds no current key after creating one")
		}
		return nil, internal("create signing keys", projectID, rotErr)
	}
	if ks.rotationDue(now, s.opts.RotateEvery) {
		// The store refused the rotation: keep signing with the old key and
		// retry when ks expires rather than on every call.
		ks.rotationFailed = true
	}
	if ks.current.alg != ks.alg {
		ks.algPending = true // the new algorithm's key is published now; it signs later
	}
	return ks, nil
}

// rotate stores one rotation given the current state ks: a brand-new
// project gets a current and a next key; otherwise the current key is
// retired, next promoted and one new next key added.
func (s *Signer) rotate(ctx context.Context, projectID string, ks *keySet, now time.Time) error {
	var add []auth.SigningKey
	if ks.current == nil && ks.next == nil {
		cur, err := s.newKey(projectID, auth.KeyCurrent, now, ks.alg)
		if err != nil {
			return err
		}
		next, err := s.newKey(projectID, auth.KeyNext, now, ks.alg)
		if err != nil {
			return err
		}
		add = []auth.SigningKey{cur, next}
	} else {
		next, err := s.newKey(projectID, auth.KeyNext, now, ks.alg)
		if err != nil {
			return err
		}
		add = []auth.SigningKey{next}
	}
	return s.store.RotateSigningKeys(ctx, projectID, add, now.Add(-s.opts.RetireAfter))
}

// newKey generates a key for alg (RSA KeyBits, ECDSA P-256 or Ed25519)
// and returns it encrypted for storage. The algorithm is the key's type:
// it needs no column of its own.
func (s *Signer) newKey(projectID string, state auth.SigningKeyState, now time.Time, alg string) (auth.SigningKey, error) {
	var priv any
	var err error
	switch alg {
	case auth.JWTES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case auth.JWTEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, s.opts.KeyBits)
	}
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("marshal %s key: %w", alg, err)
	}
	kid := auth.NewID(auth.PrefixKey, &auth.Project{ID: projectID})
	enc := s.keyring.Encrypt(der, []byte(kid))
	clear(der)
	return auth.SigningKey{
		ID:         kid,
		ProjectID:  projectID,
		State:      state,
		PrivateEnc: enc,
		CreatedAt:  now,
		RotatedAt:  now,
	}, nil
}

// load reads the project's keys from the store and decrypts them, reusing
// the keys of prev that did not change. Retired keys older than RetireAfter
// are left out even if the store still holds them.
func (s *Signer) load(ctx context.Context, projectID string, prev *keySet, now time.Time) (*keySet, error) {
	rows, err := s.store.SigningKeys(ctx, projectID)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, internal("read signing keys", projectID, err)
	}
	ks := &keySet{
		byKID:   make(map[string]*loadedKey, len(rows)),
		alg:     s.project(ctx, projectID).Algorithm,
		loaded:  now,
		expires: now.Add(s.opts.CacheTTL),
	}
	var currents []*loadedKey
	for _, row := range rows {
		if row.ProjectID != "" && row.ProjectID != projectID {
			continue // never verify with another project's key
		}
		if row.ID == "" || ks.byKID[row.ID] != nil {
			continue
		}
		switch row.State {
		case auth.KeyNext, auth.KeyCurrent:
		case auth.KeyRetired:
			gone := row.RotatedAt.Add(s.opts.RetireAfter)
			if !now.Before(gone) {
				continue
			}
			if gone.Before(ks.expires) {
				ks.expires = gone
			}
		default:
			continue
		}
		k := &loadedKey{id: row.ID, state: row.State, rotatedAt: row.RotatedAt, enc: row.PrivateEnc}
		if old := prev.key(row.ID); old != nil && bytes.Equal(old.enc, row.PrivateEnc) {
			k.priv, k.alg = old.priv, old.alg
		} else if k.priv, k.alg, err = s.decrypt(row); err != nil {
			return nil, internal("decrypt signing key", projectID, err)
		}
		ks.byKID[k.id] = k
		switch k.state {
		case auth.KeyCurrent:
			currents = append(currents, k)
		case auth.KeyNext:
			if ks.next == nil || k.rotatedAt.After(ks.next.rotatedAt) {
				ks.next = k
			}
		}
	}
	// Exactly one key signs. Should a race between writers ever leave two
	// current keys, every process picks the same one: the latest promoted,
	// then the greatest kid.
	for _, k := range currents {
		if ks.current == nil || k.rotatedAt.After(ks.current.rotatedAt) ||
			(k.rotatedAt.Equal(ks.current.rotatedAt) && k.id > ks.current.id) {
			ks.current = k
		}
	}
	if ks.current != nil {
		ks.signer, err = jose.NewSigner(
			jose.SigningKey{Algorithm: jose.SignatureAlgorithm(ks.current.alg), Key: jose.JSONWebKey{Key: ks.current.priv, KeyID: ks.current.id}},
			(&jose.SignerOptions{}).WithType("JWT"),
		)
		if err != nil {
			return nil, internal("build signer", projectID, err)
		}
	}
	if ks.jwks, err = ks.marshalJWKS(); err != nil {
		return nil, internal("marshal JWKS", projectID, err)
	}
	return ks, nil
}

func (ks *keySet) key(kid string) *loadedKey {
	if ks == nil {
		return nil
	}
	return ks.byKID[kid]
}

// decrypt opens and parses a stored private key and tells its algorithm.
func (s *Signer) decrypt(row auth.SigningKey) (crypto.Signer, string, error) {
	der, err := s.keyring.Decrypt(row.PrivateEnc, []byte(row.ID))
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %w", row.ID, err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: parse PKCS#8: %w", row.ID, err)
	}
	switch priv := k.(type) {
	case *rsa.PrivateKey:
		return priv, auth.JWTRS256, nil
	case *ecdsa.PrivateKey:
		if priv.Curve == elliptic.P256() {
			return priv, auth.JWTES256, nil
		}
	case ed25519.PrivateKey:
		return priv, auth.JWTEdDSA, nil
	}
	return nil, "", fmt.Errorf("key %s: not an RSA, P-256 or Ed25519 key (%T)", row.ID, k)
}

// publicJWK is one key of the JWKS document, in the shape Stytch serves
// and jose's createRemoteJWKSet accepts (use "sig", key_ops ["verify"]):
// n and e for RSA, crv x y for EC P-256, crv x for OKP Ed25519 (RFC 8037).
type publicJWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
}

// jwk returns k's public half as a publicJWK.
func (k *loadedKey) jwk() publicJWK {
	j := publicJWK{Use: "sig", KeyOps: []string{"verify"}, Alg: k.alg, Kid: k.id}
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		// The fixed-size uncompressed point X || Y (crypto/ecdh's encoding
		// of the same key, without its 0x04 prefix).
		pt, _ := pub.ECDH()
		raw := pt.Bytes()[1:]
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(raw[:32]), b64(raw[32:])
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	}
	return j
}

// marshalJWKS returns {"keys":[...]} with the current key first, then next
// keys, then retired keys, newest first.
func (ks *keySet) marshalJWKS() ([]byte, error) {
	rank := map[auth.SigningKeyState]int{auth.KeyCurrent: 0, auth.KeyNext: 1, auth.KeyRetired: 2}
	keys := make([]*loadedKey, 0, len(ks.byKID))
	for _, k := range ks.byKID {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		ra, rb := rank[a.state], rank[b.state]
		if a == ks.current {
			ra = -1
		}
		if b == ks.current {
			rb = -1
		}
		if ra != rb {
			return ra < rb
		}
		if !a.rotatedAt.Equal(b.rotatedAt) {
			return a.rotatedAt.After(b.rotatedAt)
		}
		return a.id < b.id
	})
	doc := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: make([]publicJWK, 0, len(keys))}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.jwk())
	}
	return json.Marshal(doc)
}

// internal wraps a key-management failure as EInternal. It never includes
// key material.
func internal(what, projectID string, err error) *auth.Error {
	return auth.Internal(fmt.Errorf("jwt: %s for project %s: %w", what, projectID, err))
}
