package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// TestB2BStore runs the B2B store tests in parallel on one database, each
// with its own projects, DB handle and clock (see TestStore).
func TestB2BStore(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Organizations", testOrganizations},
		{"OrganizationDuplicates", testOrganizationDuplicates},
		{"SearchOrganizations", testSearchOrganizations},
		{"SearchOrganizationsPagination", testSearchOrganizationsPagination},
		{"SearchOrganizationsMemberColumns", testSearchOrganizationsMemberColumns},
		{"OrganizationDeleteCascades", testOrganizationDeleteCascades},
		{"OrganizationSearchRow", testOrganizationSearchRow},
		{"Members", testMembers},
		{"MemberDuplicates", testMemberDuplicates},
		{"SearchMembers", testSearchMembers},
		{"MemberIsolation", testMemberIsolation},
		{"MemberSessions", testMemberSessions},
		{"IntermediateSessions", testIntermediateSessions},
		{"ConsumeMemberChallenge", testConsumeMemberChallenge},
		{"B2BMagicLinks", testB2BMagicLinks},
		{"MemberDelivery", testMemberDelivery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			db, err := postgres.Open(t.Context(), dsn, postgres.WithClock(c.Now), postgres.WithMaxConns(4))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			tt.fn(t, &env{db: db, clock: c})
		})
	}
}

// org creates an organization with the slug (and external id when not "").
func (e *env) org(t testing.TB, p *auth.Project, slug, externalID string, mod ...func(*auth.Organization)) *auth.Organization {
	t.Helper()
	o := &auth.Organization{ID: id(auth.PrefixOrganization, p), ProjectID: p.ID, Name: "Org " + slug, Slug: slug, ExternalID: externalID}
	for _, f := range mod {
		f(o)
	}
	if err := e.db.CreateOrganization(ctxT(t), o); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	return o
}

// member creates an active member of o with an MFA phone when phone is not "".
func (e *env) member(t testing.TB, p *auth.Project, o *auth.Organization, email, phone string, mod ...func(*auth.Member)) *auth.Member {
	t.Helper()
	m := &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID, EmailAddress: email,
		EmailID: id(auth.PrefixMemberEmail, p), Status: auth.MemberActive, MFAPhoneNumber: phone}
	if phone != "" {
		m.MFAPhoneID = id(auth.PrefixMemberPhone, p)
	}
	for _, f := range mod {
		f(m)
	}
	if err := e.db.CreateMember(ctxT(t), m); err != nil {
		t.Fatalf("CreateMember: %v", err)
	}
	return m
}

// memberChallenge issues a code (with its message) to a method of m.
func (e *env) memberChallenge(t testing.TB, p *auth.Project, m *auth.Member, methodID string, ch auth.Channel, ttl time.Duration) (*auth.Challenge, *auth.Message) {
	t.Helper()
	c := &auth.Challenge{ID: id(auth.PrefixChallenge, p), ProjectID: p.ID, MemberID: m.ID, MethodID: methodID,
		Channel: ch, CodeHMAC: hash("code"), ExpiresAt: e.clock.Now().Add(ttl)}
	msg := &auth.Message{ID: id(auth.PrefixMessage, p), Recipient: "to:" + methodID}
	if err := e.db.CreateChallenge(ctxT(t), c, msg, []byte("ciphertext")); err != nil {
		t.Fatalf("CreateChallenge: %v", err)
	}
	return c, msg
}

// ist creates an intermediate session of m (nil: a discovery IST of email)
// whose token is token.
func (e *env) ist(t testing.TB, p *auth.Project, m *auth.Member, email, token string, ttl time.Duration) *auth.IntermediateSession {
	t.Helper()
	ist := &auth.IntermediateSession{ID: id(auth.PrefixIntermediate, p), ProjectID: p.ID, TokenHash: hash(token),
		EmailAddress: email, ExpiresAt: e.clock.Now().Add(ttl),
		Factors: []auth.Factor{{Type: "magic_link", DeliveryMethod: "email", Value: email}}}
	if m != nil {
		ist.MemberID, ist.OrganizationID, ist.EmailAddress = m.ID, m.OrganizationID, m.EmailAddress
	}
	if err := e.db.CreateIntermediateSession(ctxT(t), ist); err != nil {
		t.Fatalf("CreateIntermediateSession: %v", err)
	}
	return ist
}

// memberLink creates a B2B magic link (with its message) for m, or a
// discovery link of email when m is nil.
func (e *env) memberLink(t testing.TB, p *auth.Project, m *auth.Member, email, token, challenge string, kind auth.MagicLinkKind, ttl time.Duration) (*auth.MagicLink, *auth.Message) {
	t.Helper()
	ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, Kind: kind, Email: email,
		TokenHash: hash(token), CodeChallenge: challenge, ExpiresAt: e.clock.Now().Add(ttl)}
	if m != nil {
		ml.MemberID, ml.OrganizationID, ml.EmailID, ml.Email = m.ID, m.OrganizationID, m.EmailID, m.EmailAddress
	}
	msg := &auth.Message{ID: id(auth.PrefixMessage, p), Recipient: ml.Email}
	if err := e.db.CreateMagicLink(ctxT(t), ml, msg, []byte("ciphertext")); err != nil {
		t.Fatalf("CreateMagicLink: %v", err)
	}
	return ml, msg
}

func testIntermediateSessions(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "ist-org", "")
	m := e.member(t, p, o, "ist@acme.test", "")

	t.Run("FoundWhileLiveWithFactors", func(t *testing.T) {
		ist := e.ist(t, p, m, "", "ist-live", time.Minute)
		got, err := e.db.FindIntermediateSession(ctx, p.ID, [][]byte{hash("other"), hash("ist-live")})
		wantCode(t, err, "")
		if got.ID != ist.ID || got.MemberID != m.ID || got.OrganizationID != o.ID || got.EmailAddress != m.EmailAddress ||
			len(got.Factors) != 1 || got.Factors[0].Type != "magic_link" || got.ConsumedAt != nil {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("DiscoveryISTHasNoMember", func(t *testing.T) {
		e.ist(t, p, nil, "who@acme.test", "ist-disc", time.Minute)
		got, err := e.db.FindIntermediateSession(ctx, p.ID, [][]byte{hash("ist-disc")})
		wantCode(t, err, "")
		if got.MemberID != "" || got.OrganizationID != "" || got.EmailAddress != "who@acme.test" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("ConsumedOnceThenNotFound", func(t *testing.T) {
		ist := e.ist(t, p, m, "", "ist-once", time.Minute)
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), "")
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), auth.EISTNotFound)
		_, err := e.db.FindIntermediateSession(ctx, p.ID, [][]byte{hash("ist-once")})
		wantCode(t, err, auth.EISTNotFound)
	})
	t.Run("ExpiredNotFound", func(t *testing.T) {
		ist := e.ist(t, p, m, "", "ist-expired", -time.Second)
		_, err := e.db.FindIntermediateSession(ctx, p.ID, [][]byte{hash("ist-expired")})
		wantCode(t, err, auth.EISTNotFound)
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), auth.EISTNotFound)
	})
	t.Run("OtherProjectNotFound", func(t *testing.T) {
		ist := e.ist(t, p, m, "", "ist-proj", time.Minute)
		p2 := e.project(t)
		_, err := e.db.FindIntermediateSession(ctx, p2.ID, [][]byte{hash("ist-proj")})
		wantCode(t, err, auth.EISTNotFound)
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p2.ID, ist.ID), auth.EISTNotFound)
	})
	t.Run("UnknownMemberRejected", func(t *testing.T) {
		ist := &auth.IntermediateSession{ID: id(auth.PrefixIntermediate, p), ProjectID: p.ID, TokenHash: hash("ist-ghost"),
			MemberID: "member-test-ghost", OrganizationID: o.ID, ExpiresAt: e.clock.Now().Add(time.Minute)}
		wantCode(t, e.db.CreateIntermediateSession(ctx, ist), auth.EMemberNotFound)
	})
}

func testConsumeMemberChallenge(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "cmc-org", "")
	n := 0
	pending := func(t *testing.T) *auth.Member {
		n++
		return e.member(t, p, o, "cmc"+string(rune('a'+n))+"@acme.test", "+1202555010"+string(rune('0'+n%10)),
			func(m *auth.Member) { m.Status = auth.MemberPending })
	}
	enroll := true
	upd := auth.MemberMFAUpdate{Activate: true, VerifyPhone: true, SetEnrolled: &enroll, DefaultMFAMethod: auth.MFAMethodSMS}

	t.Run("ConsumesCodeAndISTAndUpdatesMember", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		ist := e.ist(t, p, m, "", "cmc-ok", time.Minute)
		got, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, ist.ID, upd)
		wantCode(t, err, "")
		if got.ID != m.ID || got.Status != auth.MemberActive || !got.MFAPhoneVerified || !got.MFAEnrolled ||
			got.DefaultMFAMethod != auth.MFAMethodSMS || got.EmailVerified || !got.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("member %+v", got)
		}
		stored, _ := e.db.FindMember(ctx, p.ID, o.ID, m.ID)
		if stored.Status != auth.MemberActive || !stored.MFAPhoneVerified || !stored.MFAEnrolled {
			t.Fatalf("stored member %+v", stored)
		}
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), auth.EISTNotFound)
		_, err = e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, auth.EOTPExpired)
	})
	t.Run("WithoutISTConsumesCode", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		got, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", auth.MemberMFAUpdate{VerifyPhone: true})
		wantCode(t, err, "")
		if !got.MFAPhoneVerified || got.Status != auth.MemberPending || got.MFAEnrolled {
			t.Fatalf("member %+v", got)
		}
		_, err = e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, auth.EOTPExpired)
	})

	// A dead IST consumes nothing: the code stays usable with a live one.
	deadIST := []struct {
		name string
		ist  func(t *testing.T, m *auth.Member) string
	}{
		{"ExpiredISTConsumesNothing", func(t *testing.T, m *auth.Member) string {
			return e.ist(t, p, m, "", auth.NewToken(), -time.Second).ID
		}},
		{"UsedISTConsumesNothing", func(t *testing.T, m *auth.Member) string {
			ist := e.ist(t, p, m, "", auth.NewToken(), time.Minute)
			wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), "")
			return ist.ID
		}},
		{"UnknownISTConsumesNothing", func(t *testing.T, m *auth.Member) string { return "intermediate-session-test-nope" }},
		{"OtherMembersISTConsumesNothing", func(t *testing.T, m *auth.Member) string {
			return e.ist(t, p, pending(t), "", auth.NewToken(), time.Minute).ID
		}},
		{"OtherProjectsISTConsumesNothing", func(t *testing.T, m *auth.Member) string {
			p2 := e.project(t)
			m2 := e.member(t, p2, e.org(t, p2, "other", ""), m.EmailAddress, "")
			return e.ist(t, p2, m2, "", auth.NewToken(), time.Minute).ID
		}},
	}
	for _, tt := range deadIST {
		t.Run(tt.name, func(t *testing.T) {
			m := pending(t)
			c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
			_, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, tt.ist(t, m), upd)
			wantCode(t, err, auth.EISTNotFound)
			stored, _ := e.db.FindMember(ctx, p.ID, o.ID, m.ID)
			if stored.Status != auth.MemberPending || stored.MFAPhoneVerified || stored.MFAEnrolled {
				t.Fatalf("member changed: %+v", stored)
			}
			live := e.ist(t, p, m, "", auth.NewToken(), time.Minute)
			_, err = e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, live.ID, upd)
			wantCode(t, err, "")
		})
	}
	t.Run("ConsumedCodeLeavesISTLive", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		_, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, "")
		ist := e.ist(t, p, m, "", "cmc-left", time.Minute)
		_, err = e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, ist.ID, upd)
		wantCode(t, err, auth.EOTPExpired)
		wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), "")
	})
	t.Run("StalePhoneIDNotVerified", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		m.MFAPhoneNumber, m.MFAPhoneID = "+12025550199", id(auth.PrefixMemberPhone, p)
		wantCode(t, e.db.UpdateMember(ctx, m), "")
		got, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, "")
		if got.MFAPhoneVerified {
			t.Fatalf("a code sent to the old phone verified the new one: %+v", got)
		}
	})
	t.Run("EmailCodeVerifiesEmail", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.EmailID, auth.ChannelEmail, time.Minute)
		got, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", auth.MemberMFAUpdate{Activate: true, VerifyEmail: true})
		wantCode(t, err, "")
		if !got.EmailVerified || got.Status != auth.MemberActive || got.MFAPhoneVerified {
			t.Fatalf("member %+v", got)
		}
	})
	t.Run("ConsumerCodeNotConsumedHere", func(t *testing.T) {
		u := e.user(t, p, "", "+12025550177")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Minute)
		_, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, auth.EOTPExpired)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
	})
	t.Run("MemberCodeNotConsumedByConsumerPath", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), auth.EOTPExpired)
		got, err := e.db.AttemptChallenge(ctx, p.ID, m.MFAPhoneID, 5)
		wantCode(t, err, "")
		if got.ID != c.ID || got.MemberID != m.ID || got.UserID != "" || got.Attempts != 1 {
			t.Fatalf("attempt %+v", got)
		}
	})
	t.Run("ConcurrentConsumesSucceedOnce", func(t *testing.T) {
		m := pending(t)
		sms, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		email, _ := e.memberChallenge(t, p, m, m.EmailID, auth.ChannelEmail, time.Minute)
		ist := e.ist(t, p, m, "", auth.NewToken(), time.Minute)
		// Eight racers on the SMS code and eight on the email code share
		// one IST: exactly one of them may win.
		const n = 16
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			c := sms
			if i%2 == 1 {
				c = email
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, ist.ID, upd)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch auth.ErrorCode(err) {
			case "":
				won++
			case auth.EOTPExpired, auth.EISTNotFound:
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d consumes won, want 1", won)
		}
	})
	t.Run("OtherProjectCannotConsume", func(t *testing.T) {
		m := pending(t)
		c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		p2 := e.project(t)
		_, err := e.db.ConsumeMemberChallenge(ctx, p2.ID, c.ID, "", upd)
		wantCode(t, err, auth.EOTPExpired)
		_, err = e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", upd)
		wantCode(t, err, "")
	})
}

func testB2BMagicLinks(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "ml-org", "")
	upd := auth.MemberMFAUpdate{Activate: true, VerifyEmail: true}

	t.Run("MemberLinkActivatesAndVerifies", func(t *testing.T) {
		m := e.member(t, p, o, "ml1@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberInvited })
		ml, _ := e.memberLink(t, p, m, "", "b2b-tok1", "", auth.MagicLinkInvite, time.Hour)
		got, mem, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("x"), hash("b2b-tok1")}, "", false, upd)
		wantCode(t, err, "")
		if got.ID != ml.ID || got.MemberID != m.ID || got.OrganizationID != o.ID || got.Email != m.EmailAddress ||
			got.EmailID != m.EmailID || got.UserID != "" || got.Kind != auth.MagicLinkInvite || got.ConsumedAt == nil {
			t.Fatalf("link %+v", got)
		}
		if mem == nil || mem.ID != m.ID || mem.Status != auth.MemberActive || !mem.EmailVerified {
			t.Fatalf("member %+v", mem)
		}
		_, _, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("b2b-tok1")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkUsed)
	})
	t.Run("DiscoveryLinkHasNoMember", func(t *testing.T) {
		ml, _ := e.memberLink(t, p, nil, "who@acme.test", "disc-tok", "", auth.MagicLinkDiscovery, time.Hour)
		got, mem, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("disc-tok")}, "", true, upd)
		wantCode(t, err, "")
		if mem != nil || got.ID != ml.ID || got.Email != "who@acme.test" || got.MemberID != "" || got.OrganizationID != "" {
			t.Fatalf("link %+v member %+v", got, mem)
		}
	})
	t.Run("B2BLinkNeverConsumedByConsumerPath", func(t *testing.T) {
		m := e.member(t, p, o, "ml2@acme.test", "")
		e.memberLink(t, p, m, "", "b2b-tok2", "", auth.MagicLinkLogin, time.Hour)
		e.memberLink(t, p, nil, "disc2@acme.test", "disc-tok2", "", auth.MagicLinkDiscovery, time.Hour)
		for _, tok := range []string{"b2b-tok2", "disc-tok2"} {
			_, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash(tok)}, "")
			wantCode(t, err, auth.EMagicLinkNotFound)
		}
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("b2b-tok2")}, "", false, upd)
		wantCode(t, err, "")
	})
	t.Run("LinkOfOtherKindLeftUnused", func(t *testing.T) {
		m := e.member(t, p, o, "kind@acme.test", "")
		e.memberLink(t, p, m, "", "kind-member", "", auth.MagicLinkLogin, time.Hour)
		e.memberLink(t, p, nil, "kind@acme.test", "kind-disc", "", auth.MagicLinkDiscovery, time.Hour)
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("kind-member")}, "", true, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		_, _, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("kind-disc")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		// Both still work on their own path.
		_, mem, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("kind-member")}, "", false, upd)
		wantCode(t, err, "")
		if mem == nil || mem.ID != m.ID {
			t.Fatalf("member %+v", mem)
		}
		_, mem, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("kind-disc")}, "", true, upd)
		wantCode(t, err, "")
		if mem != nil {
			t.Fatalf("discovery link returned member %+v", mem)
		}
	})
	t.Run("LinkToOldAddressDiesWithEmailChange", func(t *testing.T) {
		m := e.member(t, p, o, "old@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberPending })
		e.memberLink(t, p, m, "", "old-addr", "", auth.MagicLinkLogin, time.Hour)
		m.EmailAddress = "new@acme.test"
		wantCode(t, e.db.UpdateMember(ctx, m), "")
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("old-addr")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		stored, _ := e.db.FindMember(ctx, p.ID, o.ID, m.ID)
		if stored.Status != auth.MemberPending || stored.EmailVerified {
			t.Fatalf("member changed by a stale link: %+v", stored)
		}
	})
	t.Run("ConsumerLinkNeverConsumedByB2BPath", func(t *testing.T) {
		u := e.user(t, p, "consumer@acme.test", "")
		ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, UserID: u.ID, EmailID: u.Emails[0].ID,
			Kind: auth.MagicLinkLogin, TokenHash: hash("consumer-tok"), ExpiresAt: e.clock.Now().Add(time.Hour)}
		wantCode(t, e.db.CreateMagicLink(ctx, ml, nil, nil), "")
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("consumer-tok")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		got, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("consumer-tok")}, "")
		wantCode(t, err, "")
		if got.UserID != u.ID {
			t.Fatalf("link %+v", got)
		}
	})

	tests := []struct {
		name      string
		challenge string
		ttl       time.Duration
		verifier  string
		wantCode  auth.Code
	}{
		{"PKCEMatchConsumes", "chal", time.Hour, "chal", ""},
		{"PKCEMismatchRejected", "chal", time.Hour, "other", auth.EPKCEMismatch},
		{"PKCEMissingVerifierRejected", "chal", time.Hour, "", auth.EPKCEMismatch},
		{"UnexpectedVerifierRejected", "", time.Hour, "chal", auth.EPKCEMismatch},
		{"ExpiredLinkUsed", "", -time.Second, "", auth.EMagicLinkUsed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.member(t, p, o, "pkce"+string(rune('a'+i))+"@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberPending })
			tok := auth.NewToken()
			e.memberLink(t, p, m, "", tok, tt.challenge, auth.MagicLinkLogin, tt.ttl)
			_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash(tok)}, tt.verifier, false, upd)
			wantCode(t, err, tt.wantCode)
			stored, _ := e.db.FindMember(ctx, p.ID, o.ID, m.ID)
			if activated := stored.Status == auth.MemberActive; activated != (tt.wantCode == "") {
				t.Fatalf("member status %s after %q", stored.Status, tt.wantCode)
			}
		})
	}
	t.Run("UnknownTokenNotFound", func(t *testing.T) {
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("nope")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		_, _, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, nil, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
	})
	t.Run("OtherProjectNotFound", func(t *testing.T) {
		m := e.member(t, p, o, "mlp@acme.test", "")
		e.memberLink(t, p, m, "", "b2b-proj", "", auth.MagicLinkLogin, time.Hour)
		_, _, err := e.db.ConsumeB2BMagicLink(ctx, e.project(t).ID, [][]byte{hash("b2b-proj")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
	})
	t.Run("RevokeMemberInvitesDeletesUnusedInvites", func(t *testing.T) {
		m := e.member(t, p, o, "inv@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberInvited })
		other := e.member(t, p, o, "inv2@acme.test", "")
		e.memberLink(t, p, m, "", "inv-1", "", auth.MagicLinkInvite, time.Hour)
		e.memberLink(t, p, m, "", "inv-2", "", auth.MagicLinkInvite, time.Hour)
		e.memberLink(t, p, m, "", "login-1", "", auth.MagicLinkLogin, time.Hour)
		e.memberLink(t, p, other, "", "inv-other", "", auth.MagicLinkInvite, time.Hour)
		n, err := e.db.RevokeMemberInvites(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if n != 2 {
			t.Fatalf("revoked %d, want 2", n)
		}
		_, _, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash("inv-1")}, "", false, upd)
		wantCode(t, err, auth.EMagicLinkNotFound)
		for _, tok := range []string{"login-1", "inv-other"} {
			_, _, err = e.db.ConsumeB2BMagicLink(ctx, p.ID, [][]byte{hash(tok)}, "", false, upd)
			wantCode(t, err, "")
		}
	})
	t.Run("UnknownMemberRejected", func(t *testing.T) {
		ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, MemberID: "member-test-ghost", OrganizationID: o.ID,
			Email: "ghost@acme.test", Kind: auth.MagicLinkLogin, TokenHash: hash("ghost"), ExpiresAt: e.clock.Now().Add(time.Hour)}
		wantCode(t, e.db.CreateMagicLink(ctx, ml, nil, nil), auth.EMemberNotFound)
	})
}

func testMemberDelivery(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "del-org", "")
	const lease = time.Minute
	n := 0
	newMember := func(t *testing.T) *auth.Member {
		n++
		return e.member(t, p, o, "del"+string(rune('a'+n))+"@acme.test", "+1202555020"+string(rune('0'+n%10)))
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T) string // the message id
		want       auth.DeliveryDecision
		wantReason string
	}{
		{"MemberCodeDeliverable", func(t *testing.T) string {
			m := newMember(t)
			_, msg := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
			return msg.ID
		}, auth.DeliverySend, ""},
		{"SupersededMemberCodeDead", func(t *testing.T) string {
			m := newMember(t)
			_, msg := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
			e.clock.Advance(time.Millisecond)
			e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
			return msg.ID
		}, auth.DeliveryDead, "superseded"},
		{"ConsumedMemberCodeDead", func(t *testing.T) string {
			m := newMember(t)
			c, msg := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
			_, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", auth.MemberMFAUpdate{})
			wantCode(t, err, "")
			return msg.ID
		}, auth.DeliveryDead, "consumed"},
		{"MemberLinkDeliverable", func(t *testing.T) string {
			_, msg := e.memberLink(t, p, newMember(t), "", auth.NewToken(), "", auth.MagicLinkLogin, time.Hour)
			return msg.ID
		}, auth.DeliverySend, ""},
		{"DiscoveryLinkDeliverable", func(t *testing.T) string {
			_, msg := e.memberLink(t, p, nil, "disc@acme.test", auth.NewToken(), "", auth.MagicLinkDiscovery, time.Hour)
			return msg.ID
		}, auth.DeliverySend, ""},
		{"RevokedInviteDead", func(t *testing.T) string {
			m := newMember(t)
			_, msg := e.memberLink(t, p, m, "", auth.NewToken(), "", auth.MagicLinkInvite, time.Hour)
			if _, err := e.db.RevokeMemberInvites(ctx, p.ID, m.ID); err != nil {
				t.Fatal(err)
			}
			return msg.ID
		}, auth.DeliveryDead, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgID := tt.setup(t)
			got, err := e.db.BeginDelivery(ctx, msgID, lease)
			wantCode(t, err, "")
			if got != tt.want {
				t.Fatalf("decision = %v, want %v", got, tt.want)
			}
			msg, err := e.db.FindMessage(ctx, p.ID, msgID)
			wantCode(t, err, "")
			if msg.LastError != tt.wantReason {
				t.Fatalf("last_error = %q, want %q", msg.LastError, tt.wantReason)
			}
		})
	}
	t.Run("DeletedMembersMessagesGone", func(t *testing.T) {
		o2 := e.org(t, p, "del-org-2", "")
		m := e.member(t, p, o2, "gone@acme.test", "+12025550300")
		_, msg := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
		wantCode(t, e.db.DeleteOrganization(ctx, p.ID, o2.ID), "")
		got, err := e.db.BeginDelivery(ctx, msg.ID, lease)
		wantCode(t, err, "")
		if got != auth.DeliveryUnknown {
			t.Fatalf("decision = %v, want unknown", got)
		}
	})
}

// TestPruneIntermediateSessions runs on a database of its own: Prune
// deletes across projects.
func TestPruneIntermediateSessions(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	m := e.member(t, p, e.org(t, p, "prune", ""), "prune@acme.test", "")
	tests := []struct {
		name     string
		setup    func() *auth.IntermediateSession
		wantKept bool
	}{
		{"LiveKept", func() *auth.IntermediateSession { return e.ist(t, p, m, "", auth.NewToken(), time.Minute) }, true},
		{"RecentlyExpiredKept", func() *auth.IntermediateSession {
			return e.ist(t, p, m, "", auth.NewToken(), -time.Minute)
		}, true},
		{"LongExpiredPruned", func() *auth.IntermediateSession {
			return e.ist(t, p, m, "", auth.NewToken(), -postgres.PruneGrace-time.Minute)
		}, false},
		{"LongConsumedPruned", func() *auth.IntermediateSession {
			ist := e.ist(t, p, m, "", auth.NewToken(), 24*time.Hour)
			e.clock.Advance(-2 * postgres.PruneGrace)
			defer e.clock.Advance(2 * postgres.PruneGrace)
			wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), "")
			return ist
		}, false},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = tt.setup().ID
	}
	if _, err := e.db.Prune(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kept bool
			if err := e.db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM intermediate_sessions WHERE id = $1)`, ids[i]).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			if kept != tt.wantKept {
				t.Fatalf("kept = %v, want %v", kept, tt.wantKept)
			}
		})
	}
}
