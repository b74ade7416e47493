package auth_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"

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
		{"OKIDNADomainToPunycode", "ada@Bücher.de", "ada@xn--bcher-kva.de", ""},
		{"OKPunycodeDomainKept", "ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de", ""},
		{"OKFullWidthDomainMapped", "ada@ｅｘａｍｐｌｅ.com", "ada@example.com", ""},
		{"OKCyrillicOnly", "иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai", ""},
		{"OKJapaneseMix", "ada@日本語ドメイン.jp", "ada@xn--eckwd4c7c5976acvb2w6i.jp", ""},
		{"ErrMixedScriptDomain", "ada@pаypal.com", "", auth.EInvalidEmail},
		{"ErrMixedScriptLocal", "аda@example.com", "", auth.EInvalidEmail},
		{"ErrLatinGreekLocal", "adα@example.com", "", auth.EInvalidEmail},
		{"ErrBadPunycode", "ada@xn--zz.com", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicApple", "ada@аррӏе.com", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicPaypal", "ada@раураӏ.com", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicPaypalPunycode", "ada@xn--80aa0cbo65f.com", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicScope", "ada@ѕсоре.io", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicTLD", "ada@example.со", "", auth.EInvalidEmail},
		{"ErrWholeScriptCyrillicLocal", "аррӏе@example.com", "", auth.EInvalidEmail},
		{"ErrWholeScriptLisuLetter", "ada@ꓲꓲ.com", "", auth.EInvalidEmail},
		{"ErrSymbolOnlyLabelLooksASCII", "ada@ˊ.com", "", auth.EInvalidEmail},
		{"OKCyrillicExampleRF", "ada@пример.рф", "ada@xn--e1afmkfd.xn--p1ai", ""},
		{"OKGreekDomain", "ada@ελληνικά.gr", "ada@xn--hxargifdar.gr", ""},
		{"OKJapaneseDomain", "ada@例え.jp", "ada@xn--r8jz45g.jp", ""},
		{"OKLatinLabelWithASCIISkeleton", "ada@ıı.com", "ada@xn--cfaa.com", ""},
		{"ErrLeadingHyphenLabel", "ada@-example.com", "", auth.EInvalidEmail},
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
	for _, s := range []string{"a@b.co", "A@B.CO", "", "@", "a@@b.co", "\"q\"@b.co", "a@Bücher.de", "a@pаypal.com", "a@xn--bcher-kva.de", "a@аррӏе.com", "раураӏ@b.co", "a@пример.рф"} {
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
		// The domain is always ASCII (punycode), with no invisible or
		// format character anywhere.
		domain := got[strings.LastIndexByte(got, '@')+1:]
		for _, r := range domain {
			if r >= 0x80 {
				t.Fatalf("NormalizeEmail(%q) = %q: domain is not ASCII", s, got)
			}
		}
		for _, r := range got {
			if unicode.Is(unicode.Cf, r) || !utf8.ValidRune(r) {
				t.Fatalf("NormalizeEmail(%q) = %q holds a format character", s, got)
			}
		}
		// No domain label is a whole-script confusable with Latin: a
		// label with no Latin letter but a non-ASCII one never has an
		// all-ASCII UTS 39 skeleton.
		uni, err := idna.Lookup.ToUnicode(domain)
		if err != nil {
			t.Fatalf("NormalizeEmail(%q) = %q: domain %v", s, got, err)
		}
		for _, label := range strings.Split(uni, ".") {
			if isASCII(label) || strings.IndexFunc(label, func(r rune) bool { return unicode.Is(unicode.Latin, r) }) >= 0 {
				continue
			}
			if isASCII(confusables.Skeleton(label)) {
				t.Fatalf("NormalizeEmail(%q) = %q: label %q looks like Latin %q", s, got, label, confusables.Skeleton(label))
			}
		}
		if again, err := auth.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
