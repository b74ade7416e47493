package auth

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
)

// NormalizePhone parses a phone number written with a leading "+" and a
// country code (spaces, dots, dashes and parentheses allowed) and returns it
// in E.164. Invalid or impossible numbers return EInvalidPhone.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "phone_number is required."}
	}
	if !strings.HasPrefix(s, "+") || len(s) > 32 {
		return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "Phone number format is invalid. Ensure the phone number is in the E.164 format."}
	}
	for _, r := range s[1:] {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune(" .-()", r) {
			return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "Phone number format is invalid. Ensure the phone number is in the E.164 format."}
		}
	}
	if s == SandboxPhone {
		return s, nil
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "Phone number format is invalid. Ensure the phone number is in the E.164 format."}
	}
	// phonenumbers.IsValidNumber, with the region kept (phonecache.go).
	region := phonenumbers.GetRegionCodeForNumber(n)
	if !phonenumbers.IsValidNumberForRegion(n, region) {
		return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "Phone number format is invalid. Ensure the phone number is in the E.164 format."}
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	rememberPhone(e164, factsOfParsed(n, region))
	return e164, nil
}

// PhoneRegion returns the ISO 3166 region of an E.164 number ("US", "GB"),
// or "" if unknown.
func PhoneRegion(e164 string) string {
	f, _ := factsOf(e164)
	return f.region
}

// NormalizeEmail validates a bare email address (no display name) and
// returns its one canonical form, so that addresses that look alike are one
// user (README, "Input limits and email policy"):
//   - invalid UTF-8, control characters, non-ASCII spaces and invisible or
//     bidirectional-control (Unicode format, Cf) characters are refused;
//   - the local part is lower-cased; the domain goes through IDNA's lookup
//     profile (UTS 46: width and case mapping, NFC, validity, bidi rules)
//     and is stored in its ASCII (punycode) form, so "bücher.de" and
//     "xn--bcher-kva.de" are one address; a domain IDNA refuses is refused;
//   - the local part and each domain label may use one script (plus
//     Common and Inherited characters such as digits and "-"), or Latin
//     with Han and Japanese kana, Han and Bopomofo, or Han and Hangul (UTS 39
//     "highly restrictive"): "pаypal.com" with a Cyrillic "а" is refused;
//   - a local part or domain label written entirely in one non-Latin
//     script whose UTS 39 skeleton is all ASCII (a whole-script
//     confusable with Latin, such as Cyrillic "аррӏе" or "раураl") is
//     refused; genuine non-Latin names ("пример.рф", "例え.jp") are not.
//
// The result is always ASCII in its domain, and NormalizeEmail of a result
// returns it unchanged.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := &Error{Code: EInvalidEmail, Field: "email", Message: "Email format is invalid."}
	if s == "" {
		return "", &Error{Code: EInvalidEmail, Field: "email", Message: "email is required."}
	}
	if len(s) > 254 || strings.ContainsAny(s, " <>\"\r\n\t\x00") || !utf8.ValidString(s) {
		return "", bad
	}
	for _, r := range s {
		// Invisible and bidirectional-control characters (format, Cf),
		// other controls and non-ASCII spaces would make two addresses
		// that look the same become two users.
		if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError {
			return "", &Error{Code: EInvalidEmail, Field: "email", Message: "Email must not contain invisible, control or bidirectional characters."}
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", bad
	}
	local, domain := strings.ToLower(s[:at]), s[at+1:]
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || ascii == "" || !strings.Contains(ascii, ".") {
		return "", &Error{Code: EInvalidEmail, Field: "email", Message: "Email domain is not a valid internationalized domain name."}
	}
	ascii = strings.ToLower(ascii)
	if strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		// IDNA maps an empty punycode label ("xn--") to nothing.
		return "", &Error{Code: EInvalidEmail, Field: "email", Message: "Email domain is not a valid internationalized domain name."}
	}
	uni, err := idna.Lookup.ToUnicode(ascii)
	if err != nil {
		return "", &Error{Code: EInvalidEmail, Field: "email", Message: "Email domain is not a valid internationalized domain name."}
	}
	mixed := &Error{Code: EInvalidEmail, Field: "email", Message: "Email must not mix scripts (such as Latin and Cyrillic) in its local part or in a domain label."}
	if mixedScript(local) {
		return "", mixed
	}
	for _, label := range strings.Split(uni, ".") {
		if mixedScript(label) {
			return "", mixed
		}
	}
	lookalike := &Error{Code: EInvalidEmail, Field: "email", Message: "Email must not use a local part or domain label that looks like a Latin one written in another script (such as Cyrillic \"раураl\")."}
	if wholeScriptLookalike(local) {
		return "", lookalike
	}
	for _, label := range strings.Split(uni, ".") {
		if wholeScriptLookalike(label) {
			return "", lookalike
		}
	}
	out := local + "@" + ascii
	if len(out) > 254 {
		return "", bad
	}
	return out, nil
}

// allowedMixes are the script combinations UTS 39's "highly restrictive"
// level allows in one identifier (Latin may join each).
var allowedMixes = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// mixedScript reports whether s uses letters of more than one script in a
// way allowedMixes does not allow. Common and Inherited characters (digits,
// punctuation, combining marks) belong to every script.
func mixedScript(s string) bool {
	scripts := scriptsOf(s)
	if len(scripts) <= 1 {
		return false
	}
	for _, mix := range allowedMixes {
		ok := true
		for name := range scripts {
			if !slices.Contains(mix, name) {
				ok = false
				break
			}
		}
		if ok {
			return false
		}
	}
	return true
}

// wholeScriptLookalike reports whether s (lower-cased) is a whole-script
// confusable with Latin: it has a non-ASCII character and no Latin letter
// (letters of one other script, or only symbols such as "ˊ"), and its UTS 39
// §4 skeleton (github.com/mtibben/confusables, built from Unicode's
// confusables.txt) is all ASCII, so it reads as an ASCII name: Cyrillic
// "раураl" is "paypal". A label with a letter that has no ASCII lookalike
// ("пример", whose "и" has none) is a genuine non-Latin name.
func wholeScriptLookalike(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || scriptsOf(s)["Latin"] {
		return false
	}
	sk := confusables.Skeleton(s)
	for i := 0; i < len(sk); i++ {
		if sk[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// scriptsOf returns the scripts of the letters of s; Common and Inherited
// characters (digits, punctuation, combining marks) count for none.
func scriptsOf(s string) map[string]bool {
	scripts := map[string]bool{}
	for _, r := range s {
		if r < utf8.RuneSelf {
			if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
				scripts["Latin"] = true
			}
			continue
		}
		for name, table := range unicode.Scripts {
			if name == "Common" || name == "Inherited" {
				continue
			}
			if unicode.Is(table, r) {
				scripts[name] = true
				break
			}
		}
	}
	return scripts
}

// Sandbox values of test projects, as Stytch documents them: they
// authenticate with SandboxCode and nothing is ever sent to them.
const (
	SandboxPhone = "+10000000000"
	SandboxEmail = "sandbox@stytch.com"
	SandboxCode  = "000000"
)
