package nats_test

import (
	"testing"
	"time"

	snats "github.com/sesame-auth/sesame/internal/nats"
)

func TestStreamOptionsFromEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		replicas int
		maxAge   time.Duration
		wantErr  bool
	}{
		{"OKDefaults", nil, 0, 0, false},
		{"OKThreeReplicas", map[string]string{"NATS_STREAM_REPLICAS": "3"}, 3, 0, false},
		{"OKMaxAge", map[string]string{"NATS_STREAM_MAX_AGE": "20m"}, 0, 20 * time.Minute, false},
		{"ErrReplicasZero", map[string]string{"NATS_STREAM_REPLICAS": "0"}, 0, 0, true},
		{"ErrReplicasWord", map[string]string{"NATS_STREAM_REPLICAS": "three"}, 0, 0, true},
		{"ErrMaxAgeTooShort", map[string]string{"NATS_STREAM_MAX_AGE": "10s"}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := snats.StreamOptionsFromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (o.Replicas != tt.replicas || o.MaxAge != tt.maxAge) {
				t.Fatalf("options = %+v", o)
			}
		})
	}
}
