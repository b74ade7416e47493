package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// tripCounter is a pgx tracer on the api's pool that counts what reaches
// Postgres: round trips (a query, or a whole pipelined batch), statements,
// and the round trips that touch projects, their secrets or settings. The
// published marks are not counted: the service writes them in the
// background, batched across sends, off every request's path.
type tripCounter struct{ trips, stmts, projectTrips atomic.Int64 }

func isProjectSQL(sql string) bool {
	return strings.Contains(sql, "project_secrets") || strings.Contains(sql, "FROM projects") || strings.Contains(sql, "UPDATE projects")
}

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "DELETE FROM message_outbox WHERE message_id = ANY") {
		return ctx
	}
	c.trips.Add(1)
	c.stmts.Add(1)
	if isProjectSQL(d.SQL) {
		c.projectTrips.Add(1)
	}
	return ctx
}

func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	for _, q := range d.Batch.QueuedQueries {
		if isProjectSQL(q.SQL) {
			c.projectTrips.Add(1)
			break
		}
	}
	return ctx
}

func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.stmts.Add(1)
}

func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *tripCounter) snapshot() [3]int64 {
	return [3]int64{c.trips.Load(), c.stmts.Load(), c.projectTrips.Load()}
}

// projectsSys is the api's two dialects behind a real HTTP server over a
// real Postgres whose pool a tripCounter traces, with n projects in the
// store, each with its own secret and settings, and the project change
// listener running (as cmd/api runs it).
type projectsSys struct {
	counter  *tripCounter
	svc      *auth.Service
	pub      *authtest.Publisher
	api      *httptest.Server
	client   *http.Client
	projects []benchProject
}

type benchProject struct{ id, secret string }

func newProjectsSys(b *testing.B, n int) *projectsSys {
	b.Helper()
	s := &projectsSys{counter: &tripCounter{}, pub: &authtest.Publisher{}}
	db := pgtest.MustOpenDB(b, postgres.WithTracer(s.counter), postgres.WithMaxConns(8))
	keys, err := auth.NewKeyring([]byte("e2e-test-root-key-32-bytes-long!"))
	if err != nil {
		b.Fatal(err)
	}
	signer := jwt.New(db, keys, jwt.Options{Project: func(ctx context.Context, id string) auth.JWTSettings { return s.svc.JWTSettings(ctx, id) }})
	// The limits stay on (checked in the send's and the verify's batch) but never refuse.
	s.svc = auth.NewService(db, s.pub, keys, signer, nil, testLogger(), auth.Config{SendLimit: 1 << 30, VerifyLimit: 1 << 30})
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan struct{})
	done := make(chan struct{})
	go func() { s.svc.WatchProjects(ctx, watching); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	<-watching

	perIP := 1_000_000
	for i := range n {
		p := benchProject{id: "project-test-" + auth.NewUUID(), secret: "secret-test-" + auth.NewToken()}
		if err := s.svc.EnsureProject(ctx, p.id, p.secret); err != nil {
			b.Fatal(err)
		}
		st := auth.Settings{SendLimit: 1_000_000, VerifyLimit: 1_000_000, VerifyLimitPerIP: &perIP, OTPExpirationMinutes: 1 + i%10,
			JWTAlgorithm: []string{auth.JWTRS256, auth.JWTES256, auth.JWTEdDSA}[i%3],
			RedirectURLs: []auth.RedirectURL{{URL: fmt.Sprintf("https://app%d.example/auth", i),
				ValidTypes: []auth.RedirectURLType{{Type: auth.RedirectLogin, IsDefault: true}}}}}
		if _, err := s.svc.UpdateProject(ctx, p.id, auth.UpdateProjectInput{Settings: &st}); err != nil {
			b.Fatal(err)
		}
		s.projects = append(s.projects, p)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/auth/", streambird.NewHandler(s.svc, streambird.Options{Logger: testLogger()}))
	mux.Handle("/v1/", stytch.NewHandler(s.svc, stytch.Options{Logger: testLogger()}))
	s.api = httptest.NewServer(mux)
	b.Cleanup(s.api.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	s.client = &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	return s
}

// post sends body to path as project p in the dialect of the path
// (Streambird: Bearer secret; Stytch: Basic project_id:secret) and decodes
// a 200 answer into out.
func (s *projectsSys) post(p benchProject, path string, body []byte, out any) error {
	req, err := http.NewRequest(http.MethodPost, s.api.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if strings.HasPrefix(path, "/v1/auth/") {
		req.Header.Set("Authorization", "Bearer "+p.secret)
	} else {
		req.SetBasicAuth(p.id, p.secret)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// projectDialect is one dialect's email send and code verify.
type projectDialect struct {
	name, send, verify, codeField string
}

var projectDialects = []projectDialect{
	{"streambird", "/v1/auth/otps/email/login_or_create", "/v1/auth/otps/verify", "otp"},
	{"stytch", "/v1/otps/email/login_or_create", "/v1/otps/authenticate", "code"},
}

// sendCode sends a code to a fresh address in project p and returns its
// method id and code.
func (s *projectsSys) sendCode(d projectDialect, p benchProject, i int) (methodID, code string, err error) {
	to := fmt.Sprintf("p%d-%s@example.test", i, auth.NewUUID()[:8])
	var res struct {
		EmailID string `json:"email_id"`
	}
	if err := s.post(p, d.send, fmt.Appendf(nil, `{"email":%q}`, to), &res); err != nil {
		return "", "", err
	}
	ev := s.pub.Last(to, auth.KindOTP)
	if ev == nil || res.EmailID == "" {
		return "", "", fmt.Errorf("no code or email_id for %s (%+v)", to, res)
	}
	return res.EmailID, ev.Code, nil
}

// BenchmarkProjectResolution shows that resolving the project of a request
// (its secret, through the in-process cache) and its settings (limits,
// expirations, JWT algorithm, redirect URLs) adds no database round trip to
// a send or a verify, with 1 project in the store as with 1,000: POST
// email login_or_create and POST verify of the right code, in both dialects,
// over HTTP through the real handlers and real Postgres, the requests going
// round robin over every project (each project's first request, its cache
// miss, happens before the timer). It reports, per request, the round trips
// to Postgres (db_roundtrips/op), the statements (db_statements/op), and the
// round trips that touched projects, secrets or settings
// (project_roundtrips/op); the send's and the verify's own SQL are one round
// trip each (TestSendCostsOneRoundTrip, TestVerifyCostsOneRoundTrip), so
// db_roundtrips/op = 1 and project_roundtrips/op = 0 is the claim.
// miss_roundtrips is what one project's first request cost (the cache
// miss), for scale.
//
//	go test ./internal/e2e -run '^$' -bench BenchmarkProjectResolution -benchtime 2000x
func BenchmarkProjectResolution(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("projects=%d", n), func(b *testing.B) {
			s := newProjectsSys(b, n)
			for _, d := range projectDialects {
				// Each project's first request: the cache miss, not timed.
				c0 := s.counter.snapshot()
				for i, p := range s.projects {
					if _, _, err := s.sendCode(d, p, i); err != nil {
						b.Fatal(err)
					}
				}
				c1 := s.counter.snapshot()
				miss := float64(c1[0]-c0[0])/float64(n) - 1
				b.Run(d.name+"/send", func(b *testing.B) {
					c0 := s.counter.snapshot()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, _, err := s.sendCode(d, s.projects[i%n], i); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					s.report(b, c0, miss)
				})
				b.Run(d.name+"/verify", func(b *testing.B) {
					type issued struct{ methodID, code string }
					codes := make([]issued, b.N)
					for i := range codes {
						m, c, err := s.sendCode(d, s.projects[i%n], i)
						if err != nil {
							b.Fatal(err)
						}
						codes[i] = issued{m, c}
					}
					c0 := s.counter.snapshot()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						body := fmt.Appendf(nil, `{"method_id":%q,%q:%q}`, codes[i].methodID, d.codeField, codes[i].code)
						if err := s.post(s.projects[i%n], d.verify, body, nil); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					s.report(b, c0, miss)
				})
			}
		})
	}
}

func (s *projectsSys) report(b *testing.B, c0 [3]int64, miss float64) {
	c := s.counter.snapshot()
	n := float64(b.N)
	b.ReportMetric(float64(c[0]-c0[0])/n, "db_roundtrips/op")
	b.ReportMetric(float64(c[1]-c0[1])/n, "db_statements/op")
	b.ReportMetric(float64(c[2]-c0[2])/n, "project_roundtrips/op")
	b.ReportMetric(miss, "miss_roundtrips")
}
