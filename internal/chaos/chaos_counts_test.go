//go:build chaos

package chaos_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

// tally counts one run's sends. A send the api refused (non-200, or no
// answer) was never accepted: its client saw the failure, so it is
// counted as refused, not lost.
type tally struct {
	mu        sync.Mutex
	requested int
	accepted  map[string]time.Time // recipient -> when its send was made
	refused   map[int]int          // HTTP status -> count
	started   []time.Time          // when each send was made
}

// between counts the sends made in [from, to].
func (tl *tally) between(from, to time.Time) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := 0
	for _, at := range tl.started {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

func newTally() *tally {
	return &tally{accepted: map[string]time.Time{}, refused: map[int]int{}}
}

// phone is the i-th distinct valid US number of a run (0 to 19; 19 is the
// warm-up's).
func phone(run, i int) string {
	return fmt.Sprintf("+1415%03d%04d", 200+run*40+i/10000, i%10000)
}

func email(run, i int) string { return fmt.Sprintf("chaos-%d-%d@example.com", run, i) }

// send requests one code: even i by SMS, odd i by email when withEmail.
// Codes live 10 minutes so that a slow recovery shows as late, not as
// skipped.
func (d *deployment) send(tl *tally, run, i int, withEmail bool) {
	to, path, body := phone(run, i), "/v1/otps/sms/login_or_create", map[string]any{}
	if withEmail && i%2 == 1 {
		to, path = email(run, i), "/v1/otps/email/login_or_create"
		body["email"] = to
	} else {
		body["phone_number"] = to
	}
	body["expiration_minutes"] = 10
	at := time.Now()
	st, _ := d.post(path, body)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.requested++
	tl.started = append(tl.started, at)
	if st == 200 {
		tl.accepted[to] = at
	} else {
		tl.refused[st]++
	}
}

// burst sends n codes from conc goroutines; at sends (the index reached
// when fire is called, once) it runs fire. It returns when every send
// has an answer.
func (d *deployment) burst(tl *tally, run, n, conc int, withEmail bool, at int, fire func()) {
	var wg sync.WaitGroup
	next := make(chan int)
	var once sync.Once
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d.send(tl, run, i, withEmail)
			}
		}()
	}
	for i := range n {
		if fire != nil && i == at {
			once.Do(fire)
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// paced sends rate codes a second (at most 32 waiting for an answer; a
// tick is skipped while all 32 wait) until stop is closed, and returns
// when every send made has its answer.
func (d *deployment) paced(tl *tally, run, rate int, withEmail bool, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, 32)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue
		}
		inflight.Add(1)
		go func() { defer inflight.Done(); d.send(tl, run, i, withEmail); <-sem }()
	}
}

// delivered counts the messages the fakes recorded by recipient, with the
// time each recipient's first one was accepted.
func (d *deployment) delivered() (map[string]int, map[string]time.Time) {
	n, first := map[string]int{}, map[string]time.Time{}
	for _, m := range fakeprovider.AllMessages(d.twilio, d.sg, "") {
		to := strings.ToLower(m.To)
		if n[to]++; n[to] == 1 {
			first[to] = m.ReceivedAt
		}
	}
	return n, first
}

// result is what a run reports.
type result struct {
	requested, accepted, refused, delivered, lost, duplicated, dead int
	worstDelay                                                      time.Duration
	slowest                                                         string // the slowest delivery's record
}

// settle waits up to timeout for every accepted send (except those in
// refusedByProvider) to be delivered, then a little longer for duplicates,
// and counts. The worst delay is from the send's request to the provider's
// acceptance of its first message.
func (d *deployment) settle(tl *tally, timeout time.Duration, refusedByProvider map[string]bool) result {
	d.t.Helper()
	tl.mu.Lock()
	accepted := make(map[string]time.Time, len(tl.accepted))
	for k, v := range tl.accepted {
		accepted[k] = v
	}
	r := result{requested: tl.requested, accepted: len(tl.accepted)}
	for _, n := range tl.refused {
		r.refused += n
	}
	tl.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		got, _ := d.delivered()
		missing := 0
		for to := range accepted {
			if got[to] == 0 && !refusedByProvider[to] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let a duplicate arrive
	got, first := d.delivered()
	for to, at := range accepted {
		n := got[to]
		switch {
		case n == 0 && !refusedByProvider[to]:
			r.lost++
		case n > 1:
			r.duplicated += n - 1
		}
		if n > 0 {
			r.delivered++
			if delay := first[to].Sub(at); delay > r.worstDelay {
				r.worstDelay, r.slowest = delay, to
			}
		}
	}
	r.dead = len(d.messages("failed"))
	if r.slowest != "" {
		r.slowest = d.record(r.slowest)
	}
	return r
}

// report prints the counts (make chaos greps "chaos:" lines) and fails on
// any lost message.
func report(t *testing.T, name string, r result, extra string) {
	t.Helper()
	line := fmt.Sprintf("chaos: %-28s requested=%d accepted=%d refused=%d delivered=%d lost=%d duplicated=%d dead=%d worst_delay=%s",
		name, r.requested, r.accepted, r.refused, r.delivered, r.lost, r.duplicated, r.dead, r.worstDelay.Round(100*time.Millisecond))
	if extra != "" {
		line += " " + extra
	}
	if r.slowest != "" {
		line += "\n        slowest: " + r.slowest
	}
	fmt.Println(line)
	summary.Lock()
	summary.lines = append(summary.lines, line)
	summary.Unlock()
	if r.lost != 0 {
		t.Errorf("%s: %d accepted sends were never delivered", name, r.lost)
	}
}

// summary collects the report lines; TestMain prints them at the end.
var summary struct {
	sync.Mutex
	lines []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Println("== chaos summary")
	for _, l := range summary.lines {
		fmt.Println(l)
	}
	os.Exit(code)
}

// record describes the message row of a recipient, to explain a slow
// delivery: status, attempts, publishes, the last error, and the times
// from creation to the first send attempt's record and to sent.
func (d *deployment) record(to string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.databaseURL())
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	var status, lastErr string
	var attempts, gen int
	var created, updated time.Time
	var sent *time.Time
	err = conn.QueryRow(ctx, `SELECT status, attempts, publish_gen, last_error, created_at, updated_at, sent_at
		FROM messages WHERE lower(recipient) = $1 ORDER BY created_at LIMIT 1`, to).Scan(&status, &attempts, &gen, &lastErr, &created, &updated, &sent)
	if err != nil {
		return to + ": " + err.Error()
	}
	out := fmt.Sprintf("%s status=%s attempts=%d publish_gen=%d last_error=%q updated_after=%s", to, status, attempts, gen, lastErr, updated.Sub(created).Round(100*time.Millisecond))
	if sent != nil {
		out += " sent_after=" + sent.Sub(created).Round(100*time.Millisecond).String()
	}
	return out
}
