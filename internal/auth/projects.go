package auth

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// projectCacheTTL bounds how long an authenticated secret is remembered in
// process. A rotated project secret stops working within this time.
const projectCacheTTL = 30 * time.Second

type projectCache struct {
	mu sync.Mutex
	m  map[[32]byte]projectCacheEntry
}

type projectCacheEntry struct {
	p       *Project
	expires time.Time
}

func (c *projectCache) get(k [32]byte, now time.Time) *Project {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.p
}

func (c *projectCache) put(k [32]byte, p *Project, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = make(map[[32]byte]projectCacheEntry)
	}
	c.m[k] = projectCacheEntry{p: p, expires: now.Add(projectCacheTTL)}
}

func cacheKey(projectID, secret string) [32]byte {
	return sha256.Sum256([]byte(projectID + "\x00" + secret))
}

// EnsureProject creates the project with this secret, or replaces its
// secret; idempotent. Used for BOOTSTRAP_PROJECT_ID/SECRET.
func (s *Service) EnsureProject(ctx context.Context, id, secret string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, " /:\t\r\n") {
		return Invalid("project_id", "Project id must be 1 to 128 characters without spaces, slashes or colons.")
	}
	if len(secret) < 16 {
		return Invalid("secret", "Project secret must be at least 16 characters.")
	}
	return s.store.EnsureProject(ctx, id, s.keys.TokenHash(secret))
}

// AuthenticateBearer returns the project whose secret this is. Returns EUnauthorized.
func (s *Service) AuthenticateBearer(ctx context.Context, secret string) (*Project, error) {
	if secret == "" {
		return nil, Errorf(EUnauthorized, "Missing API secret.")
	}
	k := cacheKey("", secret)
	if p := s.projects.get(k, s.now()); p != nil {
		return p, nil
	}
	p, err := s.store.FindProjectBySecret(ctx, s.keys.TokenHashes(secret))
	if err != nil {
		return nil, err
	}
	s.projects.put(k, p, s.now())
	return p, nil
}

// AuthenticateBasic returns the project if secret is its secret. Returns EUnauthorized.
func (s *Service) AuthenticateBasic(ctx context.Context, projectID, secret string) (*Project, error) {
	if projectID == "" || secret == "" {
		return nil, Errorf(EUnauthorized, "Unauthorized credentials.")
	}
	k := cacheKey(projectID, secret)
	if p := s.projects.get(k, s.now()); p != nil {
		return p, nil
	}
	p, err := s.store.FindProjectWithSecret(ctx, projectID, s.keys.TokenHashes(secret))
	if err != nil {
		return nil, err
	}
	s.projects.put(k, p, s.now())
	return p, nil
}
