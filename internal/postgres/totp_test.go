package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// totp stores an unverified registration of a user or member with codes
// "rc0".."rcN" (hash("rcI")).
func (e *env) totp(t testing.TB, p *auth.Project, userID string, m *auth.Member, codes int) *auth.TOTPRegistration {
	t.Helper()
	reg := &auth.TOTPRegistration{ID: id(auth.PrefixTOTP, p), ProjectID: p.ID, UserID: userID,
		SecretEnc: []byte("sealed"), ExpiresAt: e.clock.Now().Add(time.Hour)}
	if m != nil {
		reg.MemberID, reg.OrganizationID = m.ID, m.OrganizationID
	}
	var rows []auth.RecoveryCode
	for i := range codes {
		rows = append(rows, auth.RecoveryCode{ID: id(auth.PrefixRecoveryCode, p), CodeHash: hash("rc" + string(rune('0'+i))), CodeEnc: []byte("enc")})
	}
	if err := e.db.CreateTOTP(ctxT(t), reg, rows); err != nil {
		t.Fatalf("CreateTOTP: %v", err)
	}
	return reg
}

func attempt(step int64, ist string, upd *auth.MemberMFAUpdate) auth.TOTPAttempt {
	return auth.TOTPAttempt{Step: step, MaxAttempts: 3, Lockout: 15 * time.Minute, ISTID: ist, Member: upd}
}

func TestAttemptTOTP(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "totp@example.com", "")
	reg := e.totp(t, p, u.ID, nil, 0)
	now := e.clock.Now()
	try := func(step int64) (*auth.TOTPAttemptResult, error) {
		at := attempt(step, "", nil)
		at.TOTPID = reg.ID
		return e.db.AttemptTOTP(ctx, p.ID, at, now)
	}
	steps := []struct {
		name string
		step int64
		want auth.TOTPOutcome
		err  auth.Code
	}{
		{"a matched step is accepted", 100, auth.TOTPAccepted, ""},
		{"the same step is a replay", 100, auth.TOTPReplay, ""},
		{"an older step is a replay", 99, auth.TOTPReplay, ""},
		{"a newer step is accepted and resets the count", 101, auth.TOTPAccepted, ""},
		{"no match is counted (1)", 0, auth.TOTPWrongCode, ""},
		{"no match is counted (2)", 0, auth.TOTPWrongCode, ""},
		{"no match is counted (3)", 0, auth.TOTPWrongCode, ""},
		{"then even a good step is locked out", 102, 0, auth.ETOTPLocked},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res, err := try(s.step)
			wantCode(t, err, s.err)
			if err == nil && res.Outcome != s.want {
				t.Fatalf("outcome %v, want %v", res.Outcome, s.want)
			}
		})
	}
	got, err := e.db.FindUserTOTP(ctx, p.ID, u.ID)
	if err != nil || !got.Verified || got.LastStep != 101 || got.Attempts != 3 {
		t.Fatalf("stored %+v (%v)", got, err)
	}
	// Other projects see nothing.
	other := e.project(t)
	at := attempt(200, "", nil)
	at.TOTPID = reg.ID
	_, err = e.db.AttemptTOTP(ctx, other.ID, at, now.Add(time.Hour))
	wantCode(t, err, auth.ETOTPNotFound)
	_, err = e.db.FindUserTOTP(ctx, other.ID, u.ID)
	wantCode(t, err, auth.ETOTPNotFound)
	// The lockout ends 15 minutes after the last counted attempt.
	at.TOTPID = reg.ID
	res, err := e.db.AttemptTOTP(ctx, p.ID, at, now.Add(16*time.Minute))
	if err != nil || res.Outcome != auth.TOTPAccepted {
		t.Fatalf("after the lockout: %+v %v", res, err)
	}
}

// TestAttemptTOTPAcceptsAStepOnceAcrossReplicas races the same code from
// many connections (as many api replicas would): exactly one wins.
func TestAttemptTOTPAcceptsAStepOnceAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	p := e.project(t)
	u := e.user(t, p, "race@example.com", "")
	reg := e.totp(t, p, u.ID, nil, 0)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := attempt(500, "", nil)
			at.MaxAttempts = 100
			at.TOTPID = reg.ID
			res, err := e.db.AttemptTOTP(ctxT(t), p.ID, at, e.clock.Now())
			if err == nil && res.Outcome == auth.TOTPAccepted {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Fatalf("%d attempts accepted, want 1", accepted)
	}
}

func TestAttemptTOTPConsumesISTOnlyOnAcceptance(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "totp-org", "")
	m := e.member(t, p, o, "ada@acme.test", "")
	n := e.member(t, p, o, "bob@acme.test", "")
	reg := e.totp(t, p, "", m, 0)
	ist := e.ist(t, p, m, "", auth.NewToken(), time.Minute)
	enroll := true
	upd := &auth.MemberMFAUpdate{SetEnrolled: &enroll, DefaultMFAMethod: auth.MFAMethodTOTP}
	try := func(step int64, istID string) (*auth.TOTPAttemptResult, error) {
		at := attempt(step, istID, upd)
		at.TOTPID = reg.ID
		return e.db.AttemptTOTP(ctx, p.ID, at, e.clock.Now())
	}
	// Another member's IST: nothing happens.
	_, err := try(10, e.ist(t, p, n, "", auth.NewToken(), time.Minute).ID)
	wantCode(t, err, auth.EISTNotFound)
	// A wrong code leaves the IST live.
	res, err := try(0, ist.ID)
	if err != nil || res.Outcome != auth.TOTPWrongCode || res.Member != nil {
		t.Fatalf("wrong code: %+v %v", res, err)
	}
	res, err = try(10, ist.ID)
	if err != nil || res.Outcome != auth.TOTPAccepted || res.Member == nil {
		t.Fatalf("good code: %+v %v", res, err)
	}
	if !res.Member.MFAEnrolled || res.Member.DefaultMFAMethod != auth.MFAMethodTOTP || res.Member.TOTPRegistrationID != reg.ID {
		t.Fatalf("member %+v", res.Member)
	}
	wantCode(t, e.db.ConsumeIntermediateSession(ctx, p.ID, ist.ID), auth.EISTNotFound)
	got, err := e.db.FindMember(ctx, p.ID, o.ID, m.ID)
	if err != nil || got.TOTPRegistrationID != reg.ID {
		t.Fatalf("member totp_registration_id %q (%v)", got.TOTPRegistrationID, err)
	}
	// Verified: a new registration is refused until this one is deleted.
	err = e.db.CreateTOTP(ctx, &auth.TOTPRegistration{ID: id(auth.PrefixTOTP, p), ProjectID: p.ID, MemberID: m.ID,
		OrganizationID: o.ID, SecretEnc: []byte("x"), ExpiresAt: e.clock.Now().Add(time.Hour)}, nil)
	wantCode(t, err, auth.ETOTPExists)
	had, err := e.db.DeleteMemberTOTP(ctx, p.ID, m.ID)
	if err != nil || !had {
		t.Fatalf("DeleteMemberTOTP: %v %v", had, err)
	}
	got, _ = e.db.FindMember(ctx, p.ID, o.ID, m.ID)
	if got.TOTPRegistrationID != "" {
		t.Fatalf("after delete: %q", got.TOTPRegistrationID)
	}
}

func TestConsumeRecoveryCode(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "rc@example.com", "")
	reg := e.totp(t, p, u.ID, nil, 3)
	consume := func(code string) (int, error) {
		_, left, _, err := e.db.ConsumeRecoveryCode(ctx, p.ID, reg.ID, [][]byte{hash(code)}, "", nil, e.clock.Now())
		return left, err
	}
	tests := []struct {
		name string
		code string
		left int
		want auth.Code
	}{
		{"an unused code is consumed", "rc1", 2, ""},
		{"the same code is refused", "rc1", 0, auth.ERecoveryCodeWrong},
		{"an unknown code is refused", "nope", 0, auth.ERecoveryCodeWrong},
		{"another code is consumed", "rc0", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left, err := consume(tt.code)
			wantCode(t, err, tt.want)
			if err == nil && left != tt.left {
				t.Fatalf("%d left, want %d", left, tt.left)
			}
		})
	}
	// Concurrent uses of the last code: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := consume("rc2"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent consumptions won, want 1", wins)
	}
	// Replacing the codes kills the old ones.
	if err := e.db.ReplaceRecoveryCodes(ctx, p.ID, reg.ID, []auth.RecoveryCode{{ID: id(auth.PrefixRecoveryCode, p), CodeHash: hash("fresh"), CodeEnc: []byte("e")}}); err != nil {
		t.Fatal(err)
	}
	list, err := e.db.ListRecoveryCodes(ctx, p.ID, reg.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("codes after replace: %d (%v)", len(list), err)
	}
	// Another project cannot consume or list them.
	other := e.project(t)
	_, _, _, err = e.db.ConsumeRecoveryCode(ctx, other.ID, reg.ID, [][]byte{hash("fresh")}, "", nil, e.clock.Now())
	wantCode(t, err, auth.ERecoveryCodeWrong)
	if l, _ := e.db.ListRecoveryCodes(ctx, other.ID, reg.ID); len(l) != 0 {
		t.Fatal("another project lists the codes")
	}
	wantCode(t, e.db.ReplaceRecoveryCodes(ctx, other.ID, reg.ID, nil), auth.ETOTPNotFound)
	_, err = e.db.DeleteUserTOTP(ctx, other.ID, reg.ID)
	wantCode(t, err, auth.ETOTPNotFound)
	if _, err := consume("fresh"); err != nil {
		t.Fatalf("fresh code: %v", err)
	}
}
