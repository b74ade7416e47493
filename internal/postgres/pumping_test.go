package postgres_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

var testGuard = auth.PumpingConfig{Window: time.Hour, ThrottleEvery: time.Minute, BlockFor: 24 * time.Hour}

func prefixSubject(prefix string) []auth.GuardSubject {
	return []auth.GuardSubject{{Kind: auth.GuardPrefix, Subject: prefix,
		Thresholds: auth.PumpingThresholds{ThrottleMinSends: 4, ThrottleBelow: 0.5, BlockMinSends: 6, BlockBelow: 0.2}}}
}

func (e *env) judge(t *testing.T, p *auth.Project, prefix string) auth.GuardVerdict {
	t.Helper()
	v, err := e.db.JudgeSMSSend(ctxT(t), p.ID, "US", prefixSubject(prefix), testGuard)
	if err != nil || len(v) != 1 {
		t.Fatalf("JudgeSMSSend: %v %v", v, err)
	}
	return v[0]
}

var smsSeq atomic.Int64

// smsSend judges a send to a new number of the prefix (+1 202 55x xxxx)
// and, when it passes, issues the code as the service would.
func (e *env) smsSend(t *testing.T, p *auth.Project, prefix string) (auth.GuardVerdict, *auth.User, *auth.Challenge) {
	t.Helper()
	v := e.judge(t, p, prefix)
	if v.Refused {
		return v, nil, nil
	}
	u := e.user(t, p, "", fmt.Sprintf("%s%0*d", prefix, 12-len(prefix), 1000+smsSeq.Add(1)))
	c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Minute)
	return v, u, c
}

func TestJudgeSMSSend_ThrottlesThenBlocksACollapsedPrefix(t *testing.T) {
	e := newEnv(t)
	p := e.project(t)
	type step struct {
		advance time.Duration
		state   auth.GuardState
		refused bool
		wait    time.Duration
	}
	ok, throttled, blocked := auth.GuardOK, auth.GuardThrottled, auth.GuardBlocked
	steps := []step{
		{0, ok, false, 0}, {0, ok, false, 0}, {0, ok, false, 0}, {0, ok, false, 0}, // 4 sends, none verified
		{0, throttled, false, 0},                         // 4 judged, none verified: throttled; one send a minute passes
		{time.Second, throttled, true, 59 * time.Second}, // the next one waits
		{59 * time.Second, throttled, false, 0},          // 5 judged (< 6): still throttled, and a minute has passed
		{time.Minute, blocked, true, 24 * time.Hour},     // 6 judged, throttled before: blocked
		{time.Hour, blocked, true, 23 * time.Hour},       // still blocked after the window
		{23 * time.Hour, ok, false, 0},                   // the block expired; the old evidence no longer counts
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		v, _, _ := e.smsSend(t, p, "+120255")
		if v.After != s.state || v.Refused != s.refused || (s.refused && (v.RetryAfter < s.wait-2*time.Minute || v.RetryAfter > s.wait)) {
			t.Fatalf("step %d: %+v; want state %s refused %v retry ≈ %v", i+1, v, s.state, s.refused, s.wait)
		}
	}
}

func TestJudgeSMSSend_CountsVerifiedCodesOfUsersAndMembers(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	const prefix = "+120255"
	for i := range 4 {
		_, _, c := e.smsSend(t, p, prefix)
		if i < 2 {
			wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
		}
	}
	// A send judged but never issued (say, to an unknown recipient) is not counted.
	e.judge(t, p, prefix)
	o := e.org(t, p, "pump-org", "")
	m := e.member(t, p, o, "pump@acme.test", "+12025550199")
	c, _ := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute) // a 5th code
	if _, err := e.db.ConsumeMemberChallenge(ctx, p.ID, c.ID, "", auth.MemberMFAUpdate{VerifyPhone: true}); err != nil {
		t.Fatal(err)
	}
	// An email code of the member does not count.
	ce, _ := e.memberChallenge(t, p, m, m.EmailID, auth.ChannelEmail, time.Minute)
	if _, err := e.db.ConsumeMemberChallenge(ctx, p.ID, ce.ID, "", auth.MemberMFAUpdate{VerifyEmail: true}); err != nil {
		t.Fatal(err)
	}
	// 3 of 5 verified: not collapsed.
	if v := e.judge(t, p, prefix); v.Sent != 5 || v.Verified != 3 || v.After != auth.GuardOK {
		t.Fatalf("verdict %+v, want 5 sent, 3 verified, ok", v)
	}
	other := e.project(t)
	if v := e.judge(t, other, prefix); v.Sent != 0 || v.Verified != 0 {
		t.Fatalf("another project sees %+v", v)
	}
	gs, err := e.db.ListSMSGuards(ctx, p.ID, time.Hour, auth.GuardFilter{All: true, Limit: 10})
	if err != nil || len(gs) != 1 || gs[0].Sent != 5 || gs[0].Verified != 3 || gs[0].Region != "US" {
		t.Fatalf("ListSMSGuards: %v %v", gs, err)
	}
}

func TestPrune_DropsPassedLimitStatesAndOldTraffic(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	if d, _, err := e.db.HitLimits(ctx, []auth.LimitKey{{Key: "prune", Emission: time.Minute}}); err != nil || d != -1 {
		t.Fatal(d, err)
	}
	e.judge(t, p, "+120255")
	e.clock.Advance(25 * time.Hour)
	if _, err := e.db.Prune(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM rate_limit_tats) + (SELECT count(*) FROM sms_traffic) + (SELECT count(*) FROM sms_guards)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows left, err %v", n, err)
	}
}

// A code whose send the guard did not judge (the guard off: SMSUncounted)
// is neither counted as sent nor as verified, so its creation and use cost
// no trigger work; the codes the guard judged still count.
func TestJudgeSMSSend_SkipsCodesSentWithTheGuardOff(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	const prefix = "+120256"
	e.judge(t, p, prefix) // the guard row exists: matching codes would count
	for i, uncounted := range []bool{true, true, false} {
		u := e.user(t, p, "", fmt.Sprintf("%s%06d", prefix, 100+i))
		c := &auth.Challenge{ID: id(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: u.ID, MethodID: u.Phones[0].ID,
			Channel: auth.ChannelSMS, CodeHMAC: hash("code"), ExpiresAt: e.clock.Now().Add(time.Minute), SMSUncounted: uncounted}
		if err := e.db.CreateChallenge(ctx, c, nil, nil); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
	}
	var n int
	if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM challenges WHERE project_id = $1 AND NOT sms_counted`, p.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("uncounted codes stored: %d %v, want 2", n, err)
	}
	if v := e.judge(t, p, prefix); v.Sent != 1 || v.Verified != 1 {
		t.Fatalf("verdict %+v, want only the counted code: 1 sent, 1 verified", v)
	}
}
