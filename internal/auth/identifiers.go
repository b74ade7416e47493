package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
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
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", &Error{Code: EInvalidPhone, Field: "phone_number", Message: "Phone number format is invalid. Ensure the phone number is in the E.164 format."}
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// PhoneRegion returns the ISO 3166 region of an E.164 number ("US", "GB"),
// or "" if unknown.
func PhoneRegion(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(n)
}

// NormalizeEmail validates a bare email address (no display name) and
// returns it lower-cased, so that addresses are unique per project
// regardless of case. Invalid UTF-8, control characters, non-ASCII spaces
// and invisible or bidirectional-control (Unicode format) characters are
// refused, so two addresses that render alike cannot become two users.
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
	return strings.ToLower(s), nil
}

// Sandbox values of test projects, as Stytch documents them: they
// authenticate with SandboxCode and nothing is ever sent to them.
const (
	SandboxPhone = "+10000000000"
	SandboxEmail = "sandbox@stytch.com"
	SandboxCode  = "000000"
)
