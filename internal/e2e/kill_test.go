//go:build chaos

package e2e_test

// A delivery worker killed with SIGKILL while sends are in flight, as real
// processes: bin/smsworker (built from this tree, or SESAME_CHAOS_WORKER_BIN)
// against Postgres, a JetStream server on TCP and a slow fake Twilio. Run:
//
//	make chaos-kill
//	go test -tags chaos -count=1 -v -run TestWorkerSIGKILL ./internal/e2e/
//
// Each case prints requested, delivered, lost and duplicated counts and the
// worst delay from the send to the provider's acceptance.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

const (
	killInFlight      = 16              // sends in flight when the worker dies
	killProviderDelay = 2 * time.Second // the slow provider's answer time
	killTargetDelay   = 15 * time.Second
)

// slowTwilio answers Twilio's Messages.json after a delay and records when
// it accepted each recipient's message. With acceptCut, a request whose
// client died while it waited is still accepted (the provider had it all):
// that is the window where a duplicate is unavoidable.
type slowTwilio struct {
	delay     time.Duration
	acceptCut bool

	inflight atomic.Int64
	mu       sync.Mutex
	n        int
	accepted map[string][]time.Time
	cut      int // accepted after their client died
}

func (p *slowTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	to := r.PostForm.Get("To")
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	t := time.NewTimer(p.delay)
	defer t.Stop()
	cut := false
	select {
	case <-t.C:
	case <-r.Context().Done():
		if !p.acceptCut {
			return
		}
		cut = true
		<-t.C
	}
	p.mu.Lock()
	p.n++
	n := p.n
	p.accepted[to] = append(p.accepted[to], time.Now())
	if cut {
		p.cut++
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032x","status":"queued","to":%q}`, n, to)
}

func TestWorkerSIGKILL(t *testing.T) {
	bin := os.Getenv("SESAME_CHAOS_WORKER_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "smsworker")
		if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/smsworker").CombinedOutput(); err != nil {
			t.Fatalf("build smsworker: %v\n%s", err, out)
		}
	}
	for _, tc := range []struct {
		name      string
		acceptCut bool
	}{
		{"provider drops calls cut by the kill: all resent within 15 s, none twice", false},
		{"provider accepts calls cut by the kill: duplicates only those", true},
	} {
		t.Run(tc.name, func(t *testing.T) { runKill(t, bin, tc.acceptCut) })
	}
}

func runKill(t *testing.T, bin string, acceptCut bool) {
	ctx := t.Context()
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL(), natsgo.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := nats.EnsureStream(ctx, js, nats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	keys, _ := auth.NewKeyring([]byte("e2e-test-root-key-32-bytes-long!"))
	log := testLogger()
	svc := auth.NewService(db, nats.NewPublisher(js), keys, jwt.New(db, keys, jwt.Options{}), nil, log,
		auth.Config{SendLimit: 1000, Abuse: auth.AbuseConfig{PerCountry: auth.Rate{Limit: -1}, PerPrefix: auth.Rate{Limit: -1}, Pumping: auth.PumpingConfig{Off: true}}})
	project := &auth.Project{ID: "project-kill-" + auth.NewUUID()}
	if err := svc.EnsureProject(ctx, project.ID, "sk_test_"+auth.NewToken()); err != nil {
		t.Fatal(err)
	}
	prov := &slowTwilio{delay: killProviderDelay, acceptCut: acceptCut, accepted: map[string][]time.Time{}}
	fake := httptest.NewServer(prov)
	t.Cleanup(fake.Close)

	start := func(name string) *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "NATS_URL="+ns.ClientURL(), "HTTP_ADDR=127.0.0.1:0",
			"SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=ACtest", "TWILIO_AUTH_TOKEN=token", "TWILIO_FROM=+15005550006",
			"TWILIO_BASE_URL="+fake.URL, "LOG_LEVEL=warn")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s stderr:\n%s", name, stderr.String())
			}
		})
		// Ready once its pull request is open on the consumer.
		if !waitUntil(30*time.Second, func() bool {
			st, err := nats.ConsumerInfo(ctx, js, nats.ConsumerSMS)
			return err == nil && st.NumWaiting > 0
		}) {
			t.Fatalf("%s did not start consuming", name)
		}
		return cmd
	}

	a := start("worker A")
	sentAt := map[string]time.Time{}
	for i := range killInFlight {
		to := fmt.Sprintf("+1415%07d", 3000000+i)
		sentAt[to] = time.Now()
		if _, err := svc.SendOTP(ctx, project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true}); err != nil {
			t.Fatal(err)
		}
	}
	if !waitUntil(10*time.Second, func() bool { return prov.inflight.Load() == killInFlight }) {
		t.Fatalf("%d of %d sends reached the provider", prov.inflight.Load(), killInFlight)
	}
	if err := a.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = a.Wait()
	killedAt := time.Now()
	start("worker B")

	allAccepted := func() bool {
		prov.mu.Lock()
		defer prov.mu.Unlock()
		return len(prov.accepted) == killInFlight
	}
	waitUntil(2*time.Minute, allAccepted)
	// Let late repeats show up: wait until every message is recorded sent
	// and the consumer is settled.
	waitUntil(2*time.Minute, func() bool {
		sent, err := db.ListMessages(ctx, project.ID, auth.MessageFilter{Status: auth.MessageSent})
		st, ierr := nats.ConsumerInfo(ctx, js, nats.ConsumerSMS)
		return err == nil && ierr == nil && len(sent) == killInFlight && st.NumPending == 0 && st.NumAckPending == 0
	})

	prov.mu.Lock()
	defer prov.mu.Unlock()
	delivered, duplicated := 0, 0
	var worst time.Duration
	for to, at := range sentAt {
		acc := prov.accepted[to]
		if len(acc) == 0 {
			continue
		}
		delivered++
		duplicated += len(acc) - 1
		worst = max(worst, acc[0].Sub(at))
	}
	lost := killInFlight - delivered
	line := fmt.Sprintf("chaos sigkill (accept_cut=%v): requested=%d delivered=%d lost=%d duplicated=%d accepted_unrecorded=%d worst_send_to_accepted=%s after_kill=%s",
		acceptCut, killInFlight, delivered, lost, duplicated, prov.cut, worst.Round(10*time.Millisecond), time.Since(killedAt).Round(10*time.Millisecond))
	fmt.Println(line)
	t.Log(line)
	if lost != 0 {
		t.Errorf("lost %d messages", lost)
	}
	if duplicated > prov.cut {
		t.Errorf("%d duplicates, only %d accepted but unrecorded", duplicated, prov.cut)
	}
	if worst >= killTargetDelay {
		t.Errorf("worst send to provider-accepted %s, target < %s", worst, killTargetDelay)
	}
}
