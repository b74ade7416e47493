package main

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/pgtest"
)

// childEnv marks a re-executed test binary that is to run the api itself
// (TestMain), so tests can start real api processes without a go build.
const childEnv = "SESAME_TEST_API_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main() // os.Args[1:] are the api's arguments
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// apiProcess is a real api process (this test binary re-executed).
type apiProcess struct {
	base string
	cmd  *exec.Cmd
}

// startAPI starts an api process with env and waits until it serves.
func startAPI(t *testing.T, env []string) *apiProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-http-addr", addr)
	cmd.Env = append(env, childEnv+"=1")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &apiProcess{base: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the api at %s did not start: %s", addr, stderr.String())
		}
	}
}

// status sends one request and returns its status code.
func (p *apiProcess) status(t *testing.T, method, path, auth, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevokedSecretIsRefusedByAnotherAPIProcessWithinSeconds runs two real
// api processes on one database. Both have a project's two secrets in their
// in-process caches; one secret is revoked through process A's admin API,
// and process B, which was told only through Postgres LISTEN/NOTIFY,
// refuses it within seconds (its cache would otherwise keep it up to 10
// minutes)
// while the other secret keeps working there.
func TestRevokedSecretIsRefusedByAnotherAPIProcessWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	const adminKey = "admin-key-0123456789abcdef0123456789abcdef"
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEYS": strings.Repeat("cd", 32), "LOG_LEVEL": "error", "ADMIN_API_KEY": adminKey,
		"NATS_URL": strings.Replace(closedPortDSN(t), "postgres://postgres@", "nats://", 1)}
	created, err := cli(t, env, "create", "--name", "Two replicas", "--env", "test")
	if err != nil {
		t.Fatal(err)
	}
	pid, oldSecret, oldID := created["project_id"].(string), created["secret"].(string), created["secret_id"].(string)
	second, err := cli(t, env, "secrets", "create", pid)
	if err != nil {
		t.Fatal(err)
	}
	newSecret := second["secret"].(string)

	var procEnv []string
	for k, v := range env {
		procEnv = append(procEnv, k+"="+v)
	}
	a, b := startAPI(t, procEnv), startAPI(t, procEnv)
	basic := func(secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(pid+":"+secret))
	}
	search := func(p *apiProcess, secret string) int {
		return p.status(t, "POST", "/v1/users/search", basic(secret), `{"limit":1}`)
	}
	for _, p := range []*apiProcess{a, b} { // both caches hold both secrets
		for _, s := range []string{oldSecret, newSecret} {
			if st := search(p, s); st != 200 {
				t.Fatalf("before the revoke, %s with a secret: %d", p.base, st)
			}
		}
	}

	if st := a.status(t, "DELETE", "/v1/admin/projects/"+pid+"/secrets/"+oldID, "Bearer "+adminKey, ""); st != 200 {
		t.Fatalf("revoke through A: %d", st)
	}
	revoked := time.Now()
	if st := search(a, oldSecret); st != 401 {
		t.Fatalf("A, which revoked it, answers %d to the old secret", st)
	}
	var took time.Duration
	for {
		st := search(b, oldSecret)
		if st == 401 {
			took = time.Since(revoked)
			break
		}
		if st != 200 {
			t.Fatalf("B answers %d to the old secret", st)
		}
		if time.Since(revoked) > 10*time.Second {
			t.Fatal(errors.New("B still accepts the revoked secret 10 s after the revoke (without a notification its cache keeps an entry up to 10 minutes)"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("B refused the revoked secret %v after the revoke", took.Round(time.Millisecond))
	if st := search(b, newSecret); st != 200 {
		t.Fatalf("B refuses the remaining secret: %d", st)
	}
}
