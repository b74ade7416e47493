package devpg

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestFind_NotInstalledSaysHowToInstall(t *testing.T) {
	empty := t.TempDir()
	dir := filepath.Join(t.TempDir(), "pg")
	_, err := Start(context.Background(), Options{Dir: dir, SearchDirs: []string{empty}})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{
		empty,
		"sudo apt-get install -y postgresql",
		"brew install postgresql@15",
		"docker run -d --name sesame-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15",
		"DATABASE_URL",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start created %s although nothing can run in it", dir)
	}
}

func TestFind_TakesTheFirstDirWithBothBinaries(t *testing.T) {
	onlyInitdb, both, later := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir, name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(onlyInitdb, "initdb", 0o755)
	write(onlyInitdb, "postgres", 0o644) // not executable
	for _, d := range []string{both, later} {
		write(d, "initdb", 0o755)
		write(d, "postgres", 0o755)
	}
	got, err := Find([]string{"", onlyInitdb, both, later})
	if err != nil || got != both {
		t.Fatalf("Find = %q, %v; want %q", got, err, both)
	}
}

func TestVersionOf_ReadsTheMajorVersion(t *testing.T) {
	for dir, want := range map[string]int{
		"/usr/lib/postgresql/15/bin":               15,
		"/usr/lib/postgresql/9/bin":                9,
		"/opt/homebrew/opt/postgresql@16/bin":      16,
		"/usr/local/opt/postgresql@13/bin":         13,
		"/usr/local/opt/postgresql@latest/bin":     0,
		"/usr/lib/postgresql/15/bin/../weird/bin/": 0,
	} {
		if got := versionOf(dir); got != want {
			t.Errorf("versionOf(%q) = %d, want %d", dir, got, want)
		}
	}
}

// startOrSkip starts a cluster; without PostgreSQL installed it fails in CI
// (CI set) and skips elsewhere.
func startOrSkip(t *testing.T, dir string) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), Options{Dir: dir})
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have PostgreSQL installed: %v", err)
		}
		t.Skipf("PostgreSQL is not installed here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func TestStart_RunsAPrivateClusterOnceInitializedAndStopsIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	ctx := context.Background()

	c := startOrSkip(t, dir)
	if !c.Initialized {
		t.Error("first Start did not report running initdb")
	}
	if c.SocketDir != "" {
		if _, err := os.Stat(filepath.Join(c.SocketDir, ".s.PGSQL."+strconv.Itoa(c.Port))); err != nil {
			t.Errorf("no unix socket in %s: %v", c.SocketDir, err)
		}
	}
	if !strings.HasPrefix(c.URL("sesame"), "postgres://postgres@127.0.0.1:"+strconv.Itoa(c.Port)+"/sesame") {
		t.Errorf("URL = %s", c.URL("sesame"))
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE sesame"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Stop returned before postgres exited")
	}
	if nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(c.Port), time.Second); err == nil {
		nc.Close()
		t.Fatalf("port %d still answers after Stop", c.Port)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// A pid file naming a live process (an earlier run's server) is refused
	// with a way out, not left to postgres's lock error.
	pidFile := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(ctx, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Fatalf("Start with a live pid file = %v, want a 'still runs' error", err)
	}
	if err := os.Remove(pidFile); err != nil {
		t.Fatal(err)
	}

	// Restart: no second initdb, the data survived, a new port.
	c2 := startOrSkip(t, dir)
	if c2.Initialized {
		t.Error("second Start ran initdb again")
	}
	conn, err = pgx.Connect(ctx, c2.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "still here" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'sesame')").Scan(&exists); err != nil || !exists {
		t.Fatalf("database sesame lost: %v %v", exists, err)
	}
}

func TestStart_RefusesADirThatIsNotACluster(t *testing.T) {
	if _, err := Find(nil); err != nil {
		t.Skip("PostgreSQL is not installed here")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "neither empty nor a Postgres data directory") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Fatal("the directory's content was touched")
	}
}
