package postgres_test

import (
	"encoding/json"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func testMigrate(t *testing.T, e *env) {
	t.Run("IdempotentWhenRepeated", func(t *testing.T) {
		for range 2 {
			if err := e.db.Migrate(ctxT(t)); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
	})
	t.Run("IdempotentWhenConcurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- e.db.Migrate(ctxT(t)) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		var n int
		if err := e.db.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(postgres.MigrationsFS(), "migrations/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(files) {
			t.Fatalf("schema_migrations has %d rows, want one per migration file (%d)", n, len(files))
		}
	})
}

func testProjects(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	t.Run("FindBySecretOK", func(t *testing.T) {
		got, err := e.db.FindProjectBySecret(ctx, [][]byte{hash("other"), hash(p.ID)})
		wantCode(t, err, "")
		if got.ID != p.ID {
			t.Fatalf("got %s", got.ID)
		}
	})
	t.Run("FindBySecretUnauthorized", func(t *testing.T) {
		_, err := e.db.FindProjectBySecret(ctx, [][]byte{hash("nope")})
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.db.FindProjectBySecret(ctx, nil)
		wantCode(t, err, auth.EUnauthorized)
	})
	t.Run("FindWithSecretOK", func(t *testing.T) {
		_, err := e.db.FindProjectWithSecret(ctx, p.ID, [][]byte{hash(p.ID)})
		wantCode(t, err, "")
	})
	t.Run("FindWithSecretWrongSecretUnauthorized", func(t *testing.T) {
		q := e.project(t)
		_, err := e.db.FindProjectWithSecret(ctx, p.ID, [][]byte{hash(q.ID)})
		wantCode(t, err, auth.EUnauthorized)
	})
	t.Run("EnsureReplacesSecret", func(t *testing.T) {
		q := e.project(t)
		if err := e.db.EnsureProject(ctx, q.ID, hash("new")); err != nil {
			t.Fatal(err)
		}
		_, err := e.db.FindProjectWithSecret(ctx, q.ID, [][]byte{hash(q.ID)})
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.db.FindProjectWithSecret(ctx, q.ID, [][]byte{hash("new")})
		wantCode(t, err, "")
	})
	t.Run("EnsureSameSecretAsOtherProjectConflict", func(t *testing.T) {
		wantCode(t, e.db.EnsureProject(ctx, "project-test-x", hash(p.ID)), auth.EConflict)
	})
	t.Run("FindNotFound", func(t *testing.T) {
		_, err := e.db.FindProject(ctx, "project-test-missing")
		wantCode(t, err, auth.ENotFound)
	})
}

func testUsers(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	t.Run("CreateFindOK", func(t *testing.T) {
		u := &auth.User{
			ID: id(auth.PrefixUser, p), ProjectID: p.ID, Status: auth.UserActive,
			Name: auth.Name{First: "Ada", Last: "Lovelace"}, ExternalID: "ext-1",
			TrustedMetadata: json.RawMessage(`{"plan":"pro"}`),
			Emails:          []auth.Email{{ID: id(auth.PrefixEmail, p), Address: "ada@example.com", Verified: true}},
			Phones:          []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: "+14155550100"}},
		}
		wantCode(t, e.db.CreateUser(ctx, u), "")
		got, err := e.db.FindUser(ctx, p.ID, u.ID)
		wantCode(t, err, "")
		if got.Name != u.Name || got.ExternalID != "ext-1" || got.Status != auth.UserActive {
			t.Fatalf("got %+v", got)
		}
		if string(got.TrustedMetadata) != `{"plan": "pro"}` || string(got.UntrustedMetadata) != `{}` {
			t.Fatalf("metadata %s %s", got.TrustedMetadata, got.UntrustedMetadata)
		}
		if len(got.Emails) != 1 || got.Emails[0].Address != "ada@example.com" || !got.Emails[0].Verified || got.Emails[0].UserID != u.ID {
			t.Fatalf("emails %+v", got.Emails)
		}
		if len(got.Phones) != 1 || got.Phones[0].Number != "+14155550100" || got.Phones[0].Verified {
			t.Fatalf("phones %+v", got.Phones)
		}
		if !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("created_at %v != %v", got.CreatedAt, u.CreatedAt)
		}
	})
	t.Run("FindMissingUserNotFound", func(t *testing.T) {
		_, err := e.db.FindUser(ctx, p.ID, "user-test-missing")
		wantCode(t, err, auth.EUserNotFound)
	})
	t.Run("CreateDuplicateEmail", func(t *testing.T) {
		e.user(t, p, "dup@example.com", "")
		u := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID,
			Emails: []auth.Email{{ID: id(auth.PrefixEmail, p), Address: "dup@example.com"}}}
		wantCode(t, e.db.CreateUser(ctx, u), auth.EDuplicateEmail)
		_, err := e.db.FindUser(ctx, p.ID, u.ID)
		wantCode(t, err, auth.EUserNotFound) // the whole statement rolled back
	})
	t.Run("CreateDuplicatePhone", func(t *testing.T) {
		e.user(t, p, "", "+14155550101")
		u := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID,
			Phones: []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: "+14155550101"}}}
		wantCode(t, e.db.CreateUser(ctx, u), auth.EDuplicatePhone)
	})
	t.Run("CreateDuplicateExternalIDConflict", func(t *testing.T) {
		u1 := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID, ExternalID: "same"}
		u2 := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID, ExternalID: "same"}
		wantCode(t, e.db.CreateUser(ctx, u1), "")
		wantCode(t, e.db.CreateUser(ctx, u2), auth.EConflict)
		// Empty external ids never collide.
		wantCode(t, e.db.CreateUser(ctx, &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID}), "")
		wantCode(t, e.db.CreateUser(ctx, &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID}), "")
	})
	t.Run("SameEmailInOtherProjectOK", func(t *testing.T) {
		q := e.project(t)
		e.user(t, p, "shared@example.com", "+14155550102")
		e.user(t, q, "shared@example.com", "+14155550102")
	})
	t.Run("CreateInMissingProjectNotFound", func(t *testing.T) {
		u := &auth.User{ID: "user-test-x", ProjectID: "project-test-missing"}
		wantCode(t, e.db.CreateUser(ctx, u), auth.ENotFound)
	})
	t.Run("UpdateOK", func(t *testing.T) {
		u := e.user(t, p, "upd@example.com", "")
		e.clock.Advance(time.Second)
		active := auth.UserActive
		got, err := e.db.UpdateUser(ctx, p.ID, u.ID, auth.UserUpdate{
			Name:              &auth.Name{First: "Grace", Middle: "B", Last: "Hopper"},
			ExternalID:        ptr("ext-upd"),
			UntrustedMetadata: json.RawMessage(`{"theme":"dark"}`),
			Status:            &active,
			AddEmails:         []auth.Email{{ID: id(auth.PrefixEmail, p), Address: "upd2@example.com"}},
			AddPhones:         []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: "+14155550103"}},
		})
		wantCode(t, err, "")
		if got.Name.Middle != "B" || got.ExternalID != "ext-upd" || got.Status != auth.UserActive ||
			string(got.UntrustedMetadata) != `{"theme": "dark"}` || string(got.TrustedMetadata) != `{}` {
			t.Fatalf("got %+v", got)
		}
		if len(got.Emails) != 2 || len(got.Phones) != 1 || !got.UpdatedAt.After(got.CreatedAt) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("UpdateMissingUserNotFound", func(t *testing.T) {
		_, err := e.db.UpdateUser(ctx, p.ID, "user-test-missing", auth.UserUpdate{ExternalID: ptr("x")})
		wantCode(t, err, auth.EUserNotFound)
	})
	t.Run("UpdateDuplicateEmailRollsBack", func(t *testing.T) {
		e.user(t, p, "taken@example.com", "")
		u := e.user(t, p, "mine@example.com", "")
		_, err := e.db.UpdateUser(ctx, p.ID, u.ID, auth.UserUpdate{
			Name:      &auth.Name{First: "Changed"},
			AddEmails: []auth.Email{{ID: id(auth.PrefixEmail, p), Address: "taken@example.com"}},
		})
		wantCode(t, err, auth.EDuplicateEmail)
		got, _ := e.db.FindUser(ctx, p.ID, u.ID)
		if got.Name.First != "" {
			t.Fatalf("update was not rolled back: %+v", got.Name)
		}
	})
	t.Run("UpdateDuplicatePhone", func(t *testing.T) {
		e.user(t, p, "", "+14155550104")
		u := e.user(t, p, "x1@example.com", "")
		_, err := e.db.UpdateUser(ctx, p.ID, u.ID, auth.UserUpdate{
			AddPhones: []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: "+14155550104"}},
		})
		wantCode(t, err, auth.EDuplicatePhone)
	})
	t.Run("DeleteCascades", func(t *testing.T) {
		u := e.user(t, p, "del@example.com", "+14155550105")
		c, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 600e9)
		wantCode(t, e.db.DeleteUser(ctx, p.ID, u.ID), "")
		wantCode(t, e.db.DeleteUser(ctx, p.ID, u.ID), auth.EUserNotFound)
		_, _, _, err := e.db.FindMethod(ctx, p.ID, u.Emails[0].ID)
		wantCode(t, err, auth.EInvalidMethodID)
		_, err = e.db.FindMessage(ctx, p.ID, m.ID)
		wantCode(t, err, auth.ENotFound)
		_, err = e.db.AttemptChallenge(ctx, p.ID, c.MethodID, 5)
		wantCode(t, err, auth.EOTPNotFound)
		// The address is free again.
		e.user(t, p, "del@example.com", "+14155550105")
	})
	t.Run("DeleteEmailOK", func(t *testing.T) {
		u := e.user(t, p, "de@example.com", "")
		e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, 600e9)
		userID, err := e.db.DeleteEmail(ctx, p.ID, u.Emails[0].ID)
		wantCode(t, err, "")
		if userID != u.ID {
			t.Fatalf("user id %s", userID)
		}
		_, err = e.db.AttemptChallenge(ctx, p.ID, u.Emails[0].ID, 5)
		wantCode(t, err, auth.EOTPNotFound)
		_, err = e.db.DeleteEmail(ctx, p.ID, u.Emails[0].ID)
		wantCode(t, err, auth.EEmailNotFound)
	})
	t.Run("DeletePhoneOK", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550106")
		userID, err := e.db.DeletePhone(ctx, p.ID, u.Phones[0].ID)
		wantCode(t, err, "")
		if userID != u.ID {
			t.Fatalf("user id %s", userID)
		}
		_, err = e.db.DeletePhone(ctx, p.ID, u.Phones[0].ID)
		wantCode(t, err, auth.EPhoneNotFound)
	})
}

func testResolveMethod(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	tests := []struct {
		name        string
		ch          auth.Channel
		value       string
		create      bool
		pending     bool
		wantCreated bool
		wantStatus  auth.UserStatus
		wantCode    auth.Code
	}{
		{"CreatesPendingPhoneUser", auth.ChannelSMS, "+14155550200", true, true, true, auth.UserPending, ""},
		{"FindsExistingPhone", auth.ChannelWhatsApp, "+14155550200", true, false, false, auth.UserPending, ""},
		{"CreatesActiveEmailUser", auth.ChannelEmail, "new@example.com", true, false, true, auth.UserActive, ""},
		{"FindsExistingEmailWithoutCreate", auth.ChannelEmail, "new@example.com", false, false, false, auth.UserActive, ""},
		{"MissingEmailNotFound", auth.ChannelEmail, "none@example.com", false, false, false, "", auth.EEmailNotFound},
		{"MissingPhoneNotFound", auth.ChannelSMS, "+14155550299", false, false, false, "", auth.EPhoneNotFound},
		{"UnknownChannelInvalid", auth.Channel("fax"), "x", true, false, false, "", auth.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userID, methodID, _, created, err := e.db.ResolveMethod(ctx, p, tt.ch, tt.value, tt.create, tt.pending)
			wantCode(t, err, tt.wantCode)
			if err != nil {
				return
			}
			if created != tt.wantCreated {
				t.Fatalf("created = %v", created)
			}
			u, err := e.db.FindUser(ctx, p.ID, userID)
			wantCode(t, err, "")
			if u.Status != tt.wantStatus {
				t.Fatalf("status %s", u.Status)
			}
			gotUser, class, value, err := e.db.FindMethod(ctx, p.ID, methodID)
			wantCode(t, err, "")
			wantClass := "phone"
			if tt.ch == auth.ChannelEmail {
				wantClass = "email"
			}
			if gotUser != userID || class != wantClass || value != tt.value {
				t.Fatalf("FindMethod = %s %s %s", gotUser, class, value)
			}
		})
	}

	t.Run("ConcurrentCreatesExactlyOne", func(t *testing.T) {
		const n = 8
		type result struct {
			userID, methodID string
			created          bool
			err              error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				r := &results[i]
				r.userID, r.methodID, _, r.created, r.err = e.db.ResolveMethod(ctx, p, auth.ChannelSMS, "+14155550250", true, true)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for _, r := range results {
			wantCode(t, r.err, "")
			if r.created {
				created++
			}
			if r.userID != results[0].userID || r.methodID != results[0].methodID {
				t.Fatalf("different results: %+v vs %+v", r, results[0])
			}
		}
		if created != 1 {
			t.Fatalf("%d callers created the user, want 1", created)
		}
		var users int
		e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM users u JOIN phone_numbers p ON p.user_id = u.id WHERE p.number = '+14155550250'`).Scan(&users)
		if users != 1 {
			t.Fatalf("%d users", users)
		}
	})
}

func testAttachMethod(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "owner@example.com", "")
	other := e.user(t, p, "other@example.com", "+14155550300")

	tests := []struct {
		name     string
		userID   string
		ch       auth.Channel
		value    string
		wantID   string
		wantCode auth.Code
	}{
		{"AlreadyAttachedReturnsID", u.ID, auth.ChannelEmail, "owner@example.com", u.Emails[0].ID, ""},
		{"NewPhoneAttached", u.ID, auth.ChannelSMS, "+14155550301", "", ""},
		{"EmailOfOtherUserDuplicate", u.ID, auth.ChannelEmail, "other@example.com", "", auth.EDuplicateEmail},
		{"PhoneOfOtherUserDuplicate", u.ID, auth.ChannelWhatsApp, "+14155550300", "", auth.EDuplicatePhone},
		{"MissingUserNotFound", "user-test-missing", auth.ChannelEmail, "fresh@example.com", "", auth.EUserNotFound},
		{"MissingUserWithTakenValueNotFound", "user-test-missing", auth.ChannelEmail, "other@example.com", "", auth.EUserNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methodID, err := e.db.AttachMethod(ctx, p, tt.userID, tt.ch, tt.value)
			wantCode(t, err, tt.wantCode)
			if err != nil {
				return
			}
			if tt.wantID != "" && methodID != tt.wantID {
				t.Fatalf("method id %s, want %s", methodID, tt.wantID)
			}
			owner, _, value, err := e.db.FindMethod(ctx, p.ID, methodID)
			wantCode(t, err, "")
			if owner != tt.userID || value != tt.value {
				t.Fatalf("FindMethod = %s %s", owner, value)
			}
		})
	}
	_ = other
}
