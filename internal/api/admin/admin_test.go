package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/admin"
	"github.com/sesame-auth/sesame/internal/authtest"
)

const adminKey = "admin-0123456789abcdef0123456789abcdef"

// newAdminServer serves the admin API of a fresh service whose admin key
// is adminKey.
func newAdminServer(t *testing.T) (*authtest.Env, *httptest.Server) {
	t.Helper()
	env := authtest.New(t)
	if err := env.Service.SetAdminKey(adminKey); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.NewHandler(env.Service, admin.Options{}))
	t.Cleanup(srv.Close)
	return env, srv
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, out
}

func TestAdminAPI_ManagesProjectsAndSecrets(t *testing.T) {
	env, srv := newAdminServer(t)
	bearer := "Bearer " + adminKey

	st, created := call(t, srv, "POST", "/v1/admin/projects", bearer,
		`{"name":"Shop","environment":"test","settings":{"send_limit":3,"redirect_urls":[{"url":"https://shop.example/auth","valid_types":[{"type":"login","is_default":true}]}]}}`)
	pid, _ := created["project_id"].(string)
	secret, _ := created["secret"].(string)
	if st != 201 || !strings.HasPrefix(pid, "project-test-") || !strings.HasPrefix(secret, "secret-test-") {
		t.Fatalf("create = %d %v", st, created)
	}
	if p, err := env.Service.AuthenticateBasic(t.Context(), pid, secret); err != nil || p.ID != pid {
		t.Fatalf("the new secret does not authenticate: %v", err)
	}
	if st, got := call(t, srv, "GET", "/v1/admin/projects/"+pid, bearer, ""); st != 200 || got["name"] != "Shop" || got["settings"].(map[string]any)["send_limit"] != 3.0 || got["secret"] != nil {
		t.Fatalf("get = %d %v", st, got)
	}
	if st, got := call(t, srv, "GET", "/v1/admin/projects", bearer, ""); st != 200 || len(got["projects"].([]any)) != 2 {
		t.Fatalf("list = %d %v", st, got)
	}
	if st, got := call(t, srv, "PATCH", "/v1/admin/projects/"+pid, bearer, `{"name":"Shop 2"}`); st != 200 || got["name"] != "Shop 2" || got["settings"].(map[string]any)["send_limit"] != 3.0 {
		t.Fatalf("update name = %d %v", st, got)
	}
	st, sec2 := call(t, srv, "POST", "/v1/admin/projects/"+pid+"/secrets", bearer, "")
	if st != 201 || !strings.HasPrefix(sec2["secret"].(string), "secret-test-") {
		t.Fatalf("new secret = %d %v", st, sec2)
	}
	st, list := call(t, srv, "GET", "/v1/admin/projects/"+pid+"/secrets", bearer, "")
	secrets, _ := list["secrets"].([]any)
	if st != 200 || len(secrets) != 2 || strings.Contains(toJSON(list), secret) {
		t.Fatalf("list secrets = %d %v", st, list)
	}
	first := secrets[0].(map[string]any)["secret_id"].(string)
	if st, got := call(t, srv, "DELETE", "/v1/admin/projects/"+pid+"/secrets/"+first, bearer, ""); st != 200 || got["revoked"] != true {
		t.Fatalf("revoke = %d %v", st, got)
	}
	if _, err := env.Service.AuthenticateBasic(t.Context(), pid, secret); err == nil {
		t.Fatal("a revoked secret still authenticates")
	}
	if _, err := env.Service.AuthenticateBasic(t.Context(), pid, sec2["secret"].(string)); err != nil {
		t.Fatalf("the remaining secret is refused: %v", err)
	}
	if st, got := call(t, srv, "DELETE", "/v1/admin/projects/"+pid, bearer, ""); st != 200 || got["deleted"] != true {
		t.Fatalf("delete = %d %v", st, got)
	}
	if st, _ := call(t, srv, "GET", "/v1/admin/projects/"+pid, bearer, ""); st != 404 {
		t.Fatalf("get deleted = %d", st)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAdminAPI_Refusals(t *testing.T) {
	env, srv := newAdminServer(t)
	bearer := "Bearer " + adminKey
	pid := env.Project.ID
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		errType, field                 string
	}{
		{"NoCredentials", "GET", "/v1/admin/projects", "", "", 401, "unauthorized", ""},
		{"ProjectSecretAsBearer", "GET", "/v1/admin/projects", "Bearer " + env.Secret, "", 401, "unauthorized", ""},
		{"ProjectSecretAsBasic", "GET", "/v1/admin/projects", "Basic " + basic(pid, env.Secret), "", 401, "unauthorized", ""},
		{"AdminKeyAsBasic", "GET", "/v1/admin/projects", "Basic " + basic(pid, adminKey), "", 401, "unauthorized", ""},
		{"WrongKey", "DELETE", "/v1/admin/projects/" + pid, "Bearer " + adminKey + "x", "", 401, "unauthorized", ""},
		{"BadEnvironment", "POST", "/v1/admin/projects", bearer, `{"name":"x","environment":"prod"}`, 400, "invalid", "environment"},
		{"NoName", "POST", "/v1/admin/projects", bearer, `{"environment":"live"}`, 400, "invalid", "name"},
		{"BadJSON", "POST", "/v1/admin/projects", bearer, `{"name":`, 400, "invalid", ""},
		{"WrongType", "POST", "/v1/admin/projects", bearer, `{"name":1}`, 400, "invalid", "name"},
		{"BadSettings", "PATCH", "/v1/admin/projects/" + pid, bearer, `{"settings":{"sms_allowed_countries":["USA"]}}`, 400, "invalid", "sms_allowed_countries"},
		{"BadMessages", "PATCH", "/v1/admin/projects/" + pid, bearer, `{"settings":{"messages":{"sender_name":"Acme\r\nBcc: x@evil.test"}}}`, 400, "invalid", "messages.sender_name"},
		{"BadPumping", "PATCH", "/v1/admin/projects/" + pid, bearer, `{"settings":{"sms_pumping":{"prefix":{"block_below":2}}}}`, 400, "invalid", "sms_pumping.prefix.block_below"},
		{"BadRedirect", "PATCH", "/v1/admin/projects/" + pid, bearer, `{"settings":{"redirect_urls":[{"url":"data:text/html,x","valid_types":[{"type":"login"}]}]}}`, 400, "invalid", "redirect_urls.url"},
		{"UnknownProject", "GET", "/v1/admin/projects/project-test-nope", bearer, "", 404, "not_found", "project_id"},
		{"UnknownSecret", "DELETE", "/v1/admin/projects/" + pid + "/secrets/project-secret-test-nope", bearer, "", 404, "not_found", "secret_id"},
		{"UnknownRoute", "GET", "/v1/admin/nothing", bearer, "", 404, "not_found", ""},
		{"WrongMethod", "PUT", "/v1/admin/projects", bearer, "", 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, got := call(t, srv, tt.method, tt.path, tt.auth, tt.body)
			if st != tt.status || got["error_type"] != tt.errType || tt.field != "" && got["field"] != tt.field {
				t.Fatalf("= %d %v, want %d %s %s", st, got, tt.status, tt.errType, tt.field)
			}
		})
	}
	// Nothing changed: the project keeps its name, settings and one secret.
	p, err := env.Service.GetProject(t.Context(), pid)
	if err != nil || p.Settings.SMSAllowedCountries != nil || p.Settings.RedirectURLs != nil {
		t.Fatalf("project after refusals = %+v, %v", p, err)
	}
	if list, err := env.Service.ListProjectSecrets(t.Context(), pid); err != nil || len(list) != 1 {
		t.Fatalf("secrets after refusals = %d, %v", len(list), err)
	}
	// With no admin key set, the admin API refuses everything.
	if err := env.Service.SetAdminKey(""); err != nil {
		t.Fatal(err)
	}
	if st, _ := call(t, srv, "GET", "/v1/admin/projects", bearer, ""); st != 401 {
		t.Fatalf("admin API without a key = %d", st)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
