// Package health serves the probes every Sesame process exposes: /healthz
// (the process is alive) and /readyz (its own dependencies answer).
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// Register adds GET /healthz and GET /readyz to mux. /readyz runs every
// check with a 2 s bound and answers 200 when all required checks pass,
// else 503, naming each check's result (only error texts, never secrets).
// Optional checks are reported but never fail readiness: a dependency the
// process can work without for a while (the api's NATS, covered by the
// outbox) must not take every replica out of its load balancer.
func Register(mux *http.ServeMux, checks map[string]Check, optional ...map[string]Check) {
	opt := map[string]bool{}
	for _, o := range optional {
		for n, c := range o {
			checks[n], opt[n] = c, true
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		names := make([]string, 0, len(checks))
		for n := range checks {
			names = append(names, n)
		}
		sort.Strings(names)
		status, result := http.StatusOK, map[string]string{}
		for _, n := range names {
			if err := checks[n](ctx); err != nil {
				result[n] = err.Error()
				if opt[n] {
					result[n] = "degraded: " + err.Error()
				} else {
					status = http.StatusServiceUnavailable
				}
			} else {
				result[n] = "ok"
			}
		}
		body := map[string]any{"status": "ok", "checks": result}
		if status != http.StatusOK {
			body["status"] = "unavailable"
		}
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
