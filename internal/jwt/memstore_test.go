package jwt_test

// memStore is a temporary in-memory auth.KeyStore with the semantics of the
// Postgres one (one current key per project). It is replaced by
// pgtest.MustOpenDB once internal/postgres lands.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

type memStore struct {
	mu   sync.Mutex
	keys map[string][]auth.SigningKey
}

func openStore(t testing.TB) testStore {
	t.Helper()
	return &memStore{keys: map[string][]auth.SigningKey{}}
}

func (m *memStore) EnsureProject(ctx context.Context, id string, secretHash []byte) error {
	return nil
}

func (m *memStore) SigningKeys(ctx context.Context, projectID string) ([]auth.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]auth.SigningKey, 0, len(m.keys[projectID]))
	for _, k := range m.keys[projectID] {
		k.PrivateEnc = append([]byte(nil), k.PrivateEnc...)
		out = append(out, k)
	}
	return out, nil
}

func (m *memStore) RotateSigningKeys(ctx context.Context, projectID string, add []auth.SigningKey, retireBefore time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := m.keys[projectID]
	now := time.Now()
	if len(add) > 0 {
		now = add[0].CreatedAt
	}
	if len(keys) == 0 {
		if len(add) == 0 {
			return errors.New("memstore: no keys to add")
		}
		for i, k := range add {
			k.State = auth.KeyNext
			if i == 0 {
				k.State = auth.KeyCurrent
			}
			k.PrivateEnc = append([]byte(nil), k.PrivateEnc...)
			keys = append(keys, k)
		}
		m.keys[projectID] = keys
		return nil
	}
	var out []auth.SigningKey
	promoted := false
	for _, k := range keys {
		switch {
		case k.State == auth.KeyCurrent:
			k.State, k.RotatedAt = auth.KeyRetired, now
		case k.State == auth.KeyNext && !promoted:
			k.State, k.RotatedAt = auth.KeyCurrent, now
			promoted = true
		}
		if k.State == auth.KeyRetired && k.RotatedAt.Before(retireBefore) {
			continue
		}
		out = append(out, k)
	}
	for _, k := range add {
		k.State = auth.KeyNext
		k.PrivateEnc = append([]byte(nil), k.PrivateEnc...)
		out = append(out, k)
	}
	m.keys[projectID] = out
	return nil
}
