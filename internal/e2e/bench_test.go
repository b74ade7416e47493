package e2e_test

// IN-PROCESS benchmarks (`make bench-inproc`; `make bench` is the HTTP
// benchmark of cmd/bench against bin/limitserver, the one to quote).
// Benchmarks of the whole in-process system (real Postgres, embedded
// JetStream over TCP, the real handlers behind an HTTP server, the real
// smsworker), each measured against the primitive that bounds it, in the
// same process and the same run. This box is noisy and shared (see
// docs/benchmarks.md), so absolute ns/op are not comparable across runs;
// the ratios are:
//
//	x_primitive = our ns/op ÷ the primitive's ns/op, the primitive measured for
//	              a fixed number of ops at the same concurrency right before
//	              the operation, inside the same benchmark function
//	x_limit     = our ns/op ÷ the "limit server" of the perf baseline (one
//	              INSERT + one publish per send, one UPDATE per verify) served
//	              in-process by the same HTTP server, pool and NATS connection
//
// Only `go test -bench` runs them: nothing here runs under plain `go test`.
//
// Knobs (environment):
//
//	SESAME_BENCH_PG_MAX_CONNS  pgxpool size of the system (default 32, as the
//	                           baseline's limit server and peer; cmd/api's
//	                           default is pgxpool's max(4, NumCPU))
//	SESAME_BENCH_PROVIDER_LATENCY=200ms  fake provider latency in
//	                           BenchmarkDeliveryThroughput (default 0)
//	SESAME_BENCH_TRACE=1       time every statement, batch, pool acquire and
//	                           inline publish of the measured operation and
//	                           print a per-request breakdown and the CPU
//	                           per request to stderr (adds overhead:
//	                           use it to explain the ratios, not to get them)
//
// Besides the ratios, every operation reports prim_drift: the primitive
// measured again after the operation, ÷ its measurement before. Far from 1
// means the box's load changed during the benchmark: distrust that run.

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/limit"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
	"github.com/sesame-auth/sesame/internal/twilio"
	"github.com/sesame-auth/sesame/internal/worker"
)

// benchParallelism × GOMAXPROCS goroutines run every operation and every
// primitive: 32 concurrent clients on the 2-core box, as the baseline's c=32.
const benchParallelism = 16

// Fixed numbers of primitive ops measured before each operation.
const (
	primOpsDB      = 4000  // INSERT, UPDATE…RETURNING, limit-server requests
	primOpsConsume = 30000 // JetStream Consume+Ack (messages)
	primOpsSign    = 1000  // RSA-2048 PKCS#1 v1.5 sign
	primOpsVerify  = 20000 // RSA-2048 PKCS#1 v1.5 verify
)

func benchConc() int { return benchParallelism * runtime.GOMAXPROCS(0) }

func benchPGConns() int32 {
	if v, err := strconv.Atoi(os.Getenv("SESAME_BENCH_PG_MAX_CONNS")); err == nil && v > 0 {
		return int32(v)
	}
	return 32
}

// benchSys is newSystem's deployment built for a *testing.B: the api
// handlers of both dialects behind an HTTP server, the outbox relay with
// cmd/api's defaults, an embedded JetStream server over TCP, a fake Twilio
// (zero latency), no worker unless a benchmark starts one, and per-recipient
// send limits that never trip. It also holds the primitives: a scratch
// table bench_otp (the baseline's otp table) in the same database and
// pool, a scratch stream BENCH on the same server and connection, and the
// baseline's limit server mounted at /limit/.
type benchSys struct {
	db      *postgres.DB
	pool    *pgxpool.Pool
	keys    *auth.Keyring
	signer  *jwt.Signer
	svc     *auth.Service
	project *auth.Project
	secret  string
	api     *httptest.Server
	client  *http.Client
	twilio  *fakeprovider.Twilio
	natsURL string
	js      jetstream.JetStream
	log     *slog.Logger

	lim     *limit.Server // the limit server and its primitives, on bench_otp
	otpIDs  []string      // prefilled bench_otp rows for the UPDATE primitive
	payload []byte        // 256 B
	trace   *stepTrace    // nil unless SESAME_BENCH_TRACE is set
}

// benchPrefillRows is how many bench_otp rows the UPDATE primitive and
// the limit server's /verify pick from.
const benchPrefillRows = 20000

func newBenchSys(b *testing.B) *benchSys {
	b.Helper()
	ctx := context.Background()
	e := &benchSys{log: testLogger(), payload: bytes.Repeat([]byte("x"), 256)}

	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: b.TempDir(), Port: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	e.natsURL = ns.ClientURL()
	nc, err := nats.Connect(e.natsURL, nats.WithLogger(e.log))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		b.Fatal(err)
	}
	if _, err := nats.EnsureStream(ctx, e.js, nats.StreamOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"},
		Storage: jetstream.FileStorage, Replicas: 1}); err != nil {
		b.Fatal(err)
	}

	opts := []postgres.Option{postgres.WithMaxConns(benchPGConns())}
	if os.Getenv("SESAME_BENCH_TRACE") != "" {
		e.trace = &stepTrace{steps: map[string]*stepStat{}}
		opts = append(opts, postgres.WithTracer(e.trace))
	}
	e.db = pgtest.MustOpenDB(b, opts...)
	e.pool = e.db.Pool()
	// The baseline's limit server (internal/limit, as bin/limitserver): its
	// table and primitives, on the system's pool and NATS connection.
	e.lim = limit.New(e.pool, e.js, "bench_otp", "bench.otp.sent")
	if err := e.lim.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}
	if err := e.lim.Prefill(ctx, benchPrefillRows); err != nil {
		b.Fatal(err)
	}
	e.otpIDs = make([]string, benchPrefillRows)
	for k := range e.otpIDs {
		e.otpIDs[k] = limit.PrefillID(k + 1)
	}

	e.keys, _ = auth.NewKeyring([]byte("e2e-test-root-key-32-bytes-long!"))
	e.signer = jwt.New(e.db, e.keys, jwt.Options{})
	var pub auth.Publisher = nats.NewPublisher(e.js)
	if e.trace != nil {
		pub = timedPublisher{pub, e.trace}
	}
	e.svc = auth.NewService(e.db, pub, e.keys, e.signer, nil, e.log, auth.Config{SendLimit: 1 << 30, VerifyLimit: 1 << 30, Abuse: auth.AbuseConfig{PerCountry: auth.Rate{Limit: -1}, PerPrefix: auth.Rate{Limit: -1}, Pumping: auth.PumpingConfig{Off: true}}})
	e.secret = "sk_test_" + auth.NewToken()
	if err := e.svc.EnsureProject(ctx, "project-test-"+auth.NewUUID(), e.secret); err != nil {
		b.Fatal(err)
	}
	if e.project, err = e.svc.AuthenticateBearer(ctx, e.secret); err != nil {
		b.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/auth/", streambird.NewHandler(e.svc, streambird.Options{Logger: e.log}))
	mux.Handle("/v1/", stytch.NewHandler(e.svc, stytch.Options{Logger: e.log}))
	// The limit server on the same HTTP server.
	mux.HandleFunc("POST /limit/send", e.lim.Send)
	mux.HandleFunc("POST /limit/verify", e.lim.Verify)
	e.api = httptest.NewServer(mux)
	b.Cleanup(e.api.Close)
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	e.client = &http.Client{Transport: tr, Timeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	e.twilio = fakeprovider.NewTwilio()
	b.Cleanup(e.twilio.Close)

	rctx, cancel := context.WithCancel(context.Background())
	relay := &auth.Relay{Store: e.db, Publisher: nats.NewPublisher(e.js), Keys: e.keys, Log: e.log, Wake: e.svc.RelayWake()} // cmd/api's defaults
	done := make(chan struct{})
	go func() { relay.Run(rctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return e
}

// ---- primitives (op index i → one op) ----

func (e *benchSys) primInsert(i int) error {
	_, _, err := e.lim.Insert(context.Background(), "sms:+1650"+strconv.Itoa(i), strconv.Itoa(i), "bench/1.0")
	return err
}

func (e *benchSys) primUpdate(int) error {
	_, _, _, err := e.lim.Update(context.Background(), e.otpIDs[mrand.IntN(len(e.otpIDs))])
	return err
}

func (e *benchSys) primPublish(int) error {
	_, err := e.js.Publish(context.Background(), "bench.otp.sent", e.payload)
	return err
}

func (e *benchSys) limitSendOp(i int) error {
	return e.post("/limit/send", fmt.Appendf(nil, `{"email":"limit_%d_%d@example.test"}`, mrand.Uint32(), i), nil)
}

func (e *benchSys) limitVerifyOp(int) error {
	return e.post("/limit/verify", fmt.Appendf(nil, `{"id":%q}`, e.otpIDs[mrand.IntN(len(e.otpIDs))]), nil)
}

// primConsume is the baseline's N3 on the scratch stream: n messages of
// 256 B preloaded, a durable pull consumer, Consume + Ack, timed until the
// server shows nothing pending. Returns ns per message.
func (e *benchSys) primConsume(b *testing.B, n int) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	subject := "bench.consume." + strconv.Itoa(int(mrand.Uint32()))
	for i := 0; i < n; i++ {
		if _, err := e.js.PublishAsync(subject, e.payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("preload: publish acks did not arrive")
	}
	cons, err := e.js.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{
		Durable: "consume" + strconv.Itoa(int(mrand.Uint32())), FilterSubject: subject,
		AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	all := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(all)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-all:
	case <-ctx.Done():
		b.Fatalf("consume primitive: %d of %d messages", got.Load(), n)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	cc.Stop()
	_ = e.js.DeleteConsumer(ctx, "BENCH", cons.CachedInfo().Name)
	return float64(el.Nanoseconds()) / float64(n)
}

// ---- drivers ----

// post sends an authenticated JSON request to the api and decodes a 200
// answer into out (if not nil); any other status is an error.
func (e *benchSys) post(path string, body []byte, out any) error {
	req, err := http.NewRequest(http.MethodPost, e.api.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
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

// runOps runs op(0) … op(ops-1) on conc goroutines and returns the wall
// time per op in ns. Any failure fails the benchmark.
func runOps(b *testing.B, conc, ops int, op func(i int) error) float64 {
	b.Helper()
	var (
		next, failed atomic.Int64
		once         sync.Once
		first        error
		wg           sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= ops {
					return
				}
				if err := op(i); err != nil {
					failed.Add(1)
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d ops failed; first: %v", n, ops, first)
	}
	return float64(el.Nanoseconds()) / float64(ops)
}

// reference is a primitive the operation is compared with.
type reference struct {
	metric string // ratio metric: "x_primitive", "x_limit"
	ops    int
	op     func(i int) error
}

// compare warms up, measures every reference for its fixed number of ops
// at benchConc() concurrency, then runs op b.N times under RunParallel at
// the same concurrency, and reports ns/op (by the framework), the rate in
// rateUnit and, per reference, our ns/op ÷ its ns/op plus its own ns/op.
// op gets a per-benchmark sequence number (warm-up ops included).
func compare(b *testing.B, e *benchSys, rateUnit string, refs []reference, warm int, op func(i int) error) {
	b.Helper()
	conc := benchConc()
	var seq atomic.Int64
	next := func() int { return int(seq.Add(1)) - 1 }
	// Warm-up: open the pool's and the HTTP client's connections, prepare
	// statements, create the JWT keys; not measured.
	for _, r := range refs {
		runOps(b, conc, min(r.ops, 2*conc), r.op)
	}
	if warm > 0 {
		runOps(b, conc, warm, func(int) error { return op(next()) })
	}
	refNs := make([]float64, len(refs))
	for i, r := range refs {
		c0 := readCPU()
		refNs[i] = runOps(b, conc, r.ops, r.op)
		if e.trace != nil {
			c := readCPU()
			fmt.Fprintf(os.Stderr, "trace %s N=%d: reference %s: %.0f ns/op, machine CPU busy per op %.0f µs, this process %.0f µs\n",
				b.Name(), b.N, r.metric, refNs[i], float64(c.busy-c0.busy)*1e4/float64(r.ops), float64(c.self-c0.self)*1e4/float64(r.ops))
		}
	}
	var (
		failed atomic.Int64
		once   sync.Once
		first  error
	)
	b.SetParallelism(benchParallelism)
	e.trace.reset()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(next()); err != nil {
				failed.Add(1)
				once.Do(func() { first = err })
			}
		}
	})
	b.StopTimer()
	e.trace.log(b, conc)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d ops failed; first: %v", n, b.N, first)
	}
	reportRatios(b, rateUnit, refs, refNs)
	if len(refs) > 0 {
		b.ReportMetric(runOps(b, conc, refs[0].ops, refs[0].op)/refNs[0], "prim_drift")
	}
}

func reportRatios(b *testing.B, rateUnit string, refs []reference, refNs []float64) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/ns, rateUnit)
	for i, r := range refs {
		b.ReportMetric(ns/refNs[i], r.metric)
		name := "prim"
		if r.metric == "x_limit" {
			name = "limit"
		}
		b.ReportMetric(refNs[i], name+"_ns/op")
	}
}

// runPrimitive benchmarks a primitive by itself under RunParallel.
func runPrimitive(b *testing.B, op func(i int) error) {
	conc := benchConc()
	runOps(b, conc, 2*conc, op) // warm-up
	var (
		seq, failed atomic.Int64
		once        sync.Once
		first       error
	)
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(int(seq.Add(1))); err != nil {
				failed.Add(1)
				once.Do(func() { first = err })
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d ops failed; first: %v", n, b.N, first)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// phone returns the i-th distinct valid US number of an area code.
func phone(area string, i int) string { return fmt.Sprintf("+1%s%07d", area, 2000000+i) }

// createRecipients creates n active users with phones +1<area>…, one
// statement each (the send's resolve step), and returns the numbers.
func (e *benchSys) createRecipients(b *testing.B, n int, area string) []string {
	b.Helper()
	out := make([]string, n)
	runOps(b, benchConc(), n, func(i int) error {
		out[i] = phone(area, i)
		_, _, _, _, err := e.db.ResolveMethod(context.Background(), e.project, auth.ChannelSMS, out[i], true, false)
		return err
	})
	return out
}

type issuedCode struct{ methodID, code string }

// issueCodes creates n users with a phone each and a live code per phone,
// through the store: the state a send leaves behind (minus the outbox row).
func (e *benchSys) issueCodes(b *testing.B, n int, area string) []issuedCode {
	b.Helper()
	out := make([]issuedCode, n)
	runOps(b, benchConc(), n, func(i int) error {
		ctx := context.Background()
		uid, mid, _, _, err := e.db.ResolveMethod(ctx, e.project, auth.ChannelSMS, phone(area, i), true, false)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, e.project), ProjectID: e.project.ID, UserID: uid, MethodID: mid,
			Channel: auth.ChannelSMS, ExpiresAt: now.Add(10 * time.Minute), CreatedAt: now}
		code := auth.NewCode()
		c.CodeHMAC = e.keys.CodeMAC(c.ID, code)
		out[i] = issuedCode{mid, code}
		return e.db.CreateChallenge(ctx, c, nil, nil)
	})
	return out
}

func (e *benchSys) purgeStream(b *testing.B) {
	ctx := context.Background()
	st, err := e.js.Stream(ctx, nats.StreamName)
	if err == nil {
		err = st.Purge(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// ---- primitives by themselves ----

// BenchmarkPrimitiveInsert is the send's binding primitive: one INSERT of
// an OTP row (the baseline's P1) through the system's pgxpool.
func BenchmarkPrimitiveInsert(b *testing.B) {
	e := newBenchSys(b)
	runPrimitive(b, e.primInsert)
}

// BenchmarkPrimitiveUpdateReturning is the verify's binding primitive:
// UPDATE … SET attempts = attempts+1 WHERE id=$1 RETURNING … (P2).
func BenchmarkPrimitiveUpdateReturning(b *testing.B) {
	e := newBenchSys(b)
	runPrimitive(b, e.primUpdate)
}

// BenchmarkPrimitivePublish is a JetStream sync publish of 256 B waiting
// for the PubAck (N1) on the system's server and connection.
func BenchmarkPrimitivePublish(b *testing.B) {
	e := newBenchSys(b)
	runPrimitive(b, e.primPublish)
}

// ---- operations ----

// BenchmarkSendOTP is POST /v1/auth/otps/sms/login_or_create (Streambird),
// every request to a distinct recipient, no worker running (events pile up
// in the stream, purged afterwards). new_recipient creates the user and
// phone (the peer's S1 shape); existing_recipient sends to users created
// beforehand (the peer's S2 shape).
func BenchmarkSendOTP(b *testing.B) {
	b.Run("new_recipient", func(b *testing.B) { benchSend(b, false) })
	b.Run("existing_recipient", func(b *testing.B) { benchSend(b, true) })
}

func benchSend(b *testing.B, existing bool) {
	e := newBenchSys(b)
	warm := 2 * benchConc()
	var phones []string
	if existing {
		phones = e.createRecipients(b, b.N+warm, "650")
	}
	op := func(i int) error {
		to := phone("415", i)
		if existing {
			to = phones[i]
		}
		return e.post("/v1/auth/otps/sms/login_or_create", fmt.Appendf(nil, `{"phone_number":%q}`, to), nil)
	}
	compare(b, e, "req/s", []reference{
		{"x_primitive", primOpsDB, e.primInsert},
		{"x_limit", primOpsDB, e.limitSendOp},
	}, warm, op)
	e.purgeStream(b)
}

// BenchmarkVerifyOTP is POST /v1/auth/otps/verify with the right code, each
// code (and method) used once, codes issued before the timer starts.
// no_session answers the user; with_session also starts a session and
// signs its JWT (RS256), as the peer's /verify does.
func BenchmarkVerifyOTP(b *testing.B) {
	b.Run("no_session", func(b *testing.B) { benchVerify(b, false) })
	b.Run("with_session", func(b *testing.B) { benchVerify(b, true) })
}

func benchVerify(b *testing.B, session bool) {
	e := newBenchSys(b)
	warm := 2 * benchConc()
	codes := e.issueCodes(b, b.N+warm, "415")
	extra := ""
	if session {
		extra = `,"session_expires_in":60`
	}
	op := func(i int) error {
		return e.post("/v1/auth/otps/verify", fmt.Appendf(nil, `{"method_id":%q,"otp":%q%s}`, codes[i].methodID, codes[i].code, extra), nil)
	}
	compare(b, e, "req/s", []reference{
		{"x_primitive", primOpsDB, e.primUpdate},
		{"x_limit", primOpsDB, e.limitVerifyOp},
	}, warm, op)
}

// BenchmarkSessionAuthenticate is POST /v1/auth/sessions/verify with a
// session token: find the session, record the access, load the user, sign
// a fresh JWT. 512 sessions are used round robin.
func BenchmarkSessionAuthenticate(b *testing.B) {
	e := newBenchSys(b)
	const sessions = 512
	codes := e.issueCodes(b, sessions, "415")
	tokens := make([]string, sessions)
	runOps(b, benchConc(), sessions, func(i int) error {
		var out struct {
			SessionToken string `json:"session_token"`
		}
		err := e.post("/v1/auth/otps/verify", fmt.Appendf(nil, `{"method_id":%q,"otp":%q,"session_expires_in":600}`, codes[i].methodID, codes[i].code), &out)
		tokens[i] = out.SessionToken
		return err
	})
	op := func(i int) error {
		return e.post("/v1/auth/sessions/verify", fmt.Appendf(nil, `{"session_token":%q}`, tokens[i%sessions]), nil)
	}
	compare(b, e, "req/s", []reference{
		{"x_primitive", primOpsDB, e.primUpdate},
		{"x_limit", primOpsDB, e.limitVerifyOp},
	}, 2*benchConc(), op)
}

// benchSession returns a session of a real user for the JWT benchmarks.
func (e *benchSys) benchSession(b *testing.B) *auth.Session {
	uid, mid, _, _, err := e.db.ResolveMethod(context.Background(), e.project, auth.ChannelSMS, phone("415", 0), true, false)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	return &auth.Session{ID: auth.NewID(auth.PrefixSession, e.project), ProjectID: e.project.ID, UserID: uid,
		StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(time.Hour), CustomClaims: map[string]any{},
		Factors: []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: string(auth.ChannelSMS), MethodID: mid, Value: phone("415", 0),
			LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}}}
}

// rsaPrimitives returns raw RSA-2048 PKCS#1 v1.5 SHA-256 sign and verify
// of a JWT-sized input: the floor under SignSession and ParseSessionJWT.
func rsaPrimitives(b *testing.B, size int) (sign, verify func(int) error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("a"), size)
	d := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	if err != nil {
		b.Fatal(err)
	}
	sign = func(int) error {
		d := sha256.Sum256(msg)
		_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		return err
	}
	verify = func(int) error {
		d := sha256.Sum256(msg)
		return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig)
	}
	return sign, verify
}

// BenchmarkSessionJWTSign is Signer.SignSession (claims, RS256, compact
// serialization) vs a raw RSA-2048 signature.
func BenchmarkSessionJWTSign(b *testing.B) {
	e := newBenchSys(b)
	sess := e.benchSession(b)
	tok, err := e.signer.SignSession(context.Background(), sess) // creates the project's keys
	if err != nil {
		b.Fatal(err)
	}
	sign, _ := rsaPrimitives(b, len(tok)*3/4)
	compare(b, e, "ops/s", []reference{{"x_primitive", primOpsSign, sign}}, 0, func(int) error {
		_, err := e.signer.SignSession(context.Background(), sess)
		return err
	})
}

// BenchmarkSessionJWTParse is Signer.ParseSessionJWT vs a raw RSA-2048
// signature verification.
func BenchmarkSessionJWTParse(b *testing.B) {
	e := newBenchSys(b)
	sess := e.benchSession(b)
	tok, err := e.signer.SignSession(context.Background(), sess)
	if err != nil {
		b.Fatal(err)
	}
	_, verify := rsaPrimitives(b, len(tok)*3/4)
	compare(b, e, "ops/s", []reference{{"x_primitive", primOpsVerify, verify}}, 0, func(int) error {
		id, err := e.signer.ParseSessionJWT(context.Background(), e.project.ID, tok)
		if err == nil && id != sess.ID {
			err = fmt.Errorf("parsed session id %q, want %q", id, sess.ID)
		}
		return err
	})
}

// workerConc is nats.DefaultConcurrency, the worker's default.
const workerConc = nats.DefaultConcurrency

// BenchmarkDeliveryThroughput sends b.N codes through the service (no
// worker running), then times one smsworker (cmd/smsworker's defaults,
// twilio-go against the fake Twilio at zero latency, its own NATS
// connection, the same Postgres pool) from start until every message was
// accepted by the fake and acked. Compared with the baseline's N3 (pull
// Consume + Ack of 256-B messages) on the same server, measured first
// (x_primitive), and, for scale, with the UPDATE primitive at the worker's
// concurrency (x_update).
func BenchmarkDeliveryThroughput(b *testing.B) {
	e := newBenchSys(b)
	ctx := context.Background()
	primNs := e.primConsume(b, primOpsConsume)
	// The worker's Postgres side is two writes per message at its default
	// concurrency (16): the UPDATE primitive at that concurrency, for scale.
	runOps(b, workerConc, 2*workerConc, e.primUpdate)
	updNs := runOps(b, workerConc, primOpsDB, e.primUpdate)
	runOps(b, benchConc(), b.N, func(i int) error {
		_, err := e.svc.SendOTP(ctx, e.project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone("415", i), LoginOrCreate: true})
		return err
	})
	base := e.twilio.Requests()
	if d, err := time.ParseDuration(os.Getenv("SESAME_BENCH_PROVIDER_LATENCY")); err == nil {
		e.twilio.SetLatency(d)
		defer e.twilio.SetLatency(0)
	}

	nc, err := nats.Connect(e.natsURL, nats.WithLogger(e.log), natsgo.ReconnectWait(100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	sender, err := twilio.New(twilio.Config{AccountSID: "ACtest", AuthToken: "token", From: "+15005550006", BaseURL: e.twilio.URL()})
	if err != nil {
		b.Fatal(err)
	}
	w := worker.New(worker.Config{Consumer: nats.ConsumerSMS, JS: js, Store: e.db, Sender: sender, Logger: e.log})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})

	e.trace.reset()
	b.ResetTimer()
	go func() { _ = w.Run(wctx); close(done) }()
	deadline := time.Now().Add(2*time.Minute + time.Duration(b.N)*10*time.Millisecond)
	for e.twilio.Requests()-base < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", e.twilio.Requests()-base, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	for {
		st, err := nats.ConsumerInfo(ctx, e.js, nats.ConsumerSMS)
		if err == nil && st.NumPending == 0 && st.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("acks outstanding: %+v %v", st, err)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	e.trace.log(b, workerConc)
	cancel()
	<-done

	if got := e.twilio.Requests() - base; got != b.N {
		b.Errorf("fake Twilio got %d requests for %d messages", got, b.N)
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/ns, "msgs/s")
	b.ReportMetric(ns/primNs, "x_primitive")
	b.ReportMetric(primNs, "prim_ns/op")
	b.ReportMetric(ns/updNs, "x_update")
	b.ReportMetric(updNs, "update_ns/op")
	b.ReportMetric(e.primConsume(b, primOpsConsume)/primNs, "prim_drift")
}

// ---- SESAME_BENCH_TRACE: where a request's time goes ----

// stepTrace is a pgx tracer (statements, batches, pool acquires) plus the
// inline publish, summing wall time per step. Methods are nil-safe.
type stepTrace struct {
	mu    sync.Mutex
	steps map[string]*stepStat
	cpu0  cpuSample
}

// cpuSample is this process's CPU time and the machine's busy CPU time,
// in clock ticks, from /proc (zero where unavailable).
type cpuSample struct{ self, busy int64 }

func readCPU() cpuSample {
	var c cpuSample
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the ")" that ends the command name: state is the 3rd
		// field of stat, utime and stime the 14th and 15th.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				c.self = u + st
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			if i != 4 && i != 5 { // idle, iowait
				c.busy += v
			}
		}
	}
	return c
}

type stepStat struct {
	count int64
	total time.Duration
}

type traceKey struct{ kind string }

type traceStart struct {
	at    time.Time
	label string
}

func (t *stepTrace) add(label string, d time.Duration) {
	t.mu.Lock()
	st := t.steps[label]
	if st == nil {
		st = &stepStat{}
		t.steps[label] = st
	}
	st.count++
	st.total += d
	t.mu.Unlock()
}

func (t *stepTrace) reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.steps = map[string]*stepStat{}
	t.cpu0 = readCPU()
	t.mu.Unlock()
}

// log prints to stderr, per step, calls per operation, mean latency and the share of
// an operation's latency (wall ns/op × concurrency) spent in it.
func (t *stepTrace) log(b *testing.B, conc int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N) * float64(conc) // mean latency of one op
	labels := make([]string, 0, len(t.steps))
	for l := range t.steps {
		labels = append(labels, l)
	}
	slices.SortFunc(labels, func(x, y string) int { return cmp.Compare(t.steps[y].total, t.steps[x].total) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "trace %s N=%d: mean latency of one op ≈ %.2f ms (ns/op × %d)\n", b.Name(), b.N, perOp/1e6, conc)
	if c := readCPU(); c.busy > t.cpu0.busy {
		const tick = 1e4 // µs per clock tick at USER_HZ 100
		busy, self := float64(c.busy-t.cpu0.busy)*tick/float64(b.N), float64(c.self-t.cpu0.self)*tick/float64(b.N)
		fmt.Fprintf(&sb, "  machine CPU busy per op %.0f µs: this process (client, api, NATS) %.0f µs = %.0f%%, the rest (Postgres, other tenants) %.0f µs\n",
			busy, self, 100*self/busy, busy-self)
	}
	for _, l := range labels {
		st := t.steps[l]
		fmt.Fprintf(&sb, "  %5.2f/op  mean %6.2f ms  %5.1f%% of op latency  %s\n", float64(st.count)/float64(b.N),
			float64(st.total.Nanoseconds())/float64(st.count)/1e6, 100*float64(st.total.Nanoseconds())/float64(b.N)/perOp, l)
	}
	// Not b.Log: the testing package keeps only 10 lines of a benchmark's log.
	fmt.Fprint(os.Stderr, sb.String())
}

func traceLabel(sql string) string {
	f := strings.Fields(sql)
	if len(f) > 9 {
		f = f[:9]
	}
	return strings.Join(f, " ")
}

func (t *stepTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceKey{"q"}, traceStart{time.Now(), "sql: " + traceLabel(d.SQL)})
}

func (t *stepTrace) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if s, ok := ctx.Value(traceKey{"q"}).(traceStart); ok {
		t.add(s.label, time.Since(s.at))
	}
}

func (t *stepTrace) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	label := "batch"
	if d.Batch != nil && len(d.Batch.QueuedQueries) > 0 {
		label = fmt.Sprintf("batch of %d: %s", len(d.Batch.QueuedQueries), traceLabel(d.Batch.QueuedQueries[0].SQL))
	}
	return context.WithValue(ctx, traceKey{"b"}, traceStart{time.Now(), label})
}

func (t *stepTrace) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *stepTrace) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	if s, ok := ctx.Value(traceKey{"b"}).(traceStart); ok {
		t.add(s.label, time.Since(s.at))
	}
}

func (t *stepTrace) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return context.WithValue(ctx, traceKey{"a"}, time.Now())
}

func (t *stepTrace) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if at, ok := ctx.Value(traceKey{"a"}).(time.Time); ok {
		t.add("pool acquire (wait for a connection)", time.Since(at))
	}
}

// timedPublisher times the service's inline publish (PubAck included).
type timedPublisher struct {
	auth.Publisher
	t *stepTrace
}

func (p timedPublisher) Publish(ctx context.Context, ev *auth.Event, msgID string) error {
	start := time.Now()
	err := p.Publisher.Publish(ctx, ev, msgID)
	p.t.add("nats: inline publish, wait for PubAck", time.Since(start))
	return err
}
