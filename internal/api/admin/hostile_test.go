package admin_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/authtest"
)

// TestAdminAPI_HostileBodiesAreRefusedAndWriteNothing sends bodies that
// would create or rename a project but for one hostile part: each is a
// 4xx JSON error and no project is created or renamed.
func TestAdminAPI_HostileBodiesAreRefusedAndWriteNothing(t *testing.T) {
	env, srv := newAdminServer(t)
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
		wrap := func(v string) string { return `{` + rt.valid + `,"x":"` + v + `"}` }
		for _, b := range authtest.HostileBodies(wrap) {
			want := b.Status
			if want == 0 {
				want = 400 // every admin route that takes a body reads it first
			}
			t.Run(rt.method+" "+rt.path+"/"+b.Name, func(t *testing.T) {
				st, got := call(t, srv, rt.method, rt.path, bearer, b.Body) // fails unless the answer is JSON
				if st != want || got["status_code"] != float64(want) {
					t.Fatalf("= %d %v, want %d", st, got, want)
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
