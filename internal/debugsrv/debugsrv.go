// Package debugsrv serves net/http/pprof on an opt-in admin address
// (DEBUG_ADDR), separate from a process's public listener, so profiles can
// be taken from a running api, worker or limit server without exposing them
// on the API port. It is off unless an address is given.
package debugsrv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// EnvVar is the environment variable every process reads its debug
// address from. Unset or empty (the default) serves nothing.
const EnvVar = "DEBUG_ADDR"

// Server is a running debug listener. A nil *Server (debugging off) is
// valid: Addr returns "" and Close does nothing.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Handler serves the pprof index and profiles under /debug/pprof/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Start serves Handler on addr (host:port; port 0 picks a free one) in the
// background. An empty addr is the default: nothing is served and Start
// returns nil, nil. Bind it to a loopback or private address: profiles
// reveal internals (and the command line) of the process.
func Start(addr string) (*Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvVar, err)
	}
	// No WriteTimeout: /debug/pprof/profile?seconds=N streams for N seconds.
	s := &Server{ln: ln, srv: &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return s, nil
}

// Addr is the address the server listens on ("" when off).
func (s *Server) Addr() string {
	if s == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server, waiting at most 2 s for running profiles.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}
