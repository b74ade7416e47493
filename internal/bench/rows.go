package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/limit"
)

// row is one closed- or open-loop HTTP workload.
type row struct {
	name   string
	limit  bool    // served by the limit server (else by bin/api)
	ref    string  // the limit row its rate is divided by ("" for none)
	guess  float64 // first guess of its rate, sizing round 1's fixtures (default 1,000/s)
	path   string
	header http.Header
	want   func(int) bool
	// prepare makes what n requests need (untimed) and returns their
	// bodies; ok false once they run out.
	prepare func(ctx context.Context, n int) (func(i uint64) ([]byte, bool), error)
}

const (
	limitSend   = "limit server /send"
	limitVerify = "limit server /verify"
)

// wrongPerCode is how many wrong attempts a wrong-code row makes per code:
// below the default attempt limit (auth.Config.MaxOTPAttempts, 5), so
// every attempt is an ordinary wrong code, never a locked one.
const wrongPerCode = 4

func is4xx(c int) bool { return c >= 400 && c < 500 && c != http.StatusTooManyRequests }

// each returns bodies for i < len(xs) from f.
func each[T any](xs []T, f func(T) []byte) func(uint64) ([]byte, bool) {
	return func(i uint64) ([]byte, bool) {
		if i >= uint64(len(xs)) {
			return nil, false
		}
		return f(xs[i]), true
	}
}

// dialect is what differs between Streambird and Stytch for the
// consumer OTP rows.
type dialect struct {
	name, send, verify, codeField, session string
	header                                 http.Header
}

func (s *system) rows() []row {
	limit := []row{
		{name: limitSend, limit: true, path: "/send", want: status(200),
			prepare: func(context.Context, int) (func(uint64) ([]byte, bool), error) {
				tag := rand.Uint32()
				return func(i uint64) ([]byte, bool) {
					return fmt.Appendf(nil, `{"email":"l%d_%d@example.test"}`, tag, i), true
				}, nil
			}},
		{name: limitVerify, limit: true, path: "/verify", want: status(200),
			prepare: func(context.Context, int) (func(uint64) ([]byte, bool), error) {
				return func(uint64) ([]byte, bool) {
					return fmt.Appendf(nil, `{"id":%q}`, limit.PrefillID(1+rand.IntN(limitPrefill))), true
				}, nil
			}},
	}
	for i := range limit {
		limit[i].header = http.Header{"Content-Type": {"application/json"}}
	}
	var out []row
	out = append(out, limit...)
	for _, d := range []dialect{
		{"Streambird", "/v1/auth/otps/sms/login_or_create", "/v1/auth/otps/verify", "otp", `,"session_expires_in":60`, s.bearer},
		{"Stytch", "/v1/otps/sms/login_or_create", "/v1/otps/authenticate", "code", `,"session_duration_minutes":60`, s.basic},
	} {
		verify := func(wrong bool, extra string) func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
			return func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				if wrong {
					n = n/wrongPerCode + 1
				}
				cs, err := s.codes(ctx, n, 10*time.Minute)
				if err != nil {
					return nil, err
				}
				return func(i uint64) ([]byte, bool) {
					if wrong {
						if i/wrongPerCode >= uint64(len(cs)) {
							return nil, false
						}
						c := cs[i/wrongPerCode]
						return fmt.Appendf(nil, `{"method_id":%q,%q:%q}`, c.methodID, d.codeField, c.wrong()), true
					}
					if i >= uint64(len(cs)) {
						return nil, false
					}
					c := cs[i]
					return fmt.Appendf(nil, `{"method_id":%q,%q:%q%s}`, c.methodID, d.codeField, c.code, extra), true
				}, nil
			}
		}
		out = append(out,
			row{name: d.name + " send, new address", ref: limitSend, path: d.send, header: d.header, want: status(200),
				prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
					// A deployment has users: on empty tables (the first row
					// of a run), the planner's statistics would stay those
					// of empty tables while the run fills them.
					if _, err := s.recipients(ctx, n); err != nil {
						return nil, err
					}
					return func(uint64) ([]byte, bool) { return fmt.Appendf(nil, `{"phone_number":%q}`, s.phone()), true }, nil
				}},
			row{name: d.name + " send, existing address", ref: limitSend, path: d.send, header: d.header, want: status(200),
				prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
					ps, err := s.recipients(ctx, n)
					return each(ps, func(p string) []byte { return fmt.Appendf(nil, `{"phone_number":%q}`, p) }), err
				}},
			row{name: d.name + " verify, wrong code", ref: limitVerify, guess: 3000, path: d.verify, header: d.header, want: is4xx, prepare: verify(true, "")},
			row{name: d.name + " verify, right code, no session", ref: limitVerify, path: d.verify, header: d.header, want: status(200), prepare: verify(false, "")},
			row{name: d.name + " verify, new session (RS256)", ref: limitVerify, path: d.verify, header: d.header, want: status(200), prepare: verify(false, d.session)},
		)
	}
	for _, alg := range s.algProjects {
		out = append(out, row{name: "Streambird verify, new session (" + alg.alg + ")", ref: limitVerify, path: "/v1/auth/otps/verify", header: alg.bearer, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				cs, err := s.codesOf(ctx, alg.project, n, 10*time.Minute)
				return each(cs, func(c code) []byte {
					return fmt.Appendf(nil, `{"method_id":%q,"otp":%q,"session_expires_in":60}`, c.methodID, c.code)
				}), err
			}})
	}
	out = append(out,
		row{name: "B2B SMS send (Stytch)", ref: limitSend, path: "/v1/b2b/otps/sms/send", header: s.basic, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				ms, err := s.memberPool(ctx, min(n, 2000))
				if err != nil {
					return nil, err
				}
				return func(i uint64) ([]byte, bool) {
					m := ms[i%uint64(len(ms))]
					return fmt.Appendf(nil, `{"organization_id":%q,"member_id":%q}`, s.org.ID, m.ID), true
				}, nil
			}},
		row{name: "B2B magic-link authenticate, MFA required: IST (Stytch)", ref: limitVerify, path: "/v1/b2b/magic_links/authenticate", header: s.basic, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				ts, err := s.memberLinks(ctx, "bench-link-mfa", auth.MFARequiredForAll, n)
				return each(ts, func(t string) []byte { return fmt.Appendf(nil, `{"magic_links_token":%q}`, t) }), err
			}},
		row{name: "B2B magic-link authenticate, new session (Stytch)", ref: limitVerify, path: "/v1/b2b/magic_links/authenticate", header: s.basic, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				ts, err := s.memberLinks(ctx, "bench-link-session", auth.MFAOptional, n)
				return each(ts, func(t string) []byte { return fmt.Appendf(nil, `{"magic_links_token":%q}`, t) }), err
			}},
		row{name: "B2B email OTP authenticate, new session (Stytch)", ref: limitVerify, path: "/v1/b2b/otps/email/authenticate", header: s.basic, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				cs, err := s.memberEmailCodes(ctx, n, s.cfg.EmailCodesByChallenge)
				return each(cs, func(c memberEmailCode) []byte {
					return fmt.Appendf(nil, `{"organization_id":%q,"email_address":%q,"code":%q}`, c.org, c.email, c.code)
				}), err
			}},
		row{name: "B2B SMS authenticate with an IST (Stytch)", ref: limitVerify, path: "/v1/b2b/otps/sms/authenticate", header: s.basic, want: status(200),
			prepare: func(ctx context.Context, n int) (func(uint64) ([]byte, bool), error) {
				ms, err := s.memberPool(ctx, n)
				if err != nil {
					return nil, err
				}
				ls, err := s.memberLogins(ctx, ms)
				return each(ls, func(l memberLogin) []byte {
					return fmt.Appendf(nil, `{"organization_id":%q,"member_id":%q,"intermediate_session_token":%q,"code":%q}`,
						s.org.ID, l.member.ID, l.ist, l.code)
				}), err
			}},
	)
	return out
}
