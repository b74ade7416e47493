package nats

import (
	"math/rand/v2"
	"time"
)

// Default retry backoff parameters.
const (
	DefaultBackoffBase   = time.Second
	DefaultBackoffMax    = time.Minute
	DefaultBackoffJitter = 0.2
)

// DefaultBackoff is the delay before redelivering a message whose
// numDelivered-th attempt failed transiently: 1s, 2s, 4s, … capped at 1m,
// each ±20% so a provider outage does not produce synchronized retry waves.
func DefaultBackoff(numDelivered uint64) time.Duration {
	return ExponentialBackoff(DefaultBackoffBase, DefaultBackoffMax, DefaultBackoffJitter)(numDelivered)
}

// ExponentialBackoff returns base*2^(n-1) capped at limit, randomized by
// ±jitter (a fraction, 0..1) and never above limit.
func ExponentialBackoff(base, limit time.Duration, jitter float64) func(numDelivered uint64) time.Duration {
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if limit < base {
		limit = base
	}
	jitter = min(max(jitter, 0), 1)
	return func(n uint64) time.Duration {
		d := base
		for i := uint64(1); i < n && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		if jitter > 0 {
			d = time.Duration(float64(d) * (1 + jitter*(2*rand.Float64()-1)))
		}
		return min(d, limit)
	}
}
