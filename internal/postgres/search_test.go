package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func testSearchUsers(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	other := e.project(t)
	e.user(t, other, "ada@example.com", "+14155559999") // never returned

	// Fixtures, created one second apart.
	mk := func(first, last, email, phone string, status auth.UserStatus) *auth.User {
		u := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID, Status: status, Name: auth.Name{First: first, Last: last}}
		if email != "" {
			u.Emails = []auth.Email{{ID: id(auth.PrefixEmail, p), Address: email}}
		}
		if phone != "" {
			u.Phones = []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: phone}}
		}
		wantCode(t, e.db.CreateUser(ctx, u), "")
		e.clock.Advance(time.Second)
		return u
	}
	ada := mk("Ada", "Lovelace", "ada@example.com", "+14155550900", auth.UserActive)
	grace := mk("Grace", "Hopper", "grace@navy.mil", "", auth.UserPending)
	alan := mk("Alan", "Turing", "", "+447700900123", auth.UserActive)
	odd := mk("100%", "under_score", "odd@example.com", "", auth.UserActive)
	// Ada's email and Alan's phone are verified.
	c, _ := e.challenge(t, p, ada, ada.Emails[0].ID, auth.ChannelEmail, time.Hour)
	wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
	c, _ = e.challenge(t, p, alan, alan.Phones[0].ID, auth.ChannelSMS, time.Hour)
	wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
	mid := ada.CreatedAt.Add(1500 * time.Millisecond) // between grace and alan

	users := func(us ...*auth.User) []string {
		var ids []string
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		return ids
	}
	tests := []struct {
		name string
		q    auth.UserQuery
		want []string
	}{
		{"NoFilterAll", auth.UserQuery{}, users(ada, grace, alan, odd)},
		{"ByStatus", auth.UserQuery{Status: auth.UserPending}, users(grace)},
		{"CreatedAfter", auth.UserQuery{CreatedAfter: &mid}, users(alan, odd)},
		{"CreatedBefore", auth.UserQuery{CreatedBefore: &mid}, users(ada, grace)},
		{"ByUserIDs", auth.UserQuery{UserIDs: []string{alan.ID, odd.ID, "user-test-x"}}, users(alan, odd)},
		{"ByEmailAddressCaseInsensitive", auth.UserQuery{EmailAddresses: []string{"GRACE@navy.mil"}}, users(grace)},
		{"ByEmailIDs", auth.UserQuery{EmailIDs: []string{ada.Emails[0].ID}}, users(ada)},
		{"ByPhoneNumbers", auth.UserQuery{PhoneNumbers: []string{"+447700900123"}}, users(alan)},
		{"ByPhoneIDs", auth.UserQuery{PhoneIDs: []string{ada.Phones[0].ID}}, users(ada)},
		{"FullNameFuzzy", auth.UserQuery{FullNameFuzzy: "ce hop"}, users(grace)},
		{"FullNameFuzzyEscapesPercent", auth.UserQuery{FullNameFuzzy: "100%"}, users(odd)},
		{"FullNameFuzzyEscapesUnderscore", auth.UserQuery{FullNameFuzzy: "r_s"}, users(odd)},
		{"EmailFuzzy", auth.UserQuery{EmailFuzzy: "EXAMPLE"}, users(ada, odd)},
		{"PhoneFuzzy", auth.UserQuery{PhoneFuzzy: "4477"}, users(alan)},
		{"EmailVerifiedTrue", auth.UserQuery{EmailVerified: ptr(true)}, users(ada)},
		{"EmailVerifiedFalse", auth.UserQuery{EmailVerified: ptr(false)}, users(grace, odd)},
		{"PhoneVerifiedTrue", auth.UserQuery{PhoneVerified: ptr(true)}, users(alan)},
		{"AndCombines", auth.UserQuery{Status: auth.UserActive, EmailFuzzy: "example"}, users(ada, odd)},
		{"AndNoMatch", auth.UserQuery{Status: auth.UserPending, EmailFuzzy: "example"}, nil},
		{"OrCombines", auth.UserQuery{Or: true, Status: auth.UserPending, PhoneFuzzy: "4477"}, users(grace, alan)},
		{"ListsAndIntersect", auth.UserQuery{EmailAddresses: []string{"ada@example.com", "grace@navy.mil"}, PhoneNumbers: []string{"+14155550900", "+447700900123"}}, users(ada)},
		{"ListsAndDisjointMatchNone", auth.UserQuery{EmailIDs: []string{grace.Emails[0].ID}, PhoneIDs: []string{alan.Phones[0].ID}}, nil},
		{"ListsOrUnion", auth.UserQuery{Or: true, EmailAddresses: []string{"grace@navy.mil"}, PhoneNumbers: []string{"+447700900123"}, EmailIDs: []string{ada.Emails[0].ID}}, users(ada, grace, alan)},
		{"UserIDsAndListIntersect", auth.UserQuery{UserIDs: []string{alan.ID, grace.ID}, EmailAddresses: []string{"grace@navy.mil", "ada@example.com"}}, users(grace)},
		{"UserIDsOrListUnion", auth.UserQuery{Or: true, UserIDs: []string{odd.ID}, PhoneIDs: []string{alan.Phones[0].ID}}, users(alan, odd)},
		{"ListOrFuzzy", auth.UserQuery{Or: true, EmailAddresses: []string{"odd@example.com"}, FullNameFuzzy: "grace"}, users(grace, odd)},
		{"ListAndShortFuzzy", auth.UserQuery{UserIDs: []string{ada.ID, grace.ID, alan.ID}, EmailFuzzy: "a"}, users(ada, grace)},
		{"ShortFuzzyOr", auth.UserQuery{Or: true, FullNameFuzzy: "r_", PhoneFuzzy: "09"}, users(ada, alan, odd)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.db.SearchUsers(ctx, p.ID, tt.q)
			wantCode(t, err, "")
			got := users(page.Users...)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || page.Total != len(tt.want) || page.NextCursor != "" {
				t.Fatalf("got %v (total %d, cursor %q), want %v", got, page.Total, page.NextCursor, tt.want)
			}
		})
	}
	t.Run("LoadsMethods", func(t *testing.T) {
		page, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{UserIDs: []string{ada.ID}})
		wantCode(t, err, "")
		u := page.Users[0]
		if len(u.Emails) != 1 || !u.Emails[0].Verified || len(u.Phones) != 1 || u.Name.First != "Ada" {
			t.Fatalf("user %+v", u)
		}
	})
	t.Run("InvalidLimit", func(t *testing.T) {
		for _, limit := range []int{-1, 1001} {
			_, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{Limit: limit})
			wantCode(t, err, auth.EInvalid)
		}
	})
	t.Run("InvalidCursor", func(t *testing.T) {
		for _, cursor := range []string{"!!", "bm9jb2xvbg", "YWJjOmRlZg"} {
			_, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{Cursor: cursor})
			wantCode(t, err, auth.EInvalid)
		}
	})
}

func testSearchUsersPagination(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	// 250 users; every fifth shares a timestamp with the previous one so that
	// the id tie-break of the cursor matters.
	const n = 250
	var want []string
	for i := range n {
		u := &auth.User{ID: fmt.Sprintf("user-test-%05d", i), ProjectID: p.ID, Status: auth.UserActive,
			Emails: []auth.Email{{ID: fmt.Sprintf("email-test-%05d", i), Address: fmt.Sprintf("u%d@example.com", i)}}}
		wantCode(t, e.db.CreateUser(ctx, u), "")
		want = append(want, u.ID)
		if i%5 != 0 {
			e.clock.Advance(time.Millisecond)
		}
	}
	for _, limit := range []int{1, 7, 100, 250, 1000} {
		t.Run(fmt.Sprintf("Limit%dVisitsEachOnce", limit), func(t *testing.T) {
			var got []string
			q := auth.UserQuery{Limit: limit}
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatal("pagination does not end")
				}
				page, err := e.db.SearchUsers(ctx, p.ID, q)
				wantCode(t, err, "")
				if page.Total != n {
					t.Fatalf("total %d", page.Total)
				}
				if len(page.Users) > limit {
					t.Fatalf("page of %d", len(page.Users))
				}
				for _, u := range page.Users {
					got = append(got, u.ID)
					if len(u.Emails) != 1 {
						t.Fatalf("user %s has %d emails", u.ID, len(u.Emails))
					}
				}
				if page.NextCursor == "" {
					break
				}
				q.Cursor = page.NextCursor
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("visited %d users out of order or with repeats", len(got))
			}
		})
	}
	// Matches that sort last (beyond the walk of a small page) and values
	// without a trigram (a scan) are paged in order with their total.
	matching := func(sub string) []string {
		var ids []string
		for i, id := range want {
			if strings.Contains(fmt.Sprintf("u%d@example.com", i), sub) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	// "19@": with a page of 1, the walk of 20 users ends on u19, the only
	// match it sees; u119 and u219 come later.
	for _, fuzzy := range []string{"u24", "9@", "u1", "19@"} {
		for _, limit := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("Fuzzy%qLimit%dPagedInOrderWithTotal", fuzzy, limit), func(t *testing.T) {
				matches := matching(fuzzy)
				var got []string
				q := auth.UserQuery{EmailFuzzy: fuzzy, Limit: limit}
				for pages := 0; ; pages++ {
					if pages > n+1 {
						t.Fatal("pagination does not end")
					}
					page, err := e.db.SearchUsers(ctx, p.ID, q)
					wantCode(t, err, "")
					if page.Total != len(matches) || len(page.Users) > limit {
						t.Fatalf("total %d, page of %d; want total %d", page.Total, len(page.Users), len(matches))
					}
					for _, u := range page.Users {
						got = append(got, u.ID)
					}
					if page.NextCursor == "" {
						break
					}
					q.Cursor = page.NextCursor
				}
				if fmt.Sprint(got) != fmt.Sprint(matches) {
					t.Fatalf("visited %v, want %v", got, matches)
				}
			})
		}
	}
	t.Run("MatchesBeyondTheWalkPagedWithTotal", func(t *testing.T) {
		// From u19, a page of 1 walks u20-u39 (no "u1" there) and sorts
		// the matches instead.
		start, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{UserIDs: want[19:20]})
		wantCode(t, err, "")
		got := pageIDs(t, n+1, 111, postgres.EncodeCursor(start.Users[0].CreatedAt, start.Users[0].ID), func(cursor string) ([]string, int, string, error) {
			page, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{EmailFuzzy: "u1", Limit: 1, Cursor: cursor})
			if err != nil {
				return nil, 0, "", err
			}
			var ids []string
			for _, u := range page.Users {
				ids = append(ids, u.ID)
			}
			return ids, page.Total, page.NextCursor, nil
		})
		if fmt.Sprint(got) != fmt.Sprint(want[100:200]) {
			t.Fatalf("visited %d users, want u100-u199 in order", len(got))
		}
	})
	t.Run("CursorPastLastMatchKeepsTotal", func(t *testing.T) {
		last, err := e.db.SearchUsers(ctx, p.ID, auth.UserQuery{UserIDs: want[n-1:]})
		wantCode(t, err, "")
		cursor := postgres.EncodeCursor(last.Users[0].CreatedAt, last.Users[0].ID)
		for _, q := range []auth.UserQuery{
			{EmailFuzzy: "9@", Cursor: cursor},
			{EmailFuzzy: "u24", Cursor: cursor},
			{UserIDs: want[:3], Cursor: cursor},
		} {
			page, err := e.db.SearchUsers(ctx, p.ID, q)
			wantCode(t, err, "")
			if len(page.Users) != 0 || page.NextCursor != "" || page.Total == 0 {
				t.Fatalf("%+v: %d users, cursor %q, total %d", q, len(page.Users), page.NextCursor, page.Total)
			}
		}
	})
	t.Run("FilteredPagesCountMatches", func(t *testing.T) {
		q := auth.UserQuery{EmailFuzzy: "u1", Limit: 10} // u1, u10-u19, u100-u199
		seen := 0
		for {
			page, err := e.db.SearchUsers(ctx, p.ID, q)
			wantCode(t, err, "")
			if page.Total != 111 {
				t.Fatalf("total %d, want 111", page.Total)
			}
			seen += len(page.Users)
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if seen != 111 {
			t.Fatalf("saw %d users", seen)
		}
	})
}

// testSearchUsersMethodColumns checks the users row's copy of its emails
// and phones (migration 0013's triggers) through SearchUsers: attached,
// verified and deleted methods, several methods per user, values that
// would span two joined methods, and concurrent attaches to one user.
func testSearchUsersMethodColumns(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "ada@example.com", "+14155550100")
	find := func(q auth.UserQuery) int {
		t.Helper()
		page, err := e.db.SearchUsers(ctx, p.ID, q)
		wantCode(t, err, "")
		return page.Total
	}
	second, err := e.db.AttachMethod(ctx, p, u.ID, auth.ChannelEmail, "bob@corp.org")
	wantCode(t, err, "")
	phone2, err := e.db.AttachMethod(ctx, p, u.ID, auth.ChannelSMS, "+447700900555")
	wantCode(t, err, "")
	tests := []struct {
		name string
		q    auth.UserQuery
		want int
	}{
		{"FirstEmailFound", auth.UserQuery{EmailFuzzy: "ada@ex"}, 1},
		{"AttachedEmailFound", auth.UserQuery{EmailFuzzy: "CORP.org"}, 1},
		{"AttachedEmailShortValueFound", auth.UserQuery{EmailFuzzy: "bo"}, 1},
		{"ValueSpanningTwoEmailsMatchesNone", auth.UserQuery{EmailFuzzy: "example.com\nbob"}, 0},
		{"NewlineAloneMatchesNone", auth.UserQuery{EmailFuzzy: "\n"}, 0},
		{"AttachedPhoneFound", auth.UserQuery{PhoneFuzzy: "7700900555"}, 1},
		{"ValueSpanningTwoPhonesMatchesNone", auth.UserQuery{PhoneFuzzy: "0100\n+44"}, 0},
		{"UnverifiedEmailFound", auth.UserQuery{EmailVerified: ptr(false)}, 1},
		{"NoVerifiedEmail", auth.UserQuery{EmailVerified: ptr(true)}, 0},
		{"ByAttachedEmailAddress", auth.UserQuery{EmailAddresses: []string{"BOB@corp.org"}}, 1},
		{"ByAttachedPhoneID", auth.UserQuery{PhoneIDs: []string{phone2}}, 1},
		{"OrOfListAndFuzzy", auth.UserQuery{Or: true, EmailIDs: []string{"email-test-none"}, PhoneFuzzy: "+4477"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := find(tt.q); got != tt.want {
				t.Fatalf("total %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("VerifiedEmailFoundAndUnverifiedStill", func(t *testing.T) {
		c, _ := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, time.Hour)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
		if find(auth.UserQuery{EmailVerified: ptr(true)}) != 1 || find(auth.UserQuery{EmailVerified: ptr(false)}) != 1 {
			t.Fatal("a user with one verified and one unverified email matches both flags")
		}
	})
	t.Run("DeletedEmailAndPhoneGone", func(t *testing.T) {
		_, err := e.db.DeleteEmail(ctx, p.ID, second)
		wantCode(t, err, "")
		_, err = e.db.DeletePhone(ctx, p.ID, phone2)
		wantCode(t, err, "")
		if n := find(auth.UserQuery{EmailFuzzy: "corp.org"}) + find(auth.UserQuery{PhoneFuzzy: "7700900555"}) +
			find(auth.UserQuery{EmailVerified: ptr(false)}); n != 0 {
			t.Fatalf("%d matches of deleted methods", n)
		}
		if find(auth.UserQuery{EmailFuzzy: "ada@example.com"}) != 1 {
			t.Fatal("the remaining email is not found")
		}
	})
	t.Run("ConcurrentAttachesAllKept", func(t *testing.T) {
		v := e.user(t, p, "", "")
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := e.db.AttachMethod(ctx, p, v.ID, auth.ChannelEmail, fmt.Sprintf("racer%d@race.test", i))
				errs <- err
			}()
		}
		for range n {
			wantCode(t, <-errs, "")
		}
		if got := find(auth.UserQuery{EmailFuzzy: "@race.test"}); got != 1 {
			t.Fatalf("total %d, want 1", got)
		}
		for i := range n {
			if find(auth.UserQuery{EmailFuzzy: fmt.Sprintf("racer%d@", i)}) != 1 {
				t.Fatalf("racer%d's email was lost from the users row", i)
			}
		}
	})
	t.Run("DeleteUserCascades", func(t *testing.T) {
		wantCode(t, e.db.DeleteUser(ctx, p.ID, u.ID), "")
		if find(auth.UserQuery{EmailFuzzy: "ada@example.com"}) != 0 {
			t.Fatal("deleted user found")
		}
	})
}
