package auth_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// uuidParts checks the textual shape of a UUID (8-4-4-4-12 lower-case hex)
// and returns its 16 bytes.
func uuidParts(t *testing.T, s string) []byte {
	t.Helper()
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		t.Fatalf("%q is not 8-4-4-4-12", s)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || strings.ToLower(s) != s {
		t.Fatalf("%q is not lower-case hex: %v", s, err)
	}
	return b
}

func TestNewID_TimeOrderedVersion7WithTheProjectsEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		project *auth.Project
		want    string
	}{
		{"test project", &auth.Project{ID: "project-test-1"}, "user-test-"},
		{"live project", &auth.Project{ID: "project-live-1"}, "user-live-"},
		{"no project", nil, "user-test-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().UnixMilli()
			prev := ""
			for i := 0; i < 1000; i++ {
				id := auth.NewID(auth.PrefixUser, tt.project)
				u, ok := strings.CutPrefix(id, tt.want)
				if !ok {
					t.Fatalf("id %q does not start with %q", id, tt.want)
				}
				b := uuidParts(t, u)
				if b[6]>>4 != 7 || b[8]>>6 != 2 {
					t.Fatalf("id %q: version %d, variant %b; want version 7, variant 10", id, b[6]>>4, b[8]>>6)
				}
				ms := int64(b[0])<<40 | int64(b[1])<<32 | int64(b[2])<<24 | int64(b[3])<<16 | int64(b[4])<<8 | int64(b[5])
				if ms < before || ms > time.Now().UnixMilli() {
					t.Fatalf("id %q carries %d ms, not between %d and now", id, ms, before)
				}
				// Ids made one after the other sort in that order, so
				// index inserts append at the right edge.
				if id <= prev {
					t.Fatalf("id %q made after %q does not sort after it", id, prev)
				}
				prev = id
			}
		})
	}
}

func TestNewUUID_RandomVersion4(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		s := auth.NewUUID()
		b := uuidParts(t, s)
		if b[6]>>4 != 4 || b[8]>>6 != 2 {
			t.Fatalf("%q: version %d, variant %b; want version 4, variant 10", s, b[6]>>4, b[8]>>6)
		}
		// Callers use a prefix as a unique suffix (test addresses, names):
		// the leading characters are random, not a timestamp.
		if seen[s[:8]] {
			t.Fatalf("two UUIDs share the prefix %q", s[:8])
		}
		seen[s[:8]] = true
	}
}
