package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/pgtest"
)

// cli runs `api projects ...` and returns its stdout decoded.
func cli(t *testing.T, env map[string]string, args ...string) (map[string]any, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), append([]string{"projects"}, args...), func(k string) string { return env[k] }, &out, io.Discard)
	if err != nil {
		if out.Len() != 0 {
			t.Fatalf("a failed command printed %q", out.String())
		}
		return nil, err
	}
	var m map[string]any
	if e := json.Unmarshal(out.Bytes(), &m); e != nil {
		t.Fatalf("stdout is not one JSON object: %q", out.String())
	}
	return m, nil
}

func TestProjectsCLI_ManagesProjectsAndSecrets(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": dsn, "SECRET_KEYS": strings.Repeat("ab", 32), "LOG_LEVEL": "error"}
	created, err := cli(t, env, "create", "--name", "Shop", "--env", "live", "--settings", `{"send_limit":4}`)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := created["project_id"].(string)
	if !strings.HasPrefix(pid, "project-live-") || !strings.HasPrefix(created["secret"].(string), "secret-live-") || created["environment"] != "live" {
		t.Fatalf("create = %v", created)
	}
	if got, err := cli(t, env, "get", pid); err != nil || got["name"] != "Shop" || got["secret"] != nil || got["settings"].(map[string]any)["send_limit"] != 4.0 {
		t.Fatalf("get = %v, %v", got, err)
	}
	if got, err := cli(t, env, "update", pid, "--name", "Shop 2", "--settings", `{"sms_allowed_countries":["ca"]}`); err != nil || got["name"] != "Shop 2" {
		t.Fatalf("update = %v, %v", got, err)
	}
	sec, err := cli(t, env, "secrets", "create", pid)
	if err != nil || !strings.HasPrefix(sec["secret"].(string), "secret-live-") {
		t.Fatalf("secrets create = %v, %v", sec, err)
	}
	list, err := cli(t, env, "secrets", "list", pid)
	if err != nil || len(list["secrets"].([]any)) != 2 || strings.Contains(toJSON(list), created["secret"].(string)) {
		t.Fatalf("secrets list = %v, %v", list, err)
	}
	if got, err := cli(t, env, "secrets", "revoke", pid, created["secret_id"].(string)); err != nil || got["revoked"] != true {
		t.Fatalf("revoke = %v, %v", got, err)
	}
	if got, err := cli(t, env, "list"); err != nil || len(got["projects"].([]any)) != 1 {
		t.Fatalf("list = %v, %v", got, err)
	}

	// Refusals name the problem and change nothing.
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"BadEnv", []string{"create", "--name", "X", "--env", "prod"}, "environment"},
		{"NoName", []string{"create", "--env", "test"}, "name"},
		{"UnknownSetting", []string{"create", "--name", "X", "--env", "test", "--settings", `{"sendlimit":1}`}, "unknown field"},
		{"BadCountry", []string{"update", pid, "--settings", `{"sms_allowed_countries":["USA"]}`}, "sms_allowed_countries"},
		{"NothingToUpdate", []string{"update", pid}, "nothing to change"},
		{"MissingID", []string{"get"}, "PROJECT_ID"},
		{"UnknownProject", []string{"delete", "project-live-nope"}, "not_found"},
		{"UnknownSecret", []string{"secrets", "revoke", pid, "project-secret-live-nope"}, "secret_id"},
		{"UnknownSubcommand", []string{"rename", pid}, "unknown subcommand"},
		{"SecretsArgs", []string{"secrets", "revoke", pid}, "want 2 argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cli(t, env, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	got, err := cli(t, env, "get", pid)
	if err != nil || got["name"] != "Shop 2" || toJSON(got["settings"].(map[string]any)["sms_allowed_countries"]) != `["CA"]` {
		t.Fatalf("after refusals = %v, %v", got, err)
	}
	if got, err := cli(t, env, "delete", pid); err != nil || got["deleted"] != true {
		t.Fatalf("delete = %v, %v", got, err)
	}
	if _, err := cli(t, env, "get", pid); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("get deleted = %v", err)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// startDev runs `api -dev` on addr and returns its base URL and printed
// secret, with a stop function.
func startDev(t *testing.T, env map[string]string, addr string) (base, secret string, stdout *syncBuffer, stop func() error) {
	t.Helper()
	stdout = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dev", "-http-addr", addr}, func(k string) string { return env[k] }, stdout, io.Discard)
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`running at (http://\S+)`).FindStringSubmatch(stdout.String()); m != nil {
			secret = regexp.MustCompile(`export SECRET=(\S+)`).FindStringSubmatch(stdout.String())[1]
			return m[1], secret, stdout, func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(20 * time.Second):
					t.Fatal("run did not stop within 20 s")
					return nil
				}
			}
		}
	}
	cancel()
	t.Fatalf("dev mode did not start: %v\n%s", <-done, stdout.String())
	return
}

func TestRunDev_SecondInstanceFailsBeforeChangingAnything(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": dsn, "SESAME_DATA_DIR": dir, "LOG_LEVEL": "error"}
	base, secret, _, stop := startDev(t, env, "127.0.0.1:0")
	creds, err := os.ReadFile(filepath.Join(dir, "credentials.env"))
	if err != nil || !strings.Contains(string(creds), "export SECRET="+secret+"\n") {
		t.Fatalf("credentials.env = %q, %v", creds, err)
	}
	// A second instance on the same port, with another bootstrap secret.
	env2 := map[string]string{"DATABASE_URL": dsn, "SESAME_DATA_DIR": dir, "LOG_LEVEL": "error", "BOOTSTRAP_PROJECT_SECRET": "secret-test-another-one-0123456789"}
	var out2 bytes.Buffer
	err = run(t.Context(), []string{"-dev", "-http-addr", strings.TrimPrefix(base, "http://")}, func(k string) string { return env2[k] }, &out2, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "make dev") || !strings.Contains(err.Error(), "credentials.env") {
		t.Fatalf("second instance: %v", err)
	}
	// The first still accepts its secret, and its saved credentials are unchanged.
	req, _ := http.NewRequest("GET", base+"/v1/auth/users/user-test-00000000-0000-0000-0000-000000000000", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 401 {
		t.Fatal("the running instance's secret stopped working")
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "credentials.env")); !bytes.Equal(again, creds) {
		t.Fatalf("credentials.env changed: %q", again)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// A restart prints and saves the same working credentials.
	base, secret2, _, stop := startDev(t, env, "127.0.0.1:0")
	defer stop()
	if secret2 != secret {
		t.Fatalf("restart printed another secret")
	}
	_ = base
}

// TestRunDev_ProjectsDeleteStartsTheBootstrapProjectOver is the README's
// reset for running a seed twice: stop dev mode, `api -dev projects delete`
// the bootstrap project, start dev mode again: the same id and secret work,
// and what the first run created is gone.
func TestRunDev_ProjectsDeleteStartsTheBootstrapProjectOver(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": dsn, "SESAME_DATA_DIR": dir, "LOG_LEVEL": "error"}
	createUser := func(base, secret string) int {
		req, _ := http.NewRequest("POST", base+"/v1/auth/users/create", strings.NewReader(`{"phone_number":"+14152222222"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	base, secret, stdout, stop := startDev(t, env, "127.0.0.1:0")
	projectID := regexp.MustCompile(`export PROJECT_ID=(\S+)`).FindStringSubmatch(stdout.String())[1]
	if got := createUser(base, secret); got != 200 {
		t.Fatalf("first users/create: %d", got)
	}
	if got := createUser(base, secret); got != 400 {
		t.Fatalf("second users/create: %d, want 400 duplicate_phone_number", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-dev", "projects", "delete", projectID}, func(k string) string { return env[k] }, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), `"deleted": true`) {
		t.Fatalf("projects delete: %v %s", err, out.String())
	}
	base, secret2, stdout, stop := startDev(t, env, "127.0.0.1:0")
	defer stop()
	if secret2 != secret || !strings.Contains(stdout.String(), "export PROJECT_ID="+projectID) {
		t.Fatalf("the restart printed other credentials:\n%s", stdout.String())
	}
	if got := createUser(base, secret); got != 200 {
		t.Fatalf("users/create after the reset: %d, want 200", got)
	}
}
