package nats

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StreamOptionsFromEnv reads the stream options every process must agree
// on: NATS_STREAM_REPLICAS (default 1; 3 on a three-node cluster) and
// NATS_STREAM_MAX_AGE (default DefaultMaxAge, e.g. "15m").
func StreamOptionsFromEnv(getenv func(string) string) (StreamOptions, error) {
	var o StreamOptions
	if v := strings.TrimSpace(getenv("NATS_STREAM_REPLICAS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return o, fmt.Errorf("NATS_STREAM_REPLICAS must be 1 to 5, not %q", v)
		}
		o.Replicas = n
	}
	if v := strings.TrimSpace(getenv("NATS_STREAM_MAX_AGE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return o, fmt.Errorf("NATS_STREAM_MAX_AGE must be a duration of at least 1m, not %q", v)
		}
		o.MaxAge = d
	}
	return o, nil
}
