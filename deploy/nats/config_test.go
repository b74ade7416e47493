// Package natsdeploy_test checks that deploy/nats/*.json, the files an
// operator feeds to `nats stream add --config` and `nats consumer add
// --config`, give exactly the stream and consumers that internal/nats
// creates, so the files cannot drift from the code.
package natsdeploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	snats "github.com/sesame-auth/sesame/internal/nats"
)

func startServer(t *testing.T) (*natsgo.Conn, jetstream.JetStream) {
	t.Helper()
	ns, err := snats.RunEmbedded(snats.EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := natsgo.Connect("", natsgo.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// request sends a raw JetStream API request, as the nats CLI does with a
// --config file, and fails on an API error.
func request(t *testing.T, nc *natsgo.Conn, subject string, body []byte) {
	t.Helper()
	msg, err := nc.Request(subject, body, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatalf("%s: %d %s", subject, resp.Error.Code, resp.Error.Description)
	}
}

// normalize drops what the server adds on its own (version metadata).
func normalize(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "metadata")
	return m
}

func TestConfigFilesMatchCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, fromCode := startServer(t)
	ncFile, fromFile := startServer(t)

	if _, err := snats.EnsureStream(ctx, fromCode, snats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("stream.json")
	if err != nil {
		t.Fatal(err)
	}
	request(t, ncFile, "$JS.API.STREAM.CREATE."+snats.StreamName, raw)
	sc, err := fromCode.Stream(ctx, snats.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := fromFile.Stream(ctx, snats.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := normalize(t, sc.CachedInfo().Config), normalize(t, sf.CachedInfo().Config); !reflect.DeepEqual(a, b) {
		t.Errorf("stream.json differs from internal/nats:\ncode: %v\nfile: %v", a, b)
	}

	for _, name := range []string{snats.ConsumerSMS, snats.ConsumerEmail} {
		t.Run(name, func(t *testing.T) {
			if _, err := snats.EnsureConsumer(ctx, fromCode, snats.ConsumerOptions{Name: name}); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join("consumers", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			req, err := json.Marshal(map[string]any{"stream_name": snats.StreamName, "config": json.RawMessage(raw), "action": "create"})
			if err != nil {
				t.Fatal(err)
			}
			request(t, ncFile, "$JS.API.CONSUMER.CREATE."+snats.StreamName+"."+name, req)
			cc, err := fromCode.Consumer(ctx, snats.StreamName, name)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := fromFile.Consumer(ctx, snats.StreamName, name)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := normalize(t, cc.CachedInfo().Config), normalize(t, cf.CachedInfo().Config); !reflect.DeepEqual(a, b) {
				t.Errorf("consumers/%s.json differs from internal/nats:\ncode: %v\nfile: %v", name, a, b)
			}
			// A worker starting against the pre-provisioned consumer accepts it.
			if _, err := snats.EnsureConsumer(ctx, fromFile, snats.ConsumerOptions{Name: name}); err != nil {
				t.Fatalf("worker update over the file's consumer: %v", err)
			}
		})
	}
	// And the api over the pre-provisioned stream.
	if _, err := snats.EnsureStream(ctx, fromFile, snats.StreamOptions{}); err != nil {
		t.Fatalf("api update over the file's stream: %v", err)
	}
}
