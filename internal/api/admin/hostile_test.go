package admin_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/admin"
	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// hostile is a body that would be a valid request (valid holds its
// fields, without braces) but for one hostile part.
type hostile struct {
	name, body string
	status     int
}

func hostileBodies(valid string) []hostile {
	with := func(v string) string { return `{` + valid + `,"x":"` + v + `"}` }
	return []hostile{
		{"trailing data", `{` + valid + `}} junk`, 400},
		{"second JSON value", `{` + valid + `}{"name":"b"}`, 400},
		{"NUL escape", with(`a\u0000b`), 400},
		{"invalid UTF-8", with("a\xffb"), 400},
		{"lone surrogate", with(`a\ud800b`), 400},
		{"oversize string", with(strings.Repeat("a", httpx.MaxStringBytes+1)), 400},
		{"oversize body", with(strings.Repeat("a", httpx.MaxBodyBytes)), 413},
		{"not JSON", `name=x`, 400},
	}
}

// TestAdminAPI_HostileBodiesAreRefusedAndWriteNothing sends bodies that
// would create or rename a project but for one hostile part: each is a
// 4xx JSON error and no project is created or renamed.
func TestAdminAPI_HostileBodiesAreRefusedAndWriteNothing(t *testing.T) {
	env := authtest.New(t)
	if err := env.Service.SetAdminKey(adminKey); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.NewHandler(env.Service, admin.Options{}))
	defer srv.Close()
	bearer := "Bearer " + adminKey
	pid := env.Project.ID
	before, err := env.Service.GetProject(t.Context(), pid)
	if err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path, valid string }{
		{"POST", "/v1/admin/projects", `"name":"Hostile","environment":"test"`},
		{"PATCH", "/v1/admin/projects/" + pid, `"name":"Renamed"`},
	}
	for _, rt := range routes {
		for _, b := range hostileBodies(rt.valid) {
			t.Run(rt.method+" "+rt.path+"/"+b.name, func(t *testing.T) {
				st, got := call(t, srv, rt.method, rt.path, bearer, b.body) // fails unless the answer is JSON
				if st != b.status || got["status_code"] != float64(b.status) {
					t.Fatalf("= %d %v, want %d", st, got, b.status)
				}
			})
		}
	}
	list, err := env.Service.ListProjects(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("projects after hostile bodies: %d, %v; want only the bootstrap one", len(list), err)
	}
	if after, err := env.Service.GetProject(t.Context(), pid); err != nil || after.Name != before.Name {
		t.Fatalf("project renamed %q -> %q (%v)", before.Name, after.Name, err)
	}
}
