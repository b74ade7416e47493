package debugsrv_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/debugsrv"
)

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		addr     string
		wantOn   bool
		wantPath string
		wantBody string
	}{
		{name: "empty address serves nothing", addr: ""},
		{name: "an address serves the pprof index", addr: "127.0.0.1:0", wantOn: true, wantPath: "/debug/pprof/", wantBody: "goroutine"},
		{name: "an address serves a named profile", addr: "127.0.0.1:0", wantOn: true, wantPath: "/debug/pprof/goroutine?debug=1", wantBody: "goroutine profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := debugsrv.Start(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !tc.wantOn {
				if s != nil || s.Addr() != "" {
					t.Fatalf("debug server started for %q at %q", tc.addr, s.Addr())
				}
				return
			}
			resp, err := http.Get("http://" + s.Addr() + tc.wantPath)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("GET %s: %d, body without %q:\n%.300s", tc.wantPath, resp.StatusCode, tc.wantBody, body)
			}
		})
	}
}

func TestStartRefusesABadAddress(t *testing.T) {
	s, err := debugsrv.Start("127.0.0.1:notaport")
	if err == nil {
		s.Close()
		t.Fatal("Start accepted a bad address")
	}
	if !strings.Contains(err.Error(), debugsrv.EnvVar) {
		t.Fatalf("error %q does not name %s", err, debugsrv.EnvVar)
	}
}
