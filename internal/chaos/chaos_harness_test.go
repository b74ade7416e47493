//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/devpg"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	snats "github.com/sesame-auth/sesame/internal/nats"
)

// Options of one deployment under test.
type options struct {
	natsNodes    int // 1 (plain nats-server) or 3 (deploy/nats/cluster, stream at R3)
	smsWorkers   int // smsworker processes on the one smsworker consumer
	emailWorkers int
	concurrency  int // WORKER_CONCURRENCY
}

// deployment is one Sesame installation made of real processes.
type deployment struct {
	t      *testing.T
	dir    string
	opts   options
	pg     *devpg.Cluster
	pgOpts devpg.Options
	nodes  []*natsNode
	twilio *fakeprovider.Twilio
	sg     *fakeprovider.SendGrid
	api    *proc
	apiURL string
	keys   string

	mu      sync.Mutex
	workers []*proc

	project, secret string
	client          *http.Client
}

// proc is one child process; its output goes to a log file that is printed
// when the test fails.
type proc struct {
	name, log, addr string
	cmd             *exec.Cmd
	done            chan struct{}
}

func binDir(t *testing.T) string {
	if d := os.Getenv("SESAME_BIN"); d != "" {
		return d
	}
	d, _ := filepath.Abs("../../bin")
	for _, b := range []string{"api", "smsworker", "emailworker"} {
		if _, err := os.Stat(filepath.Join(d, b)); err != nil {
			t.Fatalf("%s/%s missing: run make build (or make chaos), or set SESAME_BIN", d, b)
		}
	}
	return d
}

// natsServerBin finds a nats-server of v2.10 or later (the harness needs
// multi-filter consumers): $(go env GOPATH)/bin/nats-server, where make
// chaos installs v2.15.2, first, then one on PATH. Debian's nats-server
// (v2.9) on PATH is skipped, not used.
func natsServerBin(t *testing.T) string {
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	cands := []string{filepath.Join(strings.TrimSpace(string(out)), "bin", "nats-server")}
	if p, err := exec.LookPath("nats-server"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		v, err := exec.Command(p, "--version").Output()
		if err != nil {
			continue
		}
		if natsVersionOK(strings.TrimSpace(string(v))) {
			return p
		}
	}
	t.Fatalf("no nats-server v2.10+ found in %v (go install github.com/nats-io/nats-server/v2@v2.15.2)", cands)
	return ""
}

// natsVersionOK reports whether a "nats-server: v2.X.Y" banner is v2.10 or
// later.
func natsVersionOK(banner string) bool {
	_, v, ok := strings.Cut(banner, "v2.")
	if !ok {
		return false
	}
	minor, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	return err == nil && n >= 10
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func start(t *testing.T, opts options) *deployment {
	t.Helper()
	if opts.natsNodes == 0 {
		opts.natsNodes = 1
	}
	if opts.smsWorkers == 0 {
		opts.smsWorkers = 1
	}
	if opts.concurrency == 0 {
		opts.concurrency = 16
	}
	d := &deployment{t: t, dir: t.TempDir(), opts: opts, client: &http.Client{Timeout: 20 * time.Second}}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	d.keys = hex.EncodeToString(key)
	d.project = "project-test-5e5a11e0-0000-4000-8000-00000000c4a0"
	d.secret = "sk_test_" + hex.EncodeToString(key[:20])

	d.pgOpts = devpg.Options{Dir: filepath.Join(d.dir, "pg"), StopTimeout: time.Second}
	d.startPostgres()
	t.Cleanup(func() { _ = d.pg.Stop() })

	d.twilio = fakeprovider.NewTwilio()
	t.Cleanup(d.twilio.Close)
	d.sg = fakeprovider.NewSendGrid()
	t.Cleanup(d.sg.Close)

	d.startNATS(opts.natsNodes)
	d.startAPI()
	for range opts.smsWorkers {
		d.startWorker("smsworker")
	}
	for range opts.emailWorkers {
		d.startWorker("emailworker")
	}
	d.warmUp()
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs()
		}
		if dst := os.Getenv("CHAOS_LOGS"); dst != "" {
			d.keepLogs(filepath.Join(dst, t.Name()))
		}
	})
	return d
}

// warmUp sends one code per running worker kind and waits until it
// arrives, so a fault test measures its fault and not the start. On a fresh
// three-node cluster a worker's first pull can reach the consumer before
// its leader is elected; the client then waits for two missed heartbeats
// (30 s with nats.go's defaults) before it pulls again. The time is logged.
func (d *deployment) warmUp() {
	d.t.Helper()
	began := time.Now()
	tl := newTally()
	d.send(tl, 19, 0, false)
	if d.opts.emailWorkers > 0 {
		d.send(tl, 19, 1, true)
	}
	if len(tl.accepted) != tl.requested {
		d.t.Fatalf("warm-up sends refused: %v", tl.refused)
	}
	if !waitFor(90*time.Second, func() bool {
		got, _ := d.delivered()
		for to := range tl.accepted {
			if got[to] == 0 {
				return false
			}
		}
		return true
	}) {
		d.t.Fatalf("warm-up: nothing delivered in 90 s")
	}
	d.t.Logf("warm-up: delivered %s after the processes were up", time.Since(began).Round(100*time.Millisecond))
	d.twilio.Reset() // the counts start at the fault
	d.sg.Reset()
}

// startPostgres starts (or restarts, on the same port) the private cluster.
func (d *deployment) startPostgres() {
	d.t.Helper()
	pg, err := devpg.Start(context.Background(), d.pgOpts)
	if err != nil {
		d.t.Fatal(err)
	}
	d.pg = pg
	d.pgOpts.Port = pg.Port
}

// restartPostgres stops the cluster with a fast shutdown (SIGINT to the
// postmaster: every session is cut at once, as in a failover or an
// operator's restart), keeps it down for down, and starts it again on the
// same port. It returns when the server is down and when it is back.
func (d *deployment) restartPostgres(down time.Duration) (stopped, back time.Time) {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.pg.Dir, "postmaster.pid"))
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		d.t.Fatalf("no postmaster.pid in %s: %v", d.pg.Dir, err)
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	<-d.pg.Done()
	_ = d.pg.Stop()
	stopped = time.Now()
	time.Sleep(down)
	d.startPostgres()
	return stopped, time.Now()
}

func (d *deployment) databaseURL() string { return d.pg.URL("postgres") }

// natsNode is one nats-server process.
type natsNode struct {
	name                       string
	conf, store                string
	client, cluster, http, idx int
	proc                       *proc
}

func (d *deployment) natsURL() string {
	var urls []string
	for _, n := range d.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", n.client))
	}
	return strings.Join(urls, ",")
}

// startNATS starts one plain node, or the three nodes of
// deploy/nats/cluster/nats-N.conf with their ports, routes and store
// rewritten for loopback.
func (d *deployment) startNATS(n int) {
	d.t.Helper()
	ports := freePorts(d.t, 3*n)
	for i := range n {
		node := &natsNode{name: fmt.Sprintf("nats-%d", i+1), idx: i, store: filepath.Join(d.dir, fmt.Sprintf("js-%d", i+1)),
			client: ports[3*i], cluster: ports[3*i+1], http: ports[3*i+2]}
		d.nodes = append(d.nodes, node)
	}
	if n > 1 {
		for _, node := range d.nodes {
			node.conf = d.clusterConf(node)
		}
	}
	for _, node := range d.nodes {
		d.runNode(node)
	}
	for _, node := range d.nodes {
		d.waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", node.http), 30*time.Second)
	}
}

// clusterConf rewrites the deploy file of node for loopback; it fails the
// test when the file no longer has a line the rewrite expects, so the file
// the tests run cannot drift from the one operators get.
func (d *deployment) clusterConf(node *natsNode) string {
	d.t.Helper()
	src := filepath.Join("..", "..", "deploy", "nats", "cluster", node.name+".conf")
	raw, err := os.ReadFile(src)
	if err != nil {
		d.t.Fatal(err)
	}
	s := string(raw)
	rewrite := [][2]string{
		{"listen: 0.0.0.0:4222", fmt.Sprintf("listen: 127.0.0.1:%d", node.client)},
		{"http: 0.0.0.0:8222", fmt.Sprintf("http: 127.0.0.1:%d", node.http)},
		{"store_dir: /data/jetstream", fmt.Sprintf("store_dir: %q", node.store)},
		{"max_file_store: 10G", "max_file_store: 1G"},
		{"listen: 0.0.0.0:6222", fmt.Sprintf("listen: 127.0.0.1:%d", node.cluster)},
	}
	for _, other := range d.nodes {
		rewrite = append(rewrite, [2]string{"nats://" + other.name + ":6222", fmt.Sprintf("nats://127.0.0.1:%d", other.cluster)})
	}
	for _, r := range rewrite {
		if !strings.Contains(s, r[0]) {
			d.t.Fatalf("%s has no %q: update the rewrite in chaos_harness_test.go with the file", src, r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	out := filepath.Join(d.dir, node.name+".conf")
	if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return out
}

func (d *deployment) runNode(node *natsNode) {
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(node.client), "-m", strconv.Itoa(node.http), "-js", "-sd", node.store, "-n", node.name}
	if node.conf != "" {
		args = []string{"-c", node.conf}
	}
	node.proc = d.run(node.name, natsServerBin(d.t), args, nil)
}

// killNode kills a node with SIGKILL (a crash: no leadership hand-over).
func (d *deployment) killNode(node *natsNode) { node.proc.kill() }

// restartNode starts a killed node again on the same ports and store.
func (d *deployment) restartNode(node *natsNode) {
	d.runNode(node)
	// /healthz answers 200 once the node's JetStream has caught up: slow
	// on a loaded machine.
	d.waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", node.http), 120*time.Second)
}

// streamInfo asks any live node for the SESAME stream's state.
func (d *deployment) streamInfo() (*jetstream.StreamInfo, error) {
	nc, err := natsgo.Connect(d.natsURL(), natsgo.Timeout(2*time.Second), natsgo.MaxReconnects(0))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, snats.StreamName)
	if err != nil {
		return nil, err
	}
	return s.Info(ctx)
}

// streamLeader waits for the stream to have a leader and every replica
// current, and returns the leader's node.
func (d *deployment) streamLeader(timeout time.Duration) *natsNode {
	d.t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		info, err := d.streamInfo()
		switch {
		case err != nil:
			last = err.Error()
		case info.Cluster == nil || info.Cluster.Leader == "":
			last = "no leader"
		case info.Config.Replicas != len(d.nodes):
			last = fmt.Sprintf("replicas %d", info.Config.Replicas)
		default:
			current := 0
			for _, r := range info.Cluster.Replicas {
				if r.Current && !r.Offline {
					current++
				}
			}
			last = fmt.Sprintf("leader %s, %d of %d followers current", info.Cluster.Leader, current, len(d.nodes)-1)
			if current == len(d.nodes)-1 {
				for _, n := range d.nodes {
					if n.name == info.Cluster.Leader {
						return n
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.t.Fatalf("the stream has no healthy leader after %s: %s", timeout, last)
	return nil
}

func (d *deployment) commonEnv() []string {
	return []string{
		"DATABASE_URL=" + d.databaseURL(),
		"NATS_URL=" + d.natsURL(),
		"SECRET_KEYS=" + d.keys,
		"NATS_STREAM_REPLICAS=" + strconv.Itoa(len(d.nodes)),
		"LOG_LEVEL=info",
	}
}

func (d *deployment) startAPI() {
	d.t.Helper()
	port := freePorts(d.t, 1)[0]
	d.apiURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(d.commonEnv(),
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "PUBLIC_URL="+d.apiURL,
		"BOOTSTRAP_PROJECT_ID="+d.project, "BOOTSTRAP_PROJECT_SECRET="+d.secret,
		// Many distinct numbers from one prefix at a steady rate: the abuse
		// limits would (rightly) refuse them; they are not under test here.
		"SMS_LIMIT_PER_COUNTRY=0", "SMS_LIMIT_PER_PREFIX=0", "SMS_PUMPING_GUARD=off", "SEND_LIMIT=1000")
	d.api = d.run("api", filepath.Join(binDir(d.t), "api"), nil, env)
	d.api.addr = d.apiURL
	d.waitHTTP(d.apiURL+"/readyz", 60*time.Second)
}

// startWorker starts one worker process ("smsworker" or "emailworker").
func (d *deployment) startWorker(kind string) *proc {
	d.t.Helper()
	port := freePorts(d.t, 1)[0]
	env := append(d.commonEnv(), "HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "WORKER_CONCURRENCY="+strconv.Itoa(d.opts.concurrency))
	if kind == "smsworker" {
		env = append(env, "SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=ACtest", "TWILIO_AUTH_TOKEN=token",
			"TWILIO_FROM=+15005550006", "TWILIO_BASE_URL="+d.twilio.URL())
	} else {
		env = append(env, "EMAIL_PROVIDER=sendgrid", "SENDGRID_API_KEY=SG.test", "EMAIL_FROM=no-reply@sesame.test",
			"SENDGRID_BASE_URL="+d.sg.URL())
	}
	d.mu.Lock()
	name := fmt.Sprintf("%s-%d", kind, len(d.workers)+1)
	d.mu.Unlock()
	p := d.run(name, filepath.Join(binDir(d.t), kind), nil, env)
	p.addr = fmt.Sprintf("http://127.0.0.1:%d", port)
	d.waitHTTP(p.addr+"/readyz", 60*time.Second)
	d.mu.Lock()
	d.workers = append(d.workers, p)
	d.mu.Unlock()
	return p
}

// run starts a child process with env (nil: inherit) and stops it with
// SIGTERM at the end of the test.
func (d *deployment) run(name, bin string, args, env []string) *proc {
	d.t.Helper()
	p := &proc{name: name, log: filepath.Join(d.dir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano())), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		d.t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if env != nil {
		p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		d.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	d.t.Cleanup(func() { p.stop(20 * time.Second) })
	return p
}

// stop sends SIGTERM and, after grace, SIGKILL.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (d *deployment) waitHTTP(url string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("%s not ready after %s", url, timeout)
}

func (d *deployment) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(d.dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		d.t.Logf("--- %s\n%s", filepath.Base(l), strings.Join(lines, "\n"))
	}
}

// keepLogs copies every process log to dir (CHAOS_LOGS=dir keeps them
// after the test, for a closer look at a slow or failed run).
func (d *deployment) keepLogs(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.t.Log(err)
		return
	}
	logs, _ := filepath.Glob(filepath.Join(d.dir, "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(l)), b, 0o644)
		}
	}
}

// post sends a Stytch-dialect request; it returns the HTTP status (0 when
// the request itself failed, for example while the api is cut off).
func (d *deployment) post(path string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", d.apiURL+path, bytes.NewReader(b))
	req.SetBasicAuth(d.project, d.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// messages lists the operator API's messages with a status.
func (d *deployment) messages(status string) []map[string]any {
	d.t.Helper()
	req, _ := http.NewRequest("GET", d.apiURL+"/v1/messages?limit=1000&status="+status, nil)
	req.SetBasicAuth(d.project, d.secret)
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		d.t.Fatalf("operator API: %d %v", resp.StatusCode, err)
	}
	return out.Messages
}

// workerAcks reads a worker's acked count from its /metrics.
func workerAcks(p *proc) int {
	resp, err := http.Get(p.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	total := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "sesame_worker_messages_total{") && strings.Contains(line, `outcome="ack"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += int(v)
		}
	}
	return total
}

func sortedKeys(m map[int]int) string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }

// waitFor polls cond every 100 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

func TestNatsVersionOK_RefusesDebiansV29(t *testing.T) {
	for banner, want := range map[string]bool{
		"nats-server: v2.15.2": true,
		"nats-server: v2.10.0": true,
		"nats-server: v2.9.10": false,
		"nats-server: v1.4.1":  false,
		"garbage":              false,
	} {
		if got := natsVersionOK(banner); got != want {
			t.Errorf("natsVersionOK(%q) = %v, want %v", banner, got, want)
		}
	}
}
