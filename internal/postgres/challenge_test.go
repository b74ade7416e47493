package postgres_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func testChallenges(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	t.Run("AttemptCountsAndCapsAtMax", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550400")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
		for i := 1; i <= 5; i++ {
			got, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
			wantCode(t, err, "")
			if got.ID != c.ID || got.Attempts != i || string(got.CodeHMAC) != string(c.CodeHMAC) {
				t.Fatalf("attempt %d: got %+v", i, got)
			}
		}
		_, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
		wantCode(t, err, auth.EOTPExpired)
	})
	t.Run("ConcurrentAttemptsNeverExceedMax", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550401")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 20 {
			wg.Go(func() {
				if _, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok != 5 {
			t.Fatalf("%d attempts counted, want 5", ok)
		}
	})
	t.Run("NeverIssuedNotFound", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550402")
		_, err := e.db.AttemptChallenge(ctx, p.ID, u.Phones[0].ID, 5)
		wantCode(t, err, auth.EOTPNotFound)
	})
	t.Run("ExpiredExpired", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550403")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, -time.Second)
		_, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
		wantCode(t, err, auth.EOTPExpired)
	})
	t.Run("NewerChallengeSupersedesOlder", func(t *testing.T) {
		u := e.user(t, p, "sup@example.com", "")
		old, _ := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, 10*time.Minute)
		e.clock.Advance(time.Millisecond)
		newer, _ := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, 10*time.Minute)
		got, err := e.db.AttemptChallenge(ctx, p.ID, old.MethodID, 5)
		wantCode(t, err, "")
		if got.ID != newer.ID {
			t.Fatalf("attempted %s, want the newest %s", got.ID, newer.ID)
		}
	})
	t.Run("ExpiredNewestDoesNotRevivePrevious", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550404")
		e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		e.clock.Advance(time.Millisecond)
		e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, -time.Second)
		_, err := e.db.AttemptChallenge(ctx, p.ID, u.Phones[0].ID, 5)
		wantCode(t, err, auth.EOTPExpired)
	})
	t.Run("ConsumeOnceVerifiesAndActivates", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550405")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), auth.EOTPExpired)
		got, _ := e.db.FindUser(ctx, p.ID, u.ID)
		if got.Status != auth.UserActive || !got.Phones[0].Verified {
			t.Fatalf("user %+v", got)
		}
		_, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
		wantCode(t, err, auth.EOTPExpired)
	})
	t.Run("ConsumeEmailChallengeVerifiesEmailOnly", func(t *testing.T) {
		u := e.user(t, p, "ver@example.com", "+14155550406")
		c, _ := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, 10*time.Minute)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
		got, _ := e.db.FindUser(ctx, p.ID, u.ID)
		if !got.Emails[0].Verified || got.Phones[0].Verified {
			t.Fatalf("user %+v", got)
		}
	})
	t.Run("ConcurrentConsumeSucceedsOnce", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550407")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = e.db.ConsumeChallenge(ctx, p.ID, c.ID) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, auth.EOTPExpired)
			}
		}
		if ok != 1 {
			t.Fatalf("%d consumes succeeded", ok)
		}
	})
	t.Run("CreateForMissingUserNotFound", func(t *testing.T) {
		c := &auth.Challenge{ID: id(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: "user-test-missing",
			MethodID: "x", Channel: auth.ChannelSMS, CodeHMAC: hash("c"), ExpiresAt: e.clock.Now().Add(time.Minute)}
		wantCode(t, e.db.CreateChallenge(ctx, c, &auth.Message{ID: id(auth.PrefixMessage, p)}, nil), auth.EUserNotFound)
	})
	t.Run("CreateWithoutMessageOK", func(t *testing.T) {
		u := e.user(t, p, "", "+10000000000")
		c := &auth.Challenge{ID: id(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: u.ID,
			MethodID: u.Phones[0].ID, Channel: auth.ChannelSMS, CodeHMAC: hash("c"), ExpiresAt: e.clock.Now().Add(time.Minute)}
		wantCode(t, e.db.CreateChallenge(ctx, c, nil, nil), "")
		_, err := e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
		wantCode(t, err, "")
	})
	t.Run("CreateFillsMessage", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550408")
		c, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelWhatsApp, 10*time.Minute)
		got, err := e.db.FindMessage(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if got.ChallengeID != c.ID || got.Kind != auth.KindOTP || got.Channel != auth.ChannelWhatsApp ||
			got.Status != auth.MessageQueued || !got.ExpiresAt.Equal(c.ExpiresAt) || got.Recipient != m.Recipient {
			t.Fatalf("message %+v", got)
		}
	})
	t.Run("VerifyCodeOutcomes", func(t *testing.T) {
		right, wrong := [][]byte{hash("other-key"), hash("code")}, [][]byte{hash("nope")}
		tests := []struct {
			name         string
			ttl          time.Duration
			attempts     int // wrong codes first
			macs         [][]byte
			otherUser    bool // the caller's session is another user's
			withSession  bool
			wantErr      auth.Code
			wantMatched  bool
			wantConsumed bool
		}{
			{"RightCodeConsumesAndStartsSession", 10 * time.Minute, 0, right, false, true, "", true, true},
			{"RightCodeWithoutSession", 10 * time.Minute, 0, right, false, false, "", true, true},
			{"WrongCodeCountedNothingWritten", 10 * time.Minute, 0, wrong, false, true, "", false, false},
			{"RightCodeOtherUserNotConsumed", 10 * time.Minute, 0, right, true, false, "", true, false},
			{"RightCodeOnFifthAttemptConsumes", 10 * time.Minute, 4, right, false, false, "", true, true},
			{"RightCodeAfterFiveWrongExpired", 10 * time.Minute, 5, right, false, true, auth.EOTPExpired, false, false},
			{"ExpiredExpired", -time.Second, 0, right, false, true, auth.EOTPExpired, false, false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := e.user(t, p, "", "+1415555047"+string(rune('0'+i)))
				c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelWhatsApp, tt.ttl)
				in := auth.VerifyCodeInput{ProjectID: p.ID, MethodID: c.MethodID, MaxAttempts: 5}
				for range tt.attempts {
					in.MACs = wrong
					if _, err := e.db.VerifyCode(ctx, in); err != nil {
						t.Fatal(err)
					}
				}
				in.MACs = tt.macs
				if tt.otherUser {
					in.UserID = "user-test-other"
				}
				var sess *auth.Session
				if tt.withSession {
					now := e.clock.Now()
					sess = &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, TokenHash: hash("t" + c.ID),
						StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(time.Hour), Factors: []auth.Factor{{Type: "otp", MethodID: c.MethodID}}}
					in.Session, in.TokenEnc = sess, []byte("enc")
				}
				got, err := e.db.VerifyCode(ctx, in)
				wantCode(t, err, tt.wantErr)
				stored, _, ferr := e.db.FindSession(ctx, p.ID, "")
				if sess != nil {
					stored, _, ferr = e.db.FindSession(ctx, p.ID, sess.ID)
				}
				if tt.wantErr != "" {
					if ferr == nil {
						t.Fatalf("session %+v stored by a failed verify", stored)
					}
					return
				}
				if got.Matched != tt.wantMatched || got.Consumed != tt.wantConsumed || got.Challenge.ID != c.ID ||
					got.Challenge.Attempts != tt.attempts+1 || got.Challenge.Channel != auth.ChannelWhatsApp {
					t.Fatalf("got %+v (challenge %+v)", got, got.Challenge)
				}
				if tt.wantConsumed != (got.User != nil) {
					t.Fatalf("user %+v, consumed %v", got.User, tt.wantConsumed)
				}
				if tt.wantConsumed && (got.User.ID != u.ID || got.User.Status != auth.UserActive || !got.User.Phones[0].Verified) {
					t.Fatalf("user %+v: want %s active with its phone verified", got.User, u.ID)
				}
				if tt.wantConsumed {
					stored, err := e.db.FindUser(ctx, p.ID, u.ID)
					if err != nil || !reflect.DeepEqual(got.User, stored) {
						t.Fatalf("verify returned\n%+v\nthe store holds\n%+v (%v)", got.User, stored, err)
					}
				}
				if wantSession := tt.withSession && tt.wantConsumed; wantSession != (ferr == nil) {
					t.Fatalf("session stored: %v (%v), want %v", ferr == nil, ferr, wantSession)
				} else if wantSession && (stored.UserID != u.ID || stored.Factors[0].Value != u.Phones[0].Number ||
					stored.Factors[0].DeliveryMethod != string(auth.ChannelWhatsApp)) {
					t.Fatalf("stored session %+v: want user %s, factor value %s over whatsapp", stored, u.ID, u.Phones[0].Number)
				}
			})
		}
	})
	t.Run("VerifyCodeConcurrentRightCodesConsumeOnce", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550480")
		c, _ := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
		var wg sync.WaitGroup
		consumed := make([]bool, 8)
		for i := range consumed {
			wg.Go(func() {
				r, err := e.db.VerifyCode(ctx, auth.VerifyCodeInput{ProjectID: p.ID, MethodID: c.MethodID, MACs: [][]byte{hash("code")}, MaxAttempts: 5})
				consumed[i] = err == nil && r.Consumed
			})
		}
		wg.Wait()
		n := 0
		for _, ok := range consumed {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d verifies consumed the code, want 1", n)
		}
	})
	t.Run("VerifyCodeNeverIssuedNotFound", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550481")
		_, err := e.db.VerifyCode(ctx, auth.VerifyCodeInput{ProjectID: p.ID, MethodID: u.Phones[0].ID, MACs: [][]byte{hash("code")}, MaxAttempts: 5})
		wantCode(t, err, auth.EOTPNotFound)
	})
}

func testMagicLinks(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	link := func(t *testing.T, u *auth.User, kind auth.MagicLinkKind, token, challenge string, ttl time.Duration, withMsg bool) *auth.MagicLink {
		t.Helper()
		ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, UserID: u.ID, Kind: kind,
			TokenHash: hash(token), CodeChallenge: challenge, ExpiresAt: e.clock.Now().Add(ttl)}
		if kind != auth.MagicLinkEmbedded {
			ml.EmailID = u.Emails[0].ID
		}
		var m *auth.Message
		if withMsg {
			m = &auth.Message{ID: id(auth.PrefixMessage, p), Recipient: "x@example.com"}
		}
		wantCode(t, e.db.CreateMagicLink(ctx, ml, m, []byte("ciphertext")), "")
		return ml
	}

	t.Run("ConsumeOnceVerifiesAndActivates", func(t *testing.T) {
		u := e.user(t, p, "ml1@example.com", "")
		ml := link(t, u, auth.MagicLinkLogin, "tok1", "", time.Hour, true)
		got, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("other-key"), hash("tok1")}, "")
		wantCode(t, err, "")
		if got.ID != ml.ID || got.EmailID != u.Emails[0].ID || got.ConsumedAt == nil || got.Kind != auth.MagicLinkLogin {
			t.Fatalf("got %+v", got)
		}
		usr, _ := e.db.FindUser(ctx, p.ID, u.ID)
		if usr.Status != auth.UserActive || !usr.Emails[0].Verified {
			t.Fatalf("user %+v", usr)
		}
		_, err = e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("tok1")}, "")
		wantCode(t, err, auth.EMagicLinkUsed)
	})
	tests := []struct {
		name      string
		challenge string
		ttl       time.Duration
		verifier  string
		wantCode  auth.Code
	}{
		{"PKCEMatchOK", auth.PKCEChallenge("verifier"), time.Hour, auth.PKCEChallenge("verifier"), ""},
		{"PKCEWrongVerifierMismatch", auth.PKCEChallenge("verifier"), time.Hour, auth.PKCEChallenge("wrong"), auth.EPKCEMismatch},
		{"PKCEMissingVerifierMismatch", auth.PKCEChallenge("verifier"), time.Hour, "", auth.EPKCEMismatch},
		{"VerifierWithoutChallengeMismatch", "", time.Hour, auth.PKCEChallenge("verifier"), auth.EPKCEMismatch},
		{"ExpiredUsed", "", -time.Second, "", auth.EMagicLinkUsed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.user(t, p, "pkce"+string(rune('a'+i))+"@example.com", "")
			token := "pkce-token-" + tt.name
			link(t, u, auth.MagicLinkLogin, token, tt.challenge, tt.ttl, false)
			_, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash(token)}, tt.verifier)
			wantCode(t, err, tt.wantCode)
		})
	}
	t.Run("UnknownTokenNotFound", func(t *testing.T) {
		_, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("nope")}, "")
		wantCode(t, err, auth.EMagicLinkNotFound)
		_, err = e.db.ConsumeMagicLink(ctx, p.ID, nil, "")
		wantCode(t, err, auth.EMagicLinkNotFound)
	})
	t.Run("EmbeddedLinkWithoutEmailOK", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550500")
		link(t, u, auth.MagicLinkEmbedded, "embedded", "", time.Hour, false)
		got, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("embedded")}, "")
		wantCode(t, err, "")
		if got.EmailID != "" {
			t.Fatalf("email id %q", got.EmailID)
		}
	})
	t.Run("ConcurrentConsumeSucceedsOnce", func(t *testing.T) {
		u := e.user(t, p, "race@example.com", "")
		link(t, u, auth.MagicLinkLogin, "race", "", time.Hour, false)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("race")}, "") })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, auth.EMagicLinkUsed)
			}
		}
		if ok != 1 {
			t.Fatalf("%d consumes succeeded", ok)
		}
	})
	t.Run("RevokeInvitesCountsUnconsumedInvites", func(t *testing.T) {
		u := e.user(t, p, "invitee@example.com", "")
		link(t, u, auth.MagicLinkInvite, "inv1", "", time.Hour, true)
		link(t, u, auth.MagicLinkInvite, "inv2", "", time.Hour, false)
		link(t, u, auth.MagicLinkLogin, "login-not-invite", "", time.Hour, false)
		link(t, u, auth.MagicLinkInvite, "inv3", "", time.Hour, false)
		_, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("inv3")}, "")
		wantCode(t, err, "")
		n, err := e.db.RevokeInvites(ctx, p.ID, "invitee@example.com")
		wantCode(t, err, "")
		if n != 2 {
			t.Fatalf("revoked %d, want 2", n)
		}
		_, err = e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{hash("inv1")}, "")
		wantCode(t, err, auth.EMagicLinkNotFound)
		n, _ = e.db.RevokeInvites(ctx, p.ID, "invitee@example.com")
		if n != 0 {
			t.Fatalf("revoked %d again", n)
		}
	})
}

func testSessions(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "sess@example.com", "")

	newSession := func(t *testing.T, token string, ttl time.Duration) *auth.Session {
		t.Helper()
		now := e.clock.Now()
		s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, UserID: u.ID, TokenHash: hash(token),
			StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(ttl),
			Attributes: auth.Attributes{IPAddress: "203.0.113.7", UserAgent: "test"},
			Factors: []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliveryEmail, MethodID: u.Emails[0].ID,
				Value: "sess@example.com", LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}},
		}
		wantCode(t, e.db.CreateSession(ctx, s, []byte("enc-"+token)), "")
		e.clock.Advance(time.Millisecond)
		return s
	}

	t.Run("FindLiveByTokenOK", func(t *testing.T) {
		s := newSession(t, "live", time.Hour)
		got, enc, err := e.db.FindSessionByToken(ctx, p.ID, [][]byte{hash("x"), hash("live")})
		wantCode(t, err, "")
		if got.ID != s.ID || string(enc) != "enc-live" || got.Attributes != s.Attributes ||
			len(got.Factors) != 1 || got.Factors[0].MethodID != u.Emails[0].ID || !got.Factors[0].CreatedAt.Equal(s.StartedAt) {
			t.Fatalf("got %+v", got)
		}
		if got.CustomClaims == nil || len(got.CustomClaims) != 0 {
			t.Fatalf("custom claims %v, want empty non-nil", got.CustomClaims)
		}
		got, _, err = e.db.FindSession(ctx, p.ID, s.ID)
		wantCode(t, err, "")
		if got.ID != s.ID {
			t.Fatal(got.ID)
		}
	})
	t.Run("ExpiredNotFound", func(t *testing.T) {
		s := newSession(t, "expired", -time.Second)
		_, _, err := e.db.FindSessionByToken(ctx, p.ID, [][]byte{hash("expired")})
		wantCode(t, err, auth.ESessionNotFound)
		_, _, err = e.db.FindSession(ctx, p.ID, s.ID)
		wantCode(t, err, auth.ESessionNotFound)
		wantCode(t, e.db.RevokeSession(ctx, p.ID, s.ID), auth.ESessionNotFound)
		wantCode(t, e.db.UpdateSession(ctx, s), auth.ESessionNotFound)
	})
	t.Run("RevokedNotFound", func(t *testing.T) {
		s := newSession(t, "revoked", time.Hour)
		wantCode(t, e.db.RevokeSession(ctx, p.ID, s.ID), "")
		wantCode(t, e.db.RevokeSession(ctx, p.ID, s.ID), auth.ESessionNotFound)
		_, _, err := e.db.FindSessionByToken(ctx, p.ID, [][]byte{hash("revoked")})
		wantCode(t, err, auth.ESessionNotFound)
	})
	t.Run("UpdateStoresExpiryFactorsClaims", func(t *testing.T) {
		s := newSession(t, "upd", time.Hour)
		s.ExpiresAt = s.ExpiresAt.Add(time.Hour)
		s.LastAccessedAt = e.clock.Now()
		s.Factors = append(s.Factors, auth.Factor{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail})
		s.CustomClaims = map[string]any{"role": "admin", "n": 2.0}
		wantCode(t, e.db.UpdateSession(ctx, s), "")
		got, _, err := e.db.FindSession(ctx, p.ID, s.ID)
		wantCode(t, err, "")
		if !got.ExpiresAt.Equal(s.ExpiresAt) || !got.LastAccessedAt.Equal(s.LastAccessedAt) || len(got.Factors) != 2 ||
			got.CustomClaims["role"] != "admin" || got.CustomClaims["n"] != 2.0 {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("ListLiveNewestFirst", func(t *testing.T) {
		u2 := e.user(t, p, "list@example.com", "")
		var want []string
		for i, ttl := range []time.Duration{time.Hour, -time.Second, time.Hour, time.Hour} {
			now := e.clock.Now()
			s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, UserID: u2.ID,
				TokenHash: hash("list" + string(rune('0'+i))), StartedAt: now, ExpiresAt: now.Add(ttl)}
			wantCode(t, e.db.CreateSession(ctx, s, []byte{byte(i)}), "")
			if ttl > 0 {
				want = append([]string{s.ID}, want...)
			}
			e.clock.Advance(time.Millisecond)
		}
		wantCode(t, e.db.RevokeSession(ctx, p.ID, want[1]), "")
		want = append(want[:1], want[2:]...)
		got, encs, err := e.db.ListSessions(ctx, p.ID, u2.ID)
		wantCode(t, err, "")
		if len(got) != len(want) || len(encs) != len(want) {
			t.Fatalf("got %d sessions, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i] {
				t.Fatalf("order: got %s at %d, want %s", got[i].ID, i, want[i])
			}
		}
		if encs[0][0] != 3 {
			t.Fatalf("tokens not in session order: %v", encs)
		}
	})
	t.Run("DuplicateTokenHashConflict", func(t *testing.T) {
		newSession(t, "dup-token", time.Hour)
		now := e.clock.Now()
		s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, UserID: u.ID, TokenHash: hash("dup-token"),
			StartedAt: now, ExpiresAt: now.Add(time.Hour)}
		wantCode(t, e.db.CreateSession(ctx, s, []byte("x")), auth.EConflict)
	})
}
