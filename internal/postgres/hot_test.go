package postgres_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
)

// The UPDATEs on the verify path stay HOT (heap-only: no index entry for
// the new version) only while no index reads the columns they change and
// the table leaves room on its pages (migration 0017). An index added on
// one of them makes every attempt and consume write an entry in each index
// of the table again.
func TestSchema_VerifyPathUpdatesCanBeHOT(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	tests := []struct {
		table, changed string // changed: the columns the verify path updates
		fillfactor     int    // at most
	}{
		{"challenges", `attempts|consumed_at`, 80},
		{"emails", `verified|updated_at`, 90},
		{"phone_numbers", `verified|updated_at`, 90},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			rows, err := db.Pool().Query(t.Context(), `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
				WHERE indrelid = $1::regclass`, tt.table)
			if err != nil {
				t.Fatal(err)
			}
			changed := regexp.MustCompile(`\b(` + tt.changed + `)\b`)
			n := 0
			for rows.Next() {
				var name, def string
				if err := rows.Scan(&name, &def); err != nil {
					t.Fatal(err)
				}
				n++
				if changed.MatchString(def) {
					t.Errorf("index %s reads a column the verify path updates: %s", name, def)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("no index on %s: the query read nothing", tt.table)
			}
			var opts []string
			if err := db.Pool().QueryRow(t.Context(), `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`,
				tt.table).Scan(&opts); err != nil {
				t.Fatal(err)
			}
			ff := 100
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "fillfactor="); ok {
					if ff, err = strconv.Atoi(v); err != nil {
						t.Fatal(err)
					}
				}
			}
			if ff > tt.fillfactor {
				t.Errorf("%s has fillfactor %d, want at most %d (room for the updated version on the row's page)", tt.table, ff, tt.fillfactor)
			}
		})
	}
}

// TestMessageDeliveryIsHOT runs a message's delivery (begin, then finish as
// sent with a provider id) and reads from the table statistics that both
// updates of its row were HOT: since migration 0021 no index of messages
// reads provider_id (TestMessagesDeliveryUpdatesHOTable checks the schema;
// this checks what Postgres did). The statistics reach pg_stat_user_tables
// when the writing connection goes idle, up to ~10 s later.
func TestMessageDeliveryIsHOT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "", "+14155550123")
	_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
	wantCode(t, e.db.MarkPublished(ctx, m.ID), "")
	if d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute); err != nil || d != auth.DeliverySend {
		t.Fatalf("BeginDelivery = %v, %v", d, err)
	}
	wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, "SM"+auth.NewUUID(), ""), "")
	var upd, hot int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		wantCode(t, e.db.Pool().QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd
			FROM pg_stat_user_tables WHERE relid = 'messages'::regclass`).Scan(&upd, &hot), "")
		if upd >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if upd != 2 || hot != 2 {
		t.Fatalf("messages: %d updates, %d of them HOT; want 2, both HOT", upd, hot)
	}
}
