package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestProjectStore_SecretsSettingsAndNotifications(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	now := e.clock.Now()
	changed := make(chan string, 16)
	lctx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- e.db.ListenProjects(lctx, func() { close(ready) }, func(id string) { changed <- id }) }()
	defer func() { cancel(); <-done }()
	<-ready
	wantNotified := func(id string) {
		t.Helper()
		select {
		case got := <-changed:
			if got != id {
				t.Fatalf("notified %q, want %q", got, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no notification for %s", id)
		}
	}

	p := &auth.ProjectInfo{ID: "project-live-" + auth.NewUUID(), Name: "Shop", Environment: "live", CreatedAt: now, UpdatedAt: now,
		Settings: auth.Settings{SendLimit: 3, SMSAllowedCountries: []string{}}}
	s1 := &auth.ProjectSecret{ID: "project-secret-live-1" + p.ID, ProjectID: p.ID, CreatedAt: now}
	if err := e.db.CreateProject(ctx, p, s1, hash("one")); err != nil {
		t.Fatal(err)
	}
	wantNotified(p.ID) // the first secret's insert
	got, err := e.db.GetProject(ctx, p.ID)
	if err != nil || got.Name != "Shop" || got.Environment != "live" || got.Settings.SendLimit != 3 || got.Settings.SMSAllowedCountries == nil || got.Settings.RedirectURLs != nil {
		t.Fatalf("GetProject = %+v, %v", got, err)
	}
	// A second secret; the same hash twice is a conflict.
	s2 := &auth.ProjectSecret{ID: "project-secret-live-2" + p.ID, ProjectID: p.ID, CreatedAt: now.Add(time.Second)}
	if err := e.db.CreateProjectSecret(ctx, s2, hash("two")); err != nil {
		t.Fatal(err)
	}
	wantNotified(p.ID)
	dup := &auth.ProjectSecret{ID: "project-secret-live-3" + p.ID, ProjectID: p.ID, CreatedAt: now}
	var ae *auth.Error
	if err := e.db.CreateProjectSecret(ctx, dup, hash("one")); !errors.As(err, &ae) || ae.Code != auth.EConflict {
		t.Fatalf("duplicate hash: %v", err)
	}
	// Either secret authenticates (and records its use, without notifying).
	for _, h := range []string{"one", "two"} {
		if got, err := e.db.UseProjectSecret(ctx, p.ID, [][]byte{hash("x"), hash(h)}, now); err != nil || got.ID != p.ID {
			t.Fatalf("UseProjectSecret(%s) = %v, %v", h, got, err)
		}
	}
	if _, err := e.db.UseProjectSecret(ctx, "project-live-other", [][]byte{hash("one")}, now); !errors.As(err, &ae) || ae.Code != auth.EUnauthorized {
		t.Fatalf("secret under another project id: %v", err)
	}
	list, err := e.db.ListProjectSecrets(ctx, p.ID)
	if err != nil || len(list) != 2 || list[0].LastUsedAt == nil || list[1].ID != s2.ID {
		t.Fatalf("ListProjectSecrets = %+v, %v", list, err)
	}
	// Settings update notifies; revoke notifies and ends the secret.
	if _, err := e.db.UpdateProject(ctx, p.ID, nil, &auth.Settings{SendLimit: 9}, now); err != nil {
		t.Fatal(err)
	}
	wantNotified(p.ID)
	if err := e.db.RevokeProjectSecret(ctx, p.ID, s1.ID); err != nil {
		t.Fatal(err)
	}
	wantNotified(p.ID)
	if _, err := e.db.UseProjectSecret(ctx, "", [][]byte{hash("one")}, now); !errors.As(err, &ae) || ae.Code != auth.EUnauthorized {
		t.Fatalf("revoked secret: %v", err)
	}
	if err := e.db.RevokeProjectSecret(ctx, p.ID, s1.ID); !errors.As(err, &ae) || ae.Code != auth.ENotFound || ae.Field != "secret_id" {
		t.Fatalf("revoke twice: %v", err)
	}
	select {
	case id := <-changed:
		t.Fatalf("unexpected notification %s (last_used_at or a failed revoke must not notify)", id)
	default:
	}
	// Bootstrap: re-applying the same hash changes nothing.
	boot := e.project(t)
	wantNotified(boot.ID)
	if err := e.db.EnsureProject(ctx, boot.ID, hash(boot.ID)); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	wantNotified(p.ID)
	if _, err := e.db.GetProject(ctx, p.ID); !errors.As(err, &ae) || ae.Code != auth.ENotFound {
		t.Fatalf("deleted project: %v", err)
	}
	all, err := e.db.ListProjects(ctx)
	if err != nil || len(all) != 1 || all[0].ID != boot.ID || all[0].Environment != "test" {
		t.Fatalf("ListProjects = %+v, %v", all, err)
	}
}
