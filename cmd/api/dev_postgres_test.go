package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/devpg"
	"github.com/sesame-auth/sesame/internal/pgtest"
)

// freeAddr is a 127.0.0.1 address nothing listens on (as of now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// closedPortDSN is a Postgres DSN on a port nothing listens on.
func closedPortDSN(t *testing.T) string {
	t.Helper()
	return "postgres://postgres@" + freeAddr(t) + "/sesame?sslmode=disable"
}

// privatePostgresOnly skips (or, under CI, fails) when PostgreSQL is not
// installed, and points dev mode's default address at a closed port for
// the test, so that dev mode must use a private cluster.
func privatePostgresOnly(t *testing.T) {
	t.Helper()
	if _, err := devpg.Find(nil); errors.Is(err, devpg.ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have PostgreSQL installed: %v", err)
		}
		t.Skip("PostgreSQL is not installed here")
	}
	saved := devProbeDSN
	devProbeDSN = closedPortDSN(t)
	t.Cleanup(func() { devProbeDSN = saved })
}

// TestRunDev_StartsAPrivatePostgresWhenNoneAnswers runs `api -dev` with
// DATABASE_URL unset and nothing on the default address: it starts a
// private cluster in <data dir>/pg, serves (the inbox sees a code), and
// stops the cluster when it stops.
func TestRunDev_StartsAPrivatePostgresWhenNoneAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	privatePostgresOnly(t)

	dataDir := t.TempDir()
	d := startInboxDev(t, map[string]string{"SESAME_DATA_DIR": dataDir, "LOG_LEVEL": "error"})
	stopped := false
	defer func() {
		if !stopped {
			d.cancel()
			<-d.done
		}
	}()
	out := d.stdout.String()
	pgDir := filepath.Join(dataDir, "pg")
	if !strings.Contains(out, "starting a private cluster in "+pgDir) {
		t.Fatalf("no private-cluster notice:\n%s", out)
	}
	if strings.Contains(out, strings.TrimPrefix(devProbeDSN, "postgres://postgres@")) && !strings.Contains(out, "answers at") {
		t.Fatalf("the banner names the closed default address as the database:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(pgDir, "PG_VERSION")); err != nil {
		t.Fatalf("no cluster in %s: %v", pgDir, err)
	}
	resp, err := http.Get(d.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
	d.post(t, "/v1/auth/otps/sms/login_or_create", `{"phone_number":"+14155550123"}`)
	var inbox struct{ Messages []struct{ To, Code string } }
	for deadline := time.Now().Add(20 * time.Second); len(inbox.Messages) == 0 && time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		resp, err := http.Get(d.base + "/dev/inbox.json")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&inbox)
		resp.Body.Close()
	}
	if len(inbox.Messages) != 1 || inbox.Messages[0].To != "+14155550123" || len(inbox.Messages[0].Code) != 6 {
		t.Fatalf("inbox = %+v, want the code sent", inbox.Messages)
	}

	stopped = true
	d.stop(t)
	if _, err := os.Stat(filepath.Join(pgDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the private Postgres still runs after the api stopped (postmaster.pid: %v)", err)
	}
}

// TestRun_NoInboxOutsideDevMode checks the inbox paths answer a JSON 404
// when the api runs without -dev.
func TestRun_NoInboxOutsideDevMode(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEYS": strings.Repeat("ab", 32), "LOG_LEVEL": "error",
		"NATS_URL": strings.Replace(closedPortDSN(t), "postgres://postgres@", "nats://", 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-http-addr", addr}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("run did not stop")
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the api did not start")
		}
	}
	for _, p := range []string{"/dev/inbox", "/dev/inbox.json", "/dev/inbox/events"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), "only in dev mode") {
			t.Errorf("GET %s = %d %s %s, want a JSON 404", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestProjectsCLIDev_UsesThePrivatePostgres runs `api -dev projects` with
// DATABASE_URL unset and nothing on the default address: without a
// running dev server it starts the private cluster in <data dir>/pg for
// the command and stops it after; while a dev server's cluster runs there,
// it works on that one and leaves it running. Either way stdout is the
// command's JSON alone.
func TestProjectsCLIDev_UsesThePrivatePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	privatePostgresOnly(t)
	dataDir := t.TempDir()
	pgDir := filepath.Join(dataDir, "pg")
	env := map[string]string{"SESAME_DATA_DIR": dataDir, "LOG_LEVEL": "error"}
	devCLI := func(args ...string) (map[string]any, string) {
		t.Helper()
		var out, errOut strings.Builder
		if err := run(t.Context(), append([]string{"-dev", "projects"}, args...), func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("projects %v: %v\n%s", args, err, errOut.String())
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out.String()), &m); err != nil {
			t.Fatalf("stdout is not one JSON object: %q", out.String())
		}
		return m, errOut.String()
	}

	created, notes := devCLI("create", "--name", "Dev shop", "--env", "test")
	if !strings.HasPrefix(created["project_id"].(string), "project-test-") || !strings.Contains(notes, "starting a private cluster in "+pgDir) {
		t.Fatalf("create = %v; stderr %q", created, notes)
	}
	if _, ok := devpg.RunningURL(pgDir, "sesame"); ok {
		t.Fatal("the cluster the command started still runs after it")
	}

	// A running dev server's cluster (started here as `api -dev` does).
	c, err := devpg.Start(t.Context(), devpg.Options{Dir: pgDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	list, notes := devCLI("list")
	projects, _ := list["projects"].([]any)
	found := false
	for _, p := range projects {
		found = found || p.(map[string]any)["project_id"] == created["project_id"]
	}
	if !found || strings.Contains(notes, "starting a private cluster") {
		t.Fatalf("list = %v (stderr %q), want the project created before, from the running cluster", list, notes)
	}
	if u, ok := devpg.RunningURL(pgDir, "sesame"); !ok || u != c.URL("sesame") {
		t.Fatalf("after the command: running %v at %q, want the server's cluster still up at %q", ok, u, c.URL("sesame"))
	}
}
