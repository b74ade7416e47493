package limit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/limit"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/pgtest"
)

// The limit server against real Postgres and an embedded JetStream.
func TestServer(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustOpenDB(t)
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", natsgo.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LIMIT", Subjects: []string{"limit.>"}})
	if err != nil {
		t.Fatal(err)
	}
	s := limit.New(db.Pool(), js, "limit_otp", "limit.otp.sent")
	if err := s.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable is not idempotent: %v", err)
	}
	if err := s.Prefill(ctx, 10); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, path, body string
		want             int
		wantKey          string
	}{
		{"send inserts a row and publishes", "/send", `{"email":"a@example.test"}`, 200, `"expires_at"`},
		{"send without an email is refused", "/send", `{}`, 400, ""},
		{"verify of a prefilled id counts the attempt", "/verify", `{"id":"c4ca4238-a0b9-2382-0dcc-509a6f75849b"}`, 200, `"attempts":1`},
		{"verify of an unknown id is not found", "/verify", `{"id":"00000000-0000-4000-8000-000000000000"}`, 404, ""},
		{"verify of a bad body is refused", "/verify", `nope`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			if resp.StatusCode != tc.want || !strings.Contains(string(raw), tc.wantKey) {
				t.Fatalf("%s %s: %d %s, want %d with %s", tc.path, tc.body, resp.StatusCode, raw, tc.want, tc.wantKey)
			}
		})
	}
	var rows int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM limit_otp`).Scan(&rows); err != nil || rows != 11 {
		t.Fatalf("limit_otp has %d rows (%v), want 10 prefilled + 1 sent", rows, err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream holds %+v (%v), want the one send's event", info.State, err)
	}
}

func TestPrefillIDMatchesPostgres(t *testing.T) {
	// SELECT md5('1')::uuid, md5('200000')::uuid
	for k, want := range map[int]string{1: "c4ca4238-a0b9-2382-0dcc-509a6f75849b", 200000: "03e6c616-03f6-c550-ab49-ab6a2d83f793"} {
		if got := limit.PrefillID(k); got != want {
			t.Errorf("PrefillID(%d) = %s, want %s", k, got, want)
		}
	}
}
