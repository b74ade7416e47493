package operator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

type failingSender struct{}

func (failingSender) Send(context.Context, *auth.OutboundMessage) (string, error) {
	return "", auth.Permanent("twilio 21211", nil)
}

func TestOperatorMessages_SeeAndReplayFailures(t *testing.T) {
	env := authtest.New(t)
	ctx := t.Context()
	res, err := env.Service.SendOTP(ctx, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14152222222", LoginOrCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	d := &auth.Deliverer{Store: env.Store, Sender: failingSender{}, Render: func(ev *auth.Event) *auth.OutboundMessage { return &auth.OutboundMessage{} }}
	if err := d.Deliver(ctx, env.Events()[0]); err == nil {
		t.Fatal("delivery should fail permanently")
	}
	if err := env.Store.RecordProviderAttempt(ctx, res.MessageID, "twilio", false); err != nil {
		t.Fatal(err)
	}
	other, otherSecret := env.NewProject(t, false)
	srv := httptest.NewServer(operator.NewHandler(env.Service, operator.Options{}))
	defer srv.Close()

	do := func(method, path string, basic bool, projectID, secret string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		switch {
		case basic:
			req.SetBasicAuth(projectID, secret)
		case secret != "":
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	tests := []struct {
		name       string
		method     string
		path       string
		basic      bool
		project    string
		secret     string
		wantStatus int
		check      func(t *testing.T, body map[string]any)
	}{
		{"OKListFailedWithBearer", "GET", "/v1/messages?status=failed", false, "", env.Secret, 200, func(t *testing.T, b map[string]any) {
			msgs := b["messages"].([]any)
			if len(msgs) != 1 {
				t.Fatalf("messages = %v", msgs)
			}
			m := msgs[0].(map[string]any)
			if m["message_id"] != res.MessageID || m["last_error"] != "twilio 21211" || m["status"] != "failed" {
				t.Fatalf("message = %v", m)
			}
			if tried, _ := m["providers_tried"].([]any); len(tried) != 1 || tried[0] != "twilio" || m["provider"] != "" {
				t.Fatalf("providers_tried = %v, provider = %v; want [twilio] and none accepted", m["providers_tried"], m["provider"])
			}
		}},
		{"OKGetWithBasic", "GET", "/v1/messages/" + res.MessageID, true, env.Project.ID, env.Secret, 200, nil},
		{"ErrBadStatusFilter", "GET", "/v1/messages?status=lost", false, "", env.Secret, 400, nil},
		{"ErrNoCredentials", "GET", "/v1/messages", false, "", "", 401, nil},
		{"ErrOtherProjectCannotSee", "GET", "/v1/messages/" + res.MessageID, true, other.ID, otherSecret, 404, nil},
		{"ErrOtherProjectCannotReplay", "POST", "/v1/messages/" + res.MessageID + "/replay", false, "", otherSecret, 404, nil},
		{"OKReplay", "POST", "/v1/messages/" + res.MessageID + "/replay", false, "", env.Secret, 200, nil},
		{"ErrReplayTwice", "POST", "/v1/messages/" + res.MessageID + "/replay", false, "", env.Secret, 409, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := do(tt.method, tt.path, tt.basic, tt.project, tt.secret)
			if st != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", st, tt.wantStatus, body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
	// The replayed message goes out again under a new Nats-Msg-Id.
	relay := &auth.Relay{Store: env.Store, Publisher: env.Publisher, Keys: env.Keys, MinAge: 1}
	if n, err := relay.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("relay published %d, %v; want the replayed message", n, err)
	}
	if evs := env.Events(); len(evs) != 2 || evs[1].MessageID != res.MessageID {
		t.Fatalf("events after replay = %d", len(env.Events()))
	}
}

func TestOperatorUnknownRoutesAnswerJSON(t *testing.T) {
	env := authtest.New(t)
	h := operator.NewHandler(env.Service, operator.Options{})
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantType  string
		wantAllow string
	}{
		{"UnknownSubpathNotFound", http.MethodGet, "/v1/messages/m1/nope", 404, "not_found", ""},
		{"DeleteMessagesNotAllowed", http.MethodDelete, "/v1/messages", 405, "method_not_allowed", "GET"},
		{"GetReplayNotAllowed", http.MethodGet, "/v1/messages/m1/replay", 405, "method_not_allowed", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d", w.Code, tc.wantCode)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error_type"] != tc.wantType {
				t.Fatalf("body %s (err %v), want JSON with error_type %q", w.Body, err, tc.wantType)
			}
			if got := w.Header().Get("Allow"); got != tc.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tc.wantAllow)
			}
		})
	}
}
