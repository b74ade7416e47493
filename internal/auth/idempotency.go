package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

type idempotencyKey struct{}

// WithIdempotencyKey attaches a client's Idempotency-Key to a request. The
// sends (SendOTP, SendMagicLink, InviteMagicLink) then answer a retry with
// the same key and the same request with the first result, without issuing
// a second code or message.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// idempotent runs send once per Idempotency-Key in ctx (if any): a retry
// with the same key and the same input gets the stored result.
func (s *Service) idempotent(ctx context.Context, p *Project, op string, in any, send func() (*SendResult, error)) (*SendResult, error) {
	key, _ := ctx.Value(idempotencyKey{}).(string)
	if key == "" {
		return send()
	}
	if len(key) > MaxIdempotencyKey || validText("Idempotency-Key", key) != nil {
		return nil, Invalid("Idempotency-Key", "The Idempotency-Key header must be 1 to %d characters of valid UTF-8.", MaxIdempotencyKey)
	}
	fp := sha256.Sum256(fmt.Appendf(nil, "%s\x00%#v", op, in))
	stored, done, err := s.store.BeginIdempotent(ctx, p.ID, key, fp[:])
	if err != nil {
		return nil, err
	}
	if done {
		var res SendResult
		if err := json.Unmarshal(stored, &res); err != nil {
			return nil, Internal(err)
		}
		return &res, nil
	}
	res, err := send()
	rctx := context.WithoutCancel(ctx)
	if err != nil {
		if ferr := s.store.FinishIdempotent(rctx, p.ID, key, nil); ferr != nil {
			s.log.Warn("releasing an idempotency key failed", "err", ferr)
		}
		return nil, err
	}
	stored, _ = json.Marshal(res)
	if err := s.store.FinishIdempotent(rctx, p.ID, key, stored); err != nil {
		s.log.Warn("storing an idempotent result failed", "err", err)
	}
	return res, nil
}
