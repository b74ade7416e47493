package auth_test

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
		code           auth.Code
	}{
		{"OKE164", "+14152222222", "+14152222222", ""},
		{"OKFormatted", "+1 (415) 222-2222", "+14152222222", ""},
		{"OKUK", "+44 7911 123456", "+447911123456", ""},
		{"OKSandbox", "+10000000000", "+10000000000", ""},
		{"ErrNoPlus", "4152222222", "", auth.EInvalidPhone},
		{"ErrLetters", "+1415CALLNOW", "", auth.EInvalidPhone},
		{"ErrTooShort", "+1415", "", auth.EInvalidPhone},
		{"ErrEmpty", "", "", auth.EInvalidPhone},
		{"ErrInvalidNumber", "+11234567890", "", auth.EInvalidPhone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.NormalizePhone(tt.in)
			if auth.ErrorCode(err) != tt.code || got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		code           auth.Code
	}{
		{"OK", "ada@example.com", "ada@example.com", ""},
		{"OKLowercased", " Ada@Example.COM ", "ada@example.com", ""},
		{"OKPlus", "a+tag@example.co.uk", "a+tag@example.co.uk", ""},
		{"ErrDisplayName", "Ada <ada@example.com>", "", auth.EInvalidEmail},
		{"ErrNoAt", "ada.example.com", "", auth.EInvalidEmail},
		{"ErrNoTLD", "ada@localhost", "", auth.EInvalidEmail},
		{"ErrEmpty", "", "", auth.EInvalidEmail},
		{"ErrTooLong", strings.Repeat("a", 250) + "@x.com", "", auth.EInvalidEmail},
		{"ErrNewline", "ada@example.com\nBcc: x@y.z", "", auth.EInvalidEmail},
		{"ErrZeroWidthSpace", "ada\u200b@example.com", "", auth.EInvalidEmail},
		{"ErrZeroWidthJoiner", "ad\u200da@example.com", "", auth.EInvalidEmail},
		{"ErrRightToLeftOverride", "\u202eada@example.com", "", auth.EInvalidEmail},
		{"ErrBOM", "\ufeffada@example.com", "", auth.EInvalidEmail},
		{"ErrNoBreakSpace", "ada\u00a0@example.com", "", auth.EInvalidEmail},
		{"ErrInvalidUTF8", "ad\xffa@example.com", "", auth.EInvalidEmail},
		{"ErrSoftHyphen", "ada@exam\u00adple.com", "", auth.EInvalidEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tt.in)
			if auth.ErrorCode(err) != tt.code || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14152222222", "+1 (415) 222-2222", "", "+", "++1", "+4479111234567890123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := auth.NormalizePhone(s)
		if err != nil {
			if auth.ErrorCode(err) != auth.EInvalidPhone {
				t.Fatalf("error code %q for %q", auth.ErrorCode(err), s)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) > 16 {
			t.Fatalf("NormalizePhone(%q) = %q is not E.164", s, got)
		}
		again, err := auth.NormalizePhone(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "A@B.CO", "", "@", "a@@b.co", "\"q\"@b.co"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := auth.NormalizeEmail(s)
		if err != nil {
			if auth.ErrorCode(err) != auth.EInvalidEmail {
				t.Fatalf("error code %q for %q", auth.ErrorCode(err), s)
			}
			return
		}
		if strings.ContainsAny(got, "\r\n<> ") || got != strings.ToLower(got) {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
		if again, err := auth.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
