package postgres_test

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestProjectIsolation checks that project B can neither see nor change
// any of project A's rows through any id-taking method.
func testProjectIsolation(t *testing.T, e *env) {
	ctx := ctxT(t)
	a, b := e.project(t), e.project(t)

	u := e.user(t, a, "iso@example.com", "+14155551200")
	c, m := e.challenge(t, a, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
	wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, auth.MessageFailed, "", "x", auth.ProviderAttempt{}, []byte("ciphertext")), "")
	now := e.clock.Now()
	s := &auth.Session{ID: id(auth.PrefixSession, a), ProjectID: a.ID, UserID: u.ID, TokenHash: hash("iso-session"),
		StartedAt: now, ExpiresAt: now.Add(time.Hour)}
	wantCode(t, e.db.CreateSession(ctx, s, []byte("x")), "")
	ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, a), ProjectID: a.ID, UserID: u.ID, EmailID: u.Emails[0].ID,
		Kind: auth.MagicLinkInvite, TokenHash: hash("iso-link"), ExpiresAt: now.Add(time.Hour)}
	wantCode(t, e.db.CreateMagicLink(ctx, ml, nil, nil), "")

	tests := []struct {
		name string
		call func() error
		want auth.Code
	}{
		{"FindUser", func() error { _, err := e.db.FindUser(ctx, b.ID, u.ID); return err }, auth.EUserNotFound},
		{"UpdateUser", func() error {
			_, err := e.db.UpdateUser(ctx, b.ID, u.ID, auth.UserUpdate{ExternalID: ptr("stolen")})
			return err
		}, auth.EUserNotFound},
		{"DeleteUser", func() error { return e.db.DeleteUser(ctx, b.ID, u.ID) }, auth.EUserNotFound},
		{"DeleteEmail", func() error { _, err := e.db.DeleteEmail(ctx, b.ID, u.Emails[0].ID); return err }, auth.EEmailNotFound},
		{"DeletePhone", func() error { _, err := e.db.DeletePhone(ctx, b.ID, u.Phones[0].ID); return err }, auth.EPhoneNotFound},
		{"FindMethod", func() error { _, _, _, err := e.db.FindMethod(ctx, b.ID, u.Phones[0].ID); return err }, auth.EInvalidMethodID},
		{"ResolveMethodWithoutCreate", func() error {
			_, _, _, _, err := e.db.ResolveMethod(ctx, b, auth.ChannelSMS, "+14155551200", false, false)
			return err
		}, auth.EPhoneNotFound},
		{"AttachMethodToOtherProjectsUser", func() error {
			_, err := e.db.AttachMethod(ctx, b, u.ID, auth.ChannelEmail, "new@example.com")
			return err
		}, auth.EUserNotFound},
		{"SearchUsers", func() error {
			page, err := e.db.SearchUsers(ctx, b.ID, auth.UserQuery{UserIDs: []string{u.ID}})
			if err == nil && (page.Total != 0 || len(page.Users) != 0) {
				t.Errorf("project B found %d users", page.Total)
			}
			return err
		}, ""},
		{"AttemptChallenge", func() error { _, err := e.db.AttemptChallenge(ctx, b.ID, c.MethodID, 5); return err }, auth.EOTPNotFound},
		{"ConsumeChallenge", func() error { return e.db.ConsumeChallenge(ctx, b.ID, c.ID) }, auth.EOTPExpired},
		{"ConsumeMagicLink", func() error {
			_, err := e.db.ConsumeMagicLink(ctx, b.ID, [][]byte{hash("iso-link")}, "")
			return err
		}, auth.EMagicLinkNotFound},
		{"RevokeInvites", func() error {
			n, err := e.db.RevokeInvites(ctx, b.ID, "iso@example.com")
			if n != 0 {
				t.Errorf("project B revoked %d invites", n)
			}
			return err
		}, ""},
		{"FindSessionByToken", func() error {
			_, _, err := e.db.FindSessionByToken(ctx, b.ID, [][]byte{hash("iso-session")})
			return err
		}, auth.ESessionNotFound},
		{"FindSession", func() error { _, _, err := e.db.FindSession(ctx, b.ID, s.ID); return err }, auth.ESessionNotFound},
		{"UpdateSession", func() error {
			s2 := *s
			s2.ProjectID = b.ID
			return e.db.UpdateSession(ctx, &s2)
		}, auth.ESessionNotFound},
		{"ListSessions", func() error {
			ss, _, err := e.db.ListSessions(ctx, b.ID, u.ID)
			if len(ss) != 0 {
				t.Errorf("project B listed %d sessions", len(ss))
			}
			return err
		}, ""},
		{"RevokeSession", func() error { return e.db.RevokeSession(ctx, b.ID, s.ID) }, auth.ESessionNotFound},
		{"FindMessage", func() error { _, err := e.db.FindMessage(ctx, b.ID, m.ID); return err }, auth.ENotFound},
		{"ListMessages", func() error {
			ms, err := e.db.ListMessages(ctx, b.ID, auth.MessageFilter{})
			if len(ms) != 0 {
				t.Errorf("project B listed %d messages", len(ms))
			}
			return err
		}, ""},
		{"RequeueMessage", func() error { return e.db.RequeueMessage(ctx, b.ID, m.ID) }, auth.ENotFound},
		{"CreateChallengeForOtherProjectsUser", func() error {
			c2 := &auth.Challenge{ID: id(auth.PrefixChallenge, b), ProjectID: b.ID, UserID: u.ID, MethodID: u.Phones[0].ID,
				Channel: auth.ChannelSMS, CodeHMAC: hash("x"), ExpiresAt: now.Add(time.Hour)}
			return e.db.CreateChallenge(ctx, c2, &auth.Message{ID: id(auth.PrefixMessage, b)}, nil)
		}, auth.EUserNotFound},
		{"CreateSessionForOtherProjectsUser", func() error {
			s2 := &auth.Session{ID: id(auth.PrefixSession, b), ProjectID: b.ID, UserID: u.ID, TokenHash: hash("b"),
				StartedAt: now, ExpiresAt: now.Add(time.Hour)}
			return e.db.CreateSession(ctx, s2, []byte("x"))
		}, auth.EUserNotFound},
		{"SigningKeys", func() error {
			keys, err := e.db.SigningKeys(ctx, b.ID)
			if len(keys) != 0 {
				t.Errorf("project B sees %d keys", len(keys))
			}
			return err
		}, ""},
	}
	wantCode(t, e.db.RotateSigningKeys(ctx, a.ID, []auth.SigningKey{{ID: "kid-a", State: auth.KeyCurrent, PrivateEnc: []byte("x")}}, time.Time{}), "")
	for _, tt := range tests {
		t.Run(tt.name+"Denied", func(t *testing.T) {
			wantCode(t, tt.call(), tt.want)
		})
	}

	// Project A's rows are untouched.
	got, err := e.db.FindUser(ctx, a.ID, u.ID)
	wantCode(t, err, "")
	if got.ExternalID != "" || len(got.Emails) != 1 || len(got.Phones) != 1 || got.Phones[0].Verified {
		t.Fatalf("user changed: %+v", got)
	}
	if _, err := e.db.AttemptChallenge(ctx, a.ID, c.MethodID, 5); err != nil {
		t.Fatalf("challenge of A: %v", err)
	}
	if _, _, err := e.db.FindSession(ctx, a.ID, s.ID); err != nil {
		t.Fatalf("session of A: %v", err)
	}
	if err := e.db.RequeueMessage(ctx, a.ID, m.ID); err != nil {
		t.Fatalf("message of A: %v", err)
	}
	if _, err := e.db.ConsumeMagicLink(ctx, a.ID, [][]byte{hash("iso-link")}, ""); err != nil {
		t.Fatalf("link of A: %v", err)
	}
}
