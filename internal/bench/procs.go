package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sesame-auth/sesame/internal/nats"
)

// proc is a child process started by the driver.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // file with its stdout and stderr
	done chan struct{}
	err  error
}

// start runs bin with args and env (on top of PATH and HOME only: the
// driver's own environment does not leak into what is measured), its
// output going to dir/name.log.
func start(dir, name, bin string, args []string, env map[string]string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// pid is the process id (0 for nil).
func (p *proc) pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to 20 s, then kills. Nil-safe.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers 2xx, the process exits or timeout.
func (p *proc) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.tail())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready at %s after %s:\n%s", p.name, url, timeout, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTCP polls addr until it accepts a connection.
func (p *proc) waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, p.tail())
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %s:\n%s", p.name, addr, timeout, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddrs returns n distinct free 127.0.0.1 addresses (held open until
// all are chosen, so they differ; another process may still take one
// before the child binds it, in which case that child fails to start).
func freeAddrs(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	out := make([]string, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out[i] = l.Addr().String()
	}
	return out, nil
}

// RunNATS is the driver's private nats-server, run as a child process of
// the driver itself (`bench nats-server -addr … -store …`): the embedded
// nats-server v2 library with JetStream and file storage, its defaults
// otherwise (the same server `make e2e` installs), until ctx ends.
func RunNATS(ctx context.Context, args []string) error {
	var addr, store string
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-addr":
			addr = args[i+1]
		case "-store":
			store = args[i+1]
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || store == "" {
		return errors.New("usage: bench nats-server -addr host:port -store dir")
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: store, Host: host, Port: p})
	if err != nil {
		return err
	}
	<-ctx.Done()
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}

// dbURL replaces the database of a postgres:// URL.
func dbURL(base, db string) (string, error) {
	i := strings.Index(base, "://")
	if i < 0 {
		return "", errors.New("the Postgres URL must be a postgres:// URL")
	}
	rest := base[i+3:]
	slash := strings.IndexByte(rest, '/')
	q := ""
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		q = rest[j:]
		rest = rest[:j]
		if slash > j {
			slash = -1
		}
	}
	if slash >= 0 {
		rest = rest[:slash]
	}
	return base[:i+3] + rest + "/" + db + q, nil
}
