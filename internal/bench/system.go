package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// system is everything one `make bench` run starts: a private nats-server,
// bin/limitserver and bin/api as child processes, a fake Twilio in the
// driver, and the driver's own store handle for fixtures.
type system struct {
	cfg     Config
	dir     string
	admin   *pgxpool.Pool // on the server's maintenance database: creates and drops ours
	dbNames [2]string     // sesame, limit
	sesDSN  string
	natsURL string

	nats, limit, api, worker *proc
	natsAddr, limitURL       string
	apiURL, apiDebug         string
	workerDebug              string // the running smsworker's pprof

	twilio *fakeprovider.Twilio
	nc     *natsgo.Conn // the driver's, for purges and consumer state
	js     jetstream.JetStream

	db        *postgres.DB // the api's database, for fixtures
	keys      *auth.Keyring
	secretEnv string
	svc       *auth.Service // fixtures only (never serves)
	project   *auth.Project
	projectID string
	secret    string
	bearer    http.Header // Streambird
	basic     http.Header // Stytch
	org       *auth.Organization
	adminKey  string
	// algProjects are extra projects whose session JWTs use another
	// algorithm (per-project jwt_algorithm), when the api offers it.
	algProjects []algProject

	phoneSeq atomic.Int64 // distinct phone numbers across the whole run
	poolMu   sync.Mutex
	pool     map[string][]method // existing users' phones by project id
	members  []*auth.Member      // the benchmark organization's, with an MFA phone
	orgPools map[string]*orgPool // the B2B primary-factor rows' organizations by slug
	analyzed int                 // pool sizes at the last ANALYZE
	log      *slog.Logger
}

// sep is the separator before one more query parameter of a URL.
func sep(url string) string {
	if strings.Contains(url, "?") {
		return "&"
	}
	return "?"
}

// phone returns a distinct valid US number for every call.
func (s *system) phone() string {
	return fmt.Sprintf("+1%s%07d", "415", 2000000+s.phoneSeq.Add(1))
}

// limitPrefill is how many rows the limit server's /verify cycles through.
const limitPrefill = 200000

func newSystem(ctx context.Context, cfg Config, stderr io.Writer) (s *system, err error) {
	s = &system{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), orgPools: map[string]*orgPool{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "sesame-bench-*"); err != nil {
		return s, err
	}
	for _, b := range []string{"api", "smsworker", "limitserver"} {
		if _, err := os.Stat(filepath.Join(cfg.Bin, b)); err != nil {
			return s, fmt.Errorf("%s/%s missing: run `make build` (or `go build -o bin/ ./cmd/...`) first", cfg.Bin, b)
		}
	}
	if s.admin, err = pgxpool.New(ctx, cfg.DatabaseURL+sep(cfg.DatabaseURL)+"pool_max_conns=1"); err != nil {
		return s, fmt.Errorf("postgres: %w", err)
	}
	tag := strconv.Itoa(os.Getpid())
	s.dbNames = [2]string{"sesame_bench_" + tag, "sesame_bench_limit_" + tag}
	for _, n := range s.dbNames {
		if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{n}.Sanitize()); err != nil {
			return s, fmt.Errorf("create database %s: %w", n, err)
		}
	}
	sesDSN, err := dbURL(cfg.DatabaseURL, s.dbNames[0])
	if err != nil {
		return s, err
	}
	limitDSN, _ := dbURL(cfg.DatabaseURL, s.dbNames[1])
	s.sesDSN = sesDSN

	addrs, err := freeAddrs(5)
	if err != nil {
		return s, err
	}
	s.natsAddr, s.limitURL, s.apiURL = addrs[0], "http://"+addrs[1], "http://"+addrs[2]
	s.natsURL = "nats://" + s.natsAddr
	apiDebug := addrs[3]
	s.apiDebug = "http://" + apiDebug

	self, err := os.Executable()
	if err != nil {
		return s, err
	}
	if s.nats, err = start(s.dir, "nats-server", self, []string{"nats-server", "-addr", s.natsAddr, "-store", filepath.Join(s.dir, "js")}, nil); err != nil {
		return s, err
	}
	if err := s.nats.waitTCP(s.natsAddr, 20*time.Second); err != nil {
		return s, err
	}
	fmt.Fprintf(stderr, "bench: nats-server pid %d on %s\n", s.nats.pid(), s.natsAddr)

	if s.limit, err = start(s.dir, "limitserver", filepath.Join(cfg.Bin, "limitserver"), []string{"-prefill", strconv.Itoa(limitPrefill)},
		map[string]string{"DATABASE_URL": limitDSN, "NATS_URL": s.natsURL, "HTTP_ADDR": addrs[1]}); err != nil {
		return s, err
	}
	if err := s.limit.waitHTTP(ctx, s.limitURL+"/healthz", 60*time.Second); err != nil {
		return s, err
	}

	s.twilio = fakeprovider.NewTwilio()
	s.secretEnv = auth.MustGenerateKey()
	s.projectID = "project-test-" + auth.NewUUID()
	s.secret = "secret-test-" + auth.NewToken()
	s.adminKey = auth.MustGenerateKey()
	if s.api, err = start(s.dir, "api", filepath.Join(cfg.Bin, "api"), nil, map[string]string{
		"DATABASE_URL": sesDSN, "NATS_URL": s.natsURL, "HTTP_ADDR": addrs[2], "PUBLIC_URL": s.apiURL,
		"SECRET_KEYS": s.secretEnv, "BOOTSTRAP_PROJECT_ID": s.projectID, "BOOTSTRAP_PROJECT_SECRET": s.secret,
		"DEBUG_ADDR": apiDebug, "LOG_LEVEL": "warn", "ADMIN_API_KEY": s.adminKey,
		// Limits that would refuse a benchmark's traffic (thousands of
		// sends a second to one country, few codes ever verified) are off;
		// everything else is cmd/api's default. See docs/benchmarks.md.
		"SEND_LIMIT": "1000000000", "VERIFY_LIMIT": "1000000000", "SMS_LIMIT_PER_COUNTRY": "0", "SMS_LIMIT_PER_PREFIX": "0", "SMS_PUMPING_GUARD": "off",
	}); err != nil {
		return s, err
	}
	if err := s.api.waitHTTP(ctx, s.apiURL+"/readyz", 60*time.Second); err != nil {
		return s, err
	}
	fmt.Fprintf(stderr, "bench: api pid %d on %s (pprof on %s), limitserver pid %d on %s\n", s.api.pid(), s.apiURL, apiDebug, s.limit.pid(), s.limitURL)

	// The box's Postgres is shared: wait out a moment of "too many clients".
	for try := 0; ; try++ {
		if s.db, err = postgres.Open(ctx, sesDSN, postgres.WithMaxConns(fixtureConns)); err == nil || try == 10 || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		return s, err
	}
	if s.keys, err = auth.ParseKeyring(s.secretEnv); err != nil {
		return s, err
	}
	s.svc = auth.NewService(s.db, nil, s.keys, nil, nil, s.log, auth.Config{SendLimit: 1 << 30, VerifyLimit: 1 << 30})
	if s.project, err = s.svc.AuthenticateBearer(ctx, s.secret); err != nil {
		return s, fmt.Errorf("bootstrap project: %w", err)
	}
	s.bearer = http.Header{"Authorization": {"Bearer " + s.secret}, "Content-Type": {"application/json"}}
	s.basic = http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(s.projectID+":"+s.secret))},
		"Content-Type": {"application/json"}}
	for _, alg := range []string{"ES256", "EdDSA"} {
		ap, why := s.newAlgProject(ctx, alg)
		if ap == nil {
			fmt.Fprintf(stderr, "bench: no %s rows: %s\n", alg, why)
			continue
		}
		s.algProjects = append(s.algProjects, *ap)
	}
	return s, nil
}

// algProject is a project whose session JWTs use alg.
type algProject struct {
	alg     string
	project *auth.Project
	bearer  http.Header
}

// newAlgProject creates a test project with settings.jwt_algorithm = alg
// through the admin API and checks, with one verify that starts a
// session, that its JWT really is signed with alg. nil and the reason
// when the api does not offer it.
func (s *system) newAlgProject(ctx context.Context, alg string) (*algProject, string) {
	body := fmt.Sprintf(`{"name":"bench %s","environment":"test","settings":{"jwt_algorithm":%q}}`, alg, alg)
	var created struct {
		Secret string `json:"secret"`
	}
	if err := s.call(ctx, "/v1/admin/projects", http.Header{"Authorization": {"Bearer " + s.adminKey}}, body, http.StatusCreated, &created); err != nil {
		return nil, err.Error()
	}
	p, err := s.svc.AuthenticateBearer(ctx, created.Secret)
	if err != nil {
		return nil, err.Error()
	}
	ap := &algProject{alg: alg, project: p, bearer: http.Header{"Authorization": {"Bearer " + created.Secret}, "Content-Type": {"application/json"}}}
	cs, err := s.codesOf(ctx, p, 1, 10*time.Minute)
	if err != nil {
		return nil, err.Error()
	}
	var out struct {
		JWT string `json:"session_jwt"`
	}
	if err := s.call(ctx, "/v1/auth/otps/verify", ap.bearer, fmt.Sprintf(`{"method_id":%q,"otp":%q,"session_expires_in":60}`, cs[0].methodID, cs[0].code), http.StatusOK, &out); err != nil {
		return nil, err.Error()
	}
	if got := jwtAlg(out.JWT); got != alg {
		return nil, fmt.Sprintf("the api signed with %q (per-project jwt_algorithm not offered)", got)
	}
	return ap, ""
}

// jwtAlg is the alg of a compact JWS's header ("" if unreadable).
func jwtAlg(jwt string) string {
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.Alg
}

// call POSTs body to the api and decodes a want answer into out.
func (s *system) call(ctx context.Context, path string, h http.Header, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: %d %.200s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// startWorker starts bin/smsworker against the fake Twilio and waits until
// it consumes.
func (s *system) startWorker(ctx context.Context) error {
	addrs, err := freeAddrs(2)
	if err != nil {
		return err
	}
	if s.worker, err = start(s.dir, "smsworker", filepath.Join(s.cfg.Bin, "smsworker"), nil, map[string]string{
		"DATABASE_URL": s.sesDSN, "NATS_URL": s.natsURL, "HTTP_ADDR": addrs[0], "LOG_LEVEL": "warn",
		"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "ACbench", "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM": "+15005550006",
		"TWILIO_BASE_URL": s.twilio.URL(), "DEBUG_ADDR": addrs[1],
	}); err != nil {
		return err
	}
	s.workerDebug = "http://" + addrs[1]
	return s.worker.waitHTTP(ctx, "http://"+addrs[0]+"/readyz", 60*time.Second)
}

func (s *system) stopWorker() {
	s.worker.stop()
	s.worker = nil
}

// probe is the CPU accounting of the processes of a Sesame row or of a
// limit-server row.
func (s *system) probe(limit bool) cpuProbe {
	one := func(p **proc) func() []int {
		return func() []int {
			if *p == nil {
				return nil
			}
			return []int{(*p).pid()}
		}
	}
	self := os.Getpid()
	pr := cpuProbe{
		ProcNATS: one(&s.nats),
		ProcLoad: func() []int { return []int{self} },
	}
	if limit {
		pr[ProcLimit] = one(&s.limit)
		pr[ProcPostgres] = func() []int { return backendsOf(s.dbNames[1]) }
	} else {
		pr[ProcAPI] = one(&s.api)
		pr[ProcPostgres] = func() []int { return backendsOf(s.dbNames[0]) }
		if s.worker != nil {
			pr[ProcWorker] = one(&s.worker)
		}
	}
	return pr
}

func (s *system) close() {
	s.stopWorker()
	if s.nc != nil {
		s.nc.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	s.api.stop()
	s.limit.stop()
	s.nats.stop()
	if s.twilio != nil {
		s.twilio.Close()
	}
	if s.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, n := range s.dbNames {
			if n != "" {
				_, _ = s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
			}
		}
		cancel()
		s.admin.Close()
	}
	if s.dir != "" && !s.cfg.KeepDir {
		os.RemoveAll(s.dir)
	}
}
