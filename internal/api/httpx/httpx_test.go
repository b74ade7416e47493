package httpx_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Limit int    `json:"limit"`
		Name  string `json:"name"`
	}
	tests := []struct {
		name    string
		body    string
		wantErr bool
		want    body
	}{
		{name: "single object is accepted", body: `{"limit":1}`, want: body{Limit: 1}},
		{name: "trailing whitespace is accepted", body: "{\"limit\":2}\n\t ", want: body{Limit: 2}},
		{name: "empty body decodes as empty object", body: "", want: body{}},
		{name: "unknown fields are ignored", body: `{"limit":3,"extra":true}`, want: body{Limit: 3}},
		{name: "extra closing brace is refused", body: `{"limit":1}}`, wantErr: true},
		{name: "extra closing brace and garbage are refused", body: `{"limit":1}} junk`, wantErr: true},
		{name: "extra closing bracket is refused", body: `{"limit":1}]`, wantErr: true},
		{name: "second value is refused", body: `{"limit":1}{"limit":2}`, wantErr: true},
		{name: "trailing garbage word is refused", body: `{"limit":1} junk`, wantErr: true},
		{name: "trailing non-JSON whitespace is refused", body: "{\"limit\":1}\u00a0", wantErr: true},
		{name: "wrong type is refused", body: `{"limit":"x"}`, wantErr: true},
		{name: "truncated object is refused", body: `{"limit":1`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			var got body
			err := httpx.DecodeJSON(r, &got)
			if tt.wantErr {
				if auth.ErrorCode(err) != auth.EInvalid {
					t.Fatalf("DecodeJSON(%q) error = %v, want EInvalid", tt.body, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeJSON(%q) = %v", tt.body, err)
			}
			if got != tt.want {
				t.Fatalf("DecodeJSON(%q) decoded %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzDecodeJSONRefusesTrailingData checks for wrong acceptance, not only
// crashes: whatever DecodeJSON accepts must be one JSON value (json.Valid
// refuses trailing data) or an empty body.
func FuzzDecodeJSONRefusesTrailingData(f *testing.F) {
	for _, s := range []string{`{"limit":1}`, `{"limit":1}}`, `{} x`, `[]`, `{"name":"a"}]`, `{"a":1} {"b":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(s))
		var v map[string]any
		if httpx.DecodeJSON(r, &v) != nil {
			return
		}
		if strings.Trim(s, " \t\r\n") != "" && !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q, which is not a single JSON value", s)
		}
	})
}
