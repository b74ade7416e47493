// Package devpg runs a private PostgreSQL cluster for `bin/api -dev`, so dev
// mode needs no database server running: it finds the installed initdb and
// postgres binaries, initializes a data directory once (trust auth, user
// postgres), starts the server on a unix socket in that directory and a free
// TCP port on 127.0.0.1, and stops it (SIGTERM, then wait) when asked.
//
// initdb and postgres refuse to run as root. When the process is root, the
// cluster runs as the "postgres" OS user (Options.RunAs): the data directory
// is given to that user, and each parent directory that lacks it gets the
// search (x) permission bit for others, so that user can reach it.
package devpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is matched (errors.Is) by the error Find and Start return
// when no directory holds both initdb and postgres.
var ErrNotInstalled = errors.New("PostgreSQL is not installed")

// NotInstalledError says where Find looked and how to install PostgreSQL.
type NotInstalledError struct {
	Searched []string
}

// InstallHelp tells how to get PostgreSQL on the usual systems.
const InstallHelp = `Install PostgreSQL (13 or newer), then run again:
  Debian/Ubuntu: sudo apt-get install -y postgresql
  macOS:         brew install postgresql@15
  Docker:        docker run -d --name sesame-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
                 (dev mode then uses that server on 127.0.0.1:5432)
Or point DATABASE_URL at any Postgres you have.`

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%v: no directory holds both initdb and postgres (searched %d: %s).\n%s",
		ErrNotInstalled, len(e.Searched), strings.Join(e.Searched, ", "), InstallHelp)
}

// Is makes errors.Is(err, ErrNotInstalled) true.
func (e *NotInstalledError) Is(target error) bool { return target == ErrNotInstalled }

// DefaultSearchDirs lists where Find looks by default: each $PATH entry,
// then /usr/lib/postgresql/*/bin (Debian, Ubuntu; newest version first),
// then Homebrew's keg-only /opt/homebrew/opt/postgresql@*/bin and
// /usr/local/opt/postgresql@*/bin (newest first).
func DefaultSearchDirs() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin"} {
		m, _ := filepath.Glob(pattern)
		slices.SortFunc(m, func(a, b string) int { return versionOf(b) - versionOf(a) })
		dirs = append(dirs, m...)
	}
	return dirs
}

// versionOf reads the major version in ".../postgresql/15/bin" or
// ".../postgresql@15/bin" (0 when there is none).
func versionOf(dir string) int {
	base := filepath.Base(filepath.Dir(dir))
	if i := strings.LastIndexAny(base, "@/"); i >= 0 {
		base = base[i+1:]
	}
	n, _ := strconv.Atoi(base)
	return n
}

// Find returns the first of dirs holding executable initdb and postgres
// (DefaultSearchDirs when dirs is nil), or a *NotInstalledError.
func Find(dirs []string) (string, error) {
	if dirs == nil {
		dirs = DefaultSearchDirs()
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", &NotInstalledError{Searched: dirs}
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Options configure Start.
type Options struct {
	// Dir is the cluster's data directory (required). It is created with
	// mode 0700 and initialized on the first Start only.
	Dir string
	// SearchDirs is where to look for initdb and postgres. Default
	// DefaultSearchDirs().
	SearchDirs []string
	// RunAs is the OS user the cluster runs as when this process is root.
	// Default "postgres".
	RunAs string
	// Log receives initdb's and postgres's output. Default: the file
	// postgres.log in Dir.
	Log io.Writer
	// StartTimeout bounds initdb plus the server's start. Default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before it asks for a
	// fast shutdown (SIGINT), and again before SIGKILL. Default 10s.
	StopTimeout time.Duration
	// Port is the TCP port on 127.0.0.1. Default 0: a free port. Give the
	// previous Cluster.Port to restart a cluster where clients expect it.
	Port int
}

// Cluster is a running private cluster.
type Cluster struct {
	// Dir is the data directory; BinDir holds the binaries used.
	Dir, BinDir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// SocketDir holds the unix socket (.s.PGSQL.<Port>); "" when the path
	// would be too long for a unix socket and only TCP is served.
	SocketDir string
	// Initialized reports whether this Start ran initdb.
	Initialized bool

	cmd         *exec.Cmd
	done        chan struct{}
	waitErr     error
	logFile     *os.File
	stopTimeout time.Duration
}

// maxSocketPath is the longest unix socket path we hand to postgres
// (sockaddr_un holds 108 bytes on Linux, 104 on macOS).
const maxSocketPath = 100

// Start initializes opts.Dir if it is not a cluster yet, then starts
// postgres on a free port and waits until it accepts connections. The
// caller must call Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("devpg: Options.Dir is required")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.RunAs == "" {
		opts.RunAs = "postgres"
	}
	bin, err := Find(opts.SearchDirs)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	cred, err := credential(opts.RunAs)
	if err != nil {
		return nil, err
	}
	_, err = os.Stat(filepath.Join(dir, "PG_VERSION"))
	initialized := err == nil
	if entries, _ := os.ReadDir(dir); !initialized && len(entries) > 0 {
		return nil, fmt.Errorf("devpg: %s is neither empty nor a Postgres data directory; remove it to start afresh", dir)
	}
	if err := prepareDir(dir, cred); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: bin, done: make(chan struct{}), stopTimeout: opts.StopTimeout}

	if !initialized {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("devpg: initdb %s: %w\n%s", dir, err, tail(out.Bytes()))
		}
		c.Initialized = true
	}

	if pid := runningPID(dir); pid > 0 {
		return nil, fmt.Errorf("devpg: a postgres from an earlier run still runs the cluster in %s (pid %d); stop it (kill %d) and run again", dir, pid, pid)
	}
	log := opts.Log
	if log == nil {
		f, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		c.logFile, log = f, f
	}
	if c.Port = opts.Port; c.Port <= 0 {
		c.Port, err = freePort()
	}
	if err != nil {
		c.closeLog()
		return nil, err
	}
	if len(dir)+len("/.s.PGSQL.65535") <= maxSocketPath {
		c.SocketDir = dir
	}
	// Not CommandContext: the server must outlive the start timeout.
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", dir, "-p", strconv.Itoa(c.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+c.SocketDir)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	// Its own process group: a Ctrl-C in the terminal reaches the api,
	// which stops the server after its own connections are closed.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		c.closeLog()
		return nil, fmt.Errorf("devpg: start postgres: %w", err)
	}
	go func() { c.waitErr = c.cmd.Wait(); close(c.done) }()

	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("devpg: postgres in %s did not start: %w (see %s)", dir, err, logName(c, opts))
	}
	return c, nil
}

func logName(c *Cluster, opts Options) string {
	if opts.Log == nil {
		return filepath.Join(c.Dir, "postgres.log")
	}
	return "its log"
}

// waitReady polls until the server accepts a connection, it exits, or ctx
// ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	var last error
	for {
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited: %v", c.waitErr)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, c.URL("postgres"))
		if err == nil {
			err = conn.Ping(cctx)
			_ = conn.Close(cctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-c.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL returns the DSN of database on this cluster, over TCP, as user
// postgres without a password (trust).
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, database)
}

// Stop asks the server for a smart shutdown (SIGTERM) and waits for it to
// exit; after StopTimeout it asks for a fast one (SIGINT), and after another
// StopTimeout it kills it. Calling Stop again is a no-op.
func (c *Cluster) Stop() error {
	defer c.closeLog()
	select {
	case <-c.done:
		return nil
	default:
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		_ = c.cmd.Process.Signal(sig)
		select {
		case <-c.done:
			return nil
		case <-time.After(c.stopTimeout):
		}
	}
	<-c.done
	return errors.New("devpg: postgres had to be killed")
}

// Done is closed when the server has exited.
func (c *Cluster) Done() <-chan struct{} { return c.done }

func (c *Cluster) closeLog() {
	if c.logFile != nil {
		_ = c.logFile.Close()
	}
}

// credential returns the user to run initdb and postgres as: nil (this
// process's) unless this process is root, then runAs's.
func credential(runAs string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, fmt.Errorf("devpg: running as root, and initdb and postgres refuse root; the cluster runs as user %q, which does not exist (%v). Create it or run as a normal user", runAs, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("devpg: user %q has a non-numeric uid or gid", runAs)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDir creates dir (0700) and, when the cluster runs as another user,
// hands dir to it and lets it traverse dir's parents.
func prepareDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	if cred == nil {
		return os.Chmod(dir, 0o700)
	}
	if err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	}); err != nil {
		return fmt.Errorf("devpg: give %s to uid %d: %w", dir, cred.Uid, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("devpg: let uid %d traverse %s: %w", cred.Uid, p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// runningPID returns the pid in dir's postmaster.pid if that process is
// alive, else 0.
// RunningURL returns the URL of database on the cluster in dir when a
// postgres runs it (another process's Start, such as a running `api
// -dev`), read from its postmaster.pid; ok is false when none runs.
func RunningURL(dir, database string) (url string, ok bool) {
	dir, err := filepath.Abs(dir)
	if err != nil || runningPID(dir) == 0 {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return "", false
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address, ...
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || port <= 0 {
		return "", false
	}
	c := &Cluster{Port: port}
	return c.URL(database), true
}

func runningPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
		return pid
	}
	return 0
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of out, for error messages.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
