package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// ProjectInfo is a project as operators manage it.
type ProjectInfo struct {
	ID          string
	Name        string
	Environment string // "test" or "live"
	Settings    Settings
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ProjectSecret describes one of a project's secrets; the secret itself is
// stored only as a keyed hash (Keyring.TokenHash) and shown once.
type ProjectSecret struct {
	ID         string
	ProjectID  string
	Bootstrap  bool // the secret named by BOOTSTRAP_PROJECT_SECRET
	CreatedAt  time.Time
	LastUsedAt *time.Time // nil: never used; updated at most once per cache period per process
}

// Project environments.
const (
	EnvTest = "test"
	EnvLive = "live"
)

// ProjectRegistry stores projects, their secrets and settings, and tells
// every process when one changes. internal/postgres implements it.
type ProjectRegistry interface {
	// CreateProject stores a project with its first secret.
	CreateProject(ctx context.Context, p *ProjectInfo, sec *ProjectSecret, secretHash []byte) error
	// EnsureBootstrapProject creates the project if missing and makes
	// secretHash its bootstrap secret (replacing the previous bootstrap
	// secret, leaving the others). EConflict if another project has it.
	EnsureBootstrapProject(ctx context.Context, p *ProjectInfo, sec *ProjectSecret, secretHash []byte) error
	ListProjects(ctx context.Context) ([]*ProjectInfo, error)
	// GetProject returns ENotFound (field project_id) if missing.
	GetProject(ctx context.Context, id string) (*ProjectInfo, error)
	// UpdateProject changes the name and/or settings (nil: unchanged).
	UpdateProject(ctx context.Context, id string, name *string, settings *Settings, now time.Time) (*ProjectInfo, error)
	// DeleteProject deletes a project and everything in it.
	DeleteProject(ctx context.Context, id string) error
	CreateProjectSecret(ctx context.Context, sec *ProjectSecret, secretHash []byte) error
	ListProjectSecrets(ctx context.Context, projectID string) ([]*ProjectSecret, error)
	// RevokeProjectSecret deletes a secret; ENotFound (field secret_id) if
	// the project has no such secret.
	RevokeProjectSecret(ctx context.Context, projectID, secretID string) error
	// UseProjectSecret returns the project (projectID, or any when "")
	// that has a secret whose hash is one of hashes, and records its use.
	// EUnauthorized if none.
	UseProjectSecret(ctx context.Context, projectID string, hashes [][]byte, now time.Time) (*ProjectInfo, error)
	// ListenProjects calls ready once it listens, then changed(projectID)
	// for every change to a project, its secrets or settings made by any
	// process, until ctx ends or the connection fails.
	ListenProjects(ctx context.Context, ready func(), changed func(projectID string)) error
}

func (s *Service) registry() (ProjectRegistry, error) {
	r, ok := s.store.(ProjectRegistry)
	if !ok {
		return nil, Errorf(EInternal, "The store does not manage projects.")
	}
	return r, nil
}

// ---- In-process cache of credentials and settings ----

// Cache periods. While WatchProjects listens, every change is notified and
// the long period is only a backstop; without it, entries live for the
// short one (a revoked secret then stops working within it).
const (
	projectCacheTTL        = 30 * time.Second
	projectCacheWatchedTTL = 10 * time.Minute
)

type projectCache struct {
	mu        sync.Mutex
	auth      map[[32]byte]projectCacheEntry
	state     map[string]projectStateEntry
	gen       uint64 // bumped by every invalidation; a load that raced one is not cached
	listening bool
	dev       bool
	adminHash []byte
}

type projectCacheEntry struct {
	p       *Project
	expires time.Time
}

type projectState struct {
	settings Settings
}

type projectStateEntry struct {
	st      projectState
	expires time.Time
}

func (c *projectCache) ttl() time.Duration {
	if c.listening {
		return projectCacheWatchedTTL
	}
	return projectCacheTTL
}

func (c *projectCache) devMode() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.dev }

func (c *projectCache) get(k [32]byte, now time.Time) *Project {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.auth[k]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.p
}

func (c *projectCache) generation() uint64 { c.mu.Lock(); defer c.mu.Unlock(); return c.gen }

func (c *projectCache) put(k [32]byte, info *ProjectInfo, gen uint64, now time.Time) *Project {
	p := &Project{ID: info.ID, CreatedAt: info.CreatedAt}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return p
	}
	if c.auth == nil || len(c.auth) > 10000 {
		c.auth = make(map[[32]byte]projectCacheEntry)
	}
	if c.state == nil || len(c.state) > 10000 {
		c.state = make(map[string]projectStateEntry)
	}
	exp := now.Add(c.ttl())
	c.auth[k] = projectCacheEntry{p: p, expires: exp}
	c.state[info.ID] = projectStateEntry{st: projectState{settings: info.Settings}, expires: exp}
	return p
}

// invalidate forgets the credentials and settings of project id ("" forgets all).
func (c *projectCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		c.auth, c.state = nil, nil
		return
	}
	delete(c.state, id)
	for k, e := range c.auth {
		if e.p.ID == id {
			delete(c.auth, k)
		}
	}
}

func cacheKey(projectID, secret string) [32]byte {
	return sha256.Sum256([]byte(projectID + "\x00" + secret))
}

// projectState returns the cached state of project id, reading the store
// on a miss. A project the store cannot read has default settings (the
// caller's own query then fails or finds nothing).
func (s *Service) projectState(ctx context.Context, id string) projectState {
	now := s.now()
	c := &s.projects
	c.mu.Lock()
	e, ok := c.state[id]
	gen := c.gen
	c.mu.Unlock()
	if ok && !now.After(e.expires) {
		return e.st
	}
	reg, err := s.registry()
	if err != nil {
		return projectState{}
	}
	info, err := reg.GetProject(ctx, id)
	if err != nil {
		return projectState{}
	}
	st := projectState{settings: info.Settings}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		if c.state == nil || len(c.state) > 10000 {
			c.state = make(map[string]projectStateEntry)
		}
		c.state[id] = projectStateEntry{st: st, expires: now.Add(c.ttl())}
	}
	return st
}

// InvalidateProject drops this process's cached credentials and settings
// of project id ("" drops all). WatchProjects calls it for every change
// any process makes.
func (s *Service) InvalidateProject(id string) { s.projects.invalidate(id) }

// WatchProjects listens for changes to projects, secrets and settings made
// by any process (the CLI, the admin API, another replica) and drops the
// changed project from this process's cache, so a revoked secret or a new
// setting takes effect here within the notification delay. It reconnects
// after a failure (dropping the whole cache, since changes may have been
// missed) and returns when ctx ends. ready, if not nil, is closed once the
// first listen is in place.
func (s *Service) WatchProjects(ctx context.Context, ready chan<- struct{}) {
	reg, err := s.registry()
	if err != nil {
		return
	}
	var once sync.Once
	defer once.Do(func() {
		if ready != nil {
			close(ready)
		}
	})
	for ctx.Err() == nil {
		err := reg.ListenProjects(ctx, func() {
			s.projects.invalidate("")
			s.projects.mu.Lock()
			s.projects.listening = true
			s.projects.mu.Unlock()
			once.Do(func() {
				if ready != nil {
					close(ready)
				}
			})
		}, s.projects.invalidate)
		s.projects.mu.Lock()
		s.projects.listening = false
		s.projects.mu.Unlock()
		s.projects.invalidate("")
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("project change listener stopped; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// SetDevMode lets magic links of a project with registered redirect URLs
// point at localhost too (the api's -dev mode). Default off.
func (s *Service) SetDevMode(on bool) {
	s.projects.mu.Lock()
	s.projects.dev = on
	s.projects.mu.Unlock()
}

// ---- Authentication of project and admin credentials ----

// AuthenticateBearer returns the project whose secret this is. Returns EUnauthorized.
func (s *Service) AuthenticateBearer(ctx context.Context, secret string) (*Project, error) {
	if secret == "" {
		return nil, Errorf(EUnauthorized, "Missing API secret.")
	}
	return s.authenticate(ctx, "", secret)
}

// AuthenticateBasic returns the project if secret is one of its secrets. Returns EUnauthorized.
func (s *Service) AuthenticateBasic(ctx context.Context, projectID, secret string) (*Project, error) {
	if projectID == "" || secret == "" {
		return nil, Errorf(EUnauthorized, "Unauthorized credentials.")
	}
	return s.authenticate(ctx, projectID, secret)
}

func (s *Service) authenticate(ctx context.Context, projectID, secret string) (*Project, error) {
	if len(secret) > 512 || len(projectID) > 128 {
		return nil, Errorf(EUnauthorized, "Unauthorized credentials.")
	}
	k := cacheKey(projectID, secret)
	if p := s.projects.get(k, s.now()); p != nil {
		return p, nil
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	gen := s.projects.generation()
	info, err := reg.UseProjectSecret(ctx, projectID, s.keys.TokenHashes(secret), s.now())
	if err != nil {
		return nil, err
	}
	return s.projects.put(k, info, gen, s.now()), nil
}

// SetAdminKey sets the admin credential (ADMIN_API_KEY) of the admin API.
// It is kept only as a keyed hash and compared in constant time; "" turns
// the admin API off. It must be at least 32 characters.
func (s *Service) SetAdminKey(key string) error {
	if key != "" && (len(key) < 32 || len(key) > 512) {
		return Invalid("ADMIN_API_KEY", "ADMIN_API_KEY must be 32 to 512 characters (e.g. openssl rand -hex 32).")
	}
	var h []byte
	if key != "" {
		h = s.keys.TokenHash("admin\x00" + key)
	}
	s.projects.mu.Lock()
	s.projects.adminHash = h
	s.projects.mu.Unlock()
	return nil
}

// AuthenticateAdmin reports whether key is the admin credential. A project
// secret never is: the admin key is a separate value, hashed under its own
// prefix. Returns EUnauthorized.
func (s *Service) AuthenticateAdmin(key string) error {
	s.projects.mu.Lock()
	want := s.projects.adminHash
	s.projects.mu.Unlock()
	if want == nil || key == "" || len(key) > 512 {
		return Errorf(EUnauthorized, "Unauthorized admin credentials.")
	}
	for _, h := range s.keys.TokenHashes("admin\x00" + key) {
		if hmac.Equal(h, want) {
			return nil
		}
	}
	return Errorf(EUnauthorized, "Unauthorized admin credentials.")
}

// ---- Management ----

func validProjectID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, " /:\t\r\n") || validText("project_id", id) != nil {
		return Invalid("project_id", "Project id must be 1 to 128 characters without spaces, slashes or colons.")
	}
	return nil
}

func validProjectName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 128 {
		return Invalid("name", "name must be 1 to 128 characters.")
	}
	return validText("name", name)
}

func environmentOf(id string) string {
	if strings.HasPrefix(id, "project-test-") {
		return EnvTest
	}
	return EnvLive
}

func (s *Service) newSecret(projectID, env string, bootstrap bool) *ProjectSecret {
	return &ProjectSecret{ID: "project-secret-" + env + "-" + NewUUID(), ProjectID: projectID, Bootstrap: bootstrap, CreatedAt: s.now().UTC()}
}

// EnsureProject creates the project with this secret as its bootstrap
// secret, or makes this its bootstrap secret (other secrets stay valid);
// idempotent. Used for BOOTSTRAP_PROJECT_ID/SECRET.
func (s *Service) EnsureProject(ctx context.Context, id, secret string) error {
	if err := validProjectID(id); err != nil {
		return err
	}
	if len(secret) < 16 || len(secret) > 512 {
		return Invalid("secret", "Project secret must be 16 to 512 characters.")
	}
	if s.AuthenticateAdmin(secret) == nil {
		return Invalid("secret", "The project secret must differ from ADMIN_API_KEY.")
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	env := environmentOf(id)
	now := s.now().UTC()
	info := &ProjectInfo{ID: id, Name: id, Environment: env, CreatedAt: now, UpdatedAt: now}
	if err := reg.EnsureBootstrapProject(ctx, info, s.newSecret(id, env, true), s.keys.TokenHash(secret)); err != nil {
		return err
	}
	s.projects.invalidate(id)
	return nil
}

// CreateProjectInput creates a project.
type CreateProjectInput struct {
	Name        string
	Environment string // "test" or "live"
	Settings    *Settings
}

// CreateProject creates a project with an id "project-<env>-<uuid>" and a
// first secret, returned once in clear. Returns EInvalid.
func (s *Service) CreateProject(ctx context.Context, in CreateProjectInput) (*ProjectInfo, *ProjectSecret, string, error) {
	if err := validProjectName(in.Name); err != nil {
		return nil, nil, "", err
	}
	if in.Environment != EnvTest && in.Environment != EnvLive {
		return nil, nil, "", Invalid("environment", "environment must be test or live.")
	}
	var st Settings
	if in.Settings != nil {
		var err error
		if st, err = in.Settings.normalize(); err != nil {
			return nil, nil, "", err
		}
	}
	reg, err := s.registry()
	if err != nil {
		return nil, nil, "", err
	}
	now := s.now().UTC()
	info := &ProjectInfo{ID: "project-" + in.Environment + "-" + NewUUID(), Name: in.Name, Environment: in.Environment, Settings: st, CreatedAt: now, UpdatedAt: now}
	sec := s.newSecret(info.ID, in.Environment, false)
	secret := "secret-" + in.Environment + "-" + NewToken()
	if err := reg.CreateProject(ctx, info, sec, s.keys.TokenHash(secret)); err != nil {
		return nil, nil, "", err
	}
	return info, sec, secret, nil
}

// ListProjects returns every project, oldest first.
func (s *Service) ListProjects(ctx context.Context) ([]*ProjectInfo, error) {
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	return reg.ListProjects(ctx)
}

// GetProject returns a project. ENotFound if missing.
func (s *Service) GetProject(ctx context.Context, id string) (*ProjectInfo, error) {
	if err := validProjectID(id); err != nil {
		return nil, err
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	return reg.GetProject(ctx, id)
}

// UpdateProjectInput changes a project; nil fields stay. Settings replace
// the stored settings as a whole.
type UpdateProjectInput struct {
	Name     *string
	Settings *Settings
}

// UpdateProject changes a project's name or settings; every process sees
// the change within the notification delay. Returns EInvalid, ENotFound.
func (s *Service) UpdateProject(ctx context.Context, id string, in UpdateProjectInput) (*ProjectInfo, error) {
	if err := validProjectID(id); err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := validProjectName(*in.Name); err != nil {
			return nil, err
		}
	}
	if in.Settings != nil {
		st, err := in.Settings.normalize()
		if err != nil {
			return nil, err
		}
		in.Settings = &st
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	info, err := reg.UpdateProject(ctx, id, in.Name, in.Settings, s.now().UTC())
	if err != nil {
		return nil, err
	}
	s.projects.invalidate(id)
	return info, nil
}

// DeleteProject deletes a project with all its users, sessions and
// messages. Returns ENotFound.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	if err := validProjectID(id); err != nil {
		return err
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.DeleteProject(ctx, id); err != nil {
		return err
	}
	s.projects.invalidate(id)
	return nil
}

// CreateProjectSecret adds a secret to a project (several are valid at
// once, so a rotation needs no downtime) and returns it once in clear.
// Returns ENotFound.
func (s *Service) CreateProjectSecret(ctx context.Context, projectID string) (*ProjectSecret, string, error) {
	if err := validProjectID(projectID); err != nil {
		return nil, "", err
	}
	reg, err := s.registry()
	if err != nil {
		return nil, "", err
	}
	p, err := reg.GetProject(ctx, projectID)
	if err != nil {
		return nil, "", err
	}
	sec := s.newSecret(p.ID, p.Environment, false)
	secret := "secret-" + p.Environment + "-" + NewToken()
	if err := reg.CreateProjectSecret(ctx, sec, s.keys.TokenHash(secret)); err != nil {
		return nil, "", err
	}
	return sec, secret, nil
}

// ListProjectSecrets lists a project's secrets (never the secrets
// themselves). Returns ENotFound.
func (s *Service) ListProjectSecrets(ctx context.Context, projectID string) ([]*ProjectSecret, error) {
	if err := validProjectID(projectID); err != nil {
		return nil, err
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	if _, err := reg.GetProject(ctx, projectID); err != nil {
		return nil, err
	}
	return reg.ListProjectSecrets(ctx, projectID)
}

// RevokeProjectSecret deletes a secret: this process refuses it at once,
// every other within the notification delay. Returns ENotFound.
func (s *Service) RevokeProjectSecret(ctx context.Context, projectID, secretID string) error {
	if err := validProjectID(projectID); err != nil {
		return err
	}
	if secretID == "" || len(secretID) > 128 {
		return Invalid("secret_id", "secret_id must be 1 to 128 characters.")
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	if err := reg.RevokeProjectSecret(ctx, projectID, secretID); err != nil {
		return err
	}
	s.projects.invalidate(projectID)
	return nil
}
