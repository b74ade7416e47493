package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Fixtures are made through the store with the api's SECRET_KEYS (the
// state a send leaves behind, minus the outbox row), outside the timed
// part, on fixtureConns goroutines.

// fixtureConns is the driver's pool size and fixture parallelism: the
// box's Postgres allows 100 connections for everyone.
const fixtureConns = 10

// parallel runs f(0) … f(n-1) on fixtureConns goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	var (
		next atomic.Int64
		once sync.Once
		err  error
		wg   sync.WaitGroup
	)
	for range min(fixtureConns, max(n, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if e := f(i); e != nil {
					once.Do(func() { err = e })
					return
				}
			}
		})
	}
	wg.Wait()
	return err
}

// method is an existing user's phone.
type method struct{ userID, methodID, phone string }

// methods returns n distinct phones of active users of p, creating users
// only when the pool of p has fewer: runs reuse them (a new code
// supersedes the method's older one), so a run's fixtures cost one
// statement per code instead of two.
func (s *system) methods(ctx context.Context, p *auth.Project, n int) ([]method, error) {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	if s.pool == nil {
		s.pool = map[string][]method{}
	}
	have := s.pool[p.ID]
	if len(have) < n {
		more := make([]method, n-len(have))
		err := parallel(len(more), func(i int) error {
			ph := s.phone()
			uid, mid, _, _, err := s.db.ResolveMethod(ctx, p, auth.ChannelSMS, ph, true, false)
			more[i] = method{uid, mid, ph}
			return err
		})
		if err != nil {
			return nil, err
		}
		have = append(have, more...)
		s.pool[p.ID] = have
	}
	return have[:n], nil
}

// grown reports whether the pools of users or members grew since the last
// call (the caller then re-analyzes).
func (s *system) grown() bool {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	size := len(s.members)
	for _, ms := range s.pool {
		size += len(ms)
	}
	g := size != s.analyzed
	s.analyzed = size
	return g
}

// recipients returns n phones of existing active users.
func (s *system) recipients(ctx context.Context, n int) ([]string, error) {
	ms, err := s.methods(ctx, s.project, n)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.phone
	}
	return out, err
}

// code is a live code of a method.
type code struct{ methodID, code string }

// wrong is a wrong code of the same length.
func (c code) wrong() string {
	b := []byte(c.code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}

// codes makes a code on each of n distinct phones of existing users,
// expiring at expires (relative to now; negative for codes already expired,
// then created before any live one, so they never count as the newest).
func (s *system) codes(ctx context.Context, n int, expires time.Duration) ([]code, error) {
	return s.codesOf(ctx, s.project, n, expires)
}

// codesOf is codes for project p.
func (s *system) codesOf(ctx context.Context, p *auth.Project, n int, expires time.Duration) ([]code, error) {
	ms, err := s.methods(ctx, p, n)
	if err != nil {
		return nil, err
	}
	out := make([]code, n)
	err = parallel(n, func(i int) error {
		now := time.Now().UTC()
		// What the api's send leaves with the pumping guard off (as the
		// bench runs it): a code bound to its method, not counted by the
		// guard. (Bound to the challenge, as before, every right-code
		// verify took the rolling-deploy fallback: four round trips.)
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: ms[i].userID, MethodID: ms[i].methodID,
			Channel: auth.ChannelSMS, ExpiresAt: now.Add(expires), CreatedAt: now.Add(min(0, expires-10*time.Minute)), SMSUncounted: true}
		out[i] = code{ms[i].methodID, auth.NewCode()}
		c.CodeHMAC = s.keys.MethodCodeMAC(p.ID, ms[i].methodID, out[i].code)
		return s.db.CreateChallenge(ctx, c, nil, nil)
	})
	return out, err
}

// memberPool grows the benchmark organization's members (each with an MFA
// phone) to at least n and returns the first n.
func (s *system) memberPool(ctx context.Context, n int) ([]*auth.Member, error) {
	if s.org == nil {
		name, slug := "Bench Org", "bench-org"
		o, err := s.svc.CreateOrganization(ctx, s.project, auth.OrganizationInput{Name: &name, Slug: &slug})
		if err != nil {
			return nil, fmt.Errorf("organization: %w", err)
		}
		s.org = o
	}
	s.poolMu.Lock()
	have := len(s.members)
	s.poolMu.Unlock()
	if have >= n {
		return s.members[:n], nil
	}
	more := make([]*auth.Member, n-have)
	err := parallel(len(more), func(i int) error {
		email, phone := fmt.Sprintf("m%d@bench.example.com", s.phoneSeq.Add(1)), s.phone()
		m, _, err := s.svc.CreateMember(ctx, s.project, s.org.ID, auth.MemberInput{EmailAddress: &email, MFAPhoneNumber: &phone}, auth.Caller{})
		more[i] = m
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	s.members = append(s.members, more...)
	return s.members[:n], nil
}

// memberLogin is what a B2B SMS authenticate needs: a member, an
// intermediate session token proving an email magic link, and a live code
// sent to the member's MFA phone.
type memberLogin struct {
	member *auth.Member
	ist    string
	code   string
}

// memberLogins makes an IST and a fresh code (superseding older ones) for
// each of ms.
func (s *system) memberLogins(ctx context.Context, ms []*auth.Member) ([]memberLogin, error) {
	out := make([]memberLogin, len(ms))
	err := parallel(len(ms), func(i int) error {
		m, now := ms[i], time.Now().UTC()
		tok := auth.NewToken()
		ist := &auth.IntermediateSession{ID: auth.NewID(auth.PrefixIntermediate, s.project), ProjectID: s.project.ID,
			TokenHash: s.keys.TokenHash(tok), EmailAddress: m.EmailAddress, OrganizationID: s.org.ID, MemberID: m.ID,
			Factors: []auth.Factor{{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail, MethodID: m.EmailID, Value: m.EmailAddress,
				LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}},
			ExpiresAt: now.Add(auth.ISTLifetime), CreatedAt: now}
		if err := s.db.CreateIntermediateSession(ctx, ist); err != nil {
			return err
		}
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, s.project), ProjectID: s.project.ID, MemberID: m.ID, MethodID: m.MFAPhoneID,
			Channel: auth.ChannelSMS, ExpiresAt: now.Add(auth.B2BOTPExpiration), CreatedAt: now}
		out[i] = memberLogin{member: m, ist: tok, code: auth.NewCode()}
		c.CodeHMAC = s.keys.MethodCodeMAC(s.project.ID, m.ID, out[i].code) // bound to the member, as a send binds it
		return s.db.CreateChallenge(ctx, c, nil, nil)
	})
	return out, err
}

// orgPool is an organization of the B2B primary-factor rows (magic link,
// email code) and its members, without an MFA phone, so that no answer
// sends an SMS code.
type orgPool struct {
	org     *auth.Organization
	members []*auth.Member
}

// orgMembers returns the first n members of the organization slug, created
// (with policy mfaPolicy) and grown as needed.
func (s *system) orgMembers(ctx context.Context, slug, mfaPolicy string, n int) (*auth.Organization, []*auth.Member, error) {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	op := s.orgPools[slug]
	if op == nil {
		name := "Bench " + slug
		o, err := s.svc.CreateOrganization(ctx, s.project, auth.OrganizationInput{Name: &name, Slug: &slug, MFAPolicy: &mfaPolicy})
		if err != nil {
			return nil, nil, fmt.Errorf("organization %s: %w", slug, err)
		}
		op = &orgPool{org: o}
		s.orgPools[slug] = op
	}
	if have := len(op.members); have < n {
		more := make([]*auth.Member, n-have)
		err := parallel(len(more), func(i int) error {
			email := fmt.Sprintf("l%d@bench.example.com", s.phoneSeq.Add(1))
			m, _, err := s.svc.CreateMember(ctx, s.project, op.org.ID, auth.MemberInput{EmailAddress: &email}, auth.Caller{})
			more[i] = m
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("members of %s: %w", slug, err)
		}
		op.members = append(op.members, more...)
	}
	return op.org, op.members[:n], nil
}

// memberLinks returns n live login links of 500 members of the
// organization slug (created with policy mfaPolicy at first use), as the
// login_or_signup send leaves them: a member link with its token hashed.
// mfaPolicy REQUIRED_FOR_ALL makes the authenticate answer with an IST
// (the seed's first step), else with a new member session.
func (s *system) memberLinks(ctx context.Context, slug, mfaPolicy string, n int) ([]string, error) {
	o, ms, err := s.orgMembers(ctx, slug, mfaPolicy, 500)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	err = parallel(n, func(i int) error {
		m, now := ms[i%len(ms)], time.Now().UTC()
		out[i] = auth.NewToken()
		ml := &auth.MagicLink{ID: auth.NewID(auth.PrefixMagicLink, s.project), ProjectID: s.project.ID, MemberID: m.ID,
			OrganizationID: o.ID, Email: m.EmailAddress, EmailID: m.EmailID, Kind: auth.MagicLinkLogin,
			TokenHash: s.keys.TokenHash(out[i]), ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		return s.db.CreateMagicLink(ctx, ml, nil, nil)
	})
	return out, err
}

// memberEmailCode is what a B2B email OTP authenticate needs.
type memberEmailCode struct{ org, email, code string }

// memberEmailCodes makes a fresh email code (superseding older ones) for
// each of n members of an OPTIONAL organization, as the email OTP
// login_or_signup leaves it: bound to the project and address, or with
// byChallenge to its challenge, as builds before address binding expect.
func (s *system) memberEmailCodes(ctx context.Context, n int, byChallenge bool) ([]memberEmailCode, error) {
	o, ms, err := s.orgMembers(ctx, "bench-email-otp", auth.MFAOptional, n)
	if err != nil {
		return nil, err
	}
	out := make([]memberEmailCode, n)
	err = parallel(n, func(i int) error {
		m, now := ms[i], time.Now().UTC()
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, s.project), ProjectID: s.project.ID, MemberID: m.ID, MethodID: m.EmailID,
			Channel: auth.ChannelEmail, ExpiresAt: now.Add(auth.B2BEmailOTPExpiration), CreatedAt: now}
		out[i] = memberEmailCode{org: o.ID, email: m.EmailAddress, code: auth.NewCode()}
		if byChallenge {
			c.CodeHMAC = s.keys.CodeMAC(c.ID, out[i].code)
		} else {
			c.CodeHMAC = s.keys.MethodCodeMAC(s.project.ID, auth.EmailCodeBinding(m.EmailAddress), out[i].code)
		}
		return s.db.CreateChallenge(ctx, c, nil, nil)
	})
	return out, err
}
