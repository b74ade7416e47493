package auth

import (
	"net/netip"

	"golang.org/x/text/language"
)

// MaxLocaleBytes bounds a locale tag. Default 35: RFC 5646 §4.4.1's
// recommended minimum buffer for a tag, longer than any real one.
const MaxLocaleBytes = 35

// CheckLocale refuses a locale that is not a well-formed BCP 47 tag
// (RFC 5646, parsed by golang.org/x/text/language) or is longer than
// MaxLocaleBytes; "" means the default. A well-formed tag the renderer has
// no catalog for ("sw", "zh-Hant-TW") is accepted and rendered in the
// closest supported language (render.MatchLocale falls back to English).
func CheckLocale(locale string) error {
	if locale == "" {
		return nil
	}
	if len(locale) > MaxLocaleBytes {
		return &Error{Code: EInvalid, Field: "locale", Message: "locale must be a BCP 47 language tag of at most 35 characters."}
	}
	if _, err := language.Parse(locale); err != nil {
		return &Error{Code: EInvalid, Field: "locale", Message: "locale must be a well-formed BCP 47 language tag (e.g. en, pt-BR)."}
	}
	return nil
}

// CheckIPAddress refuses an ip_address that is not an IPv4 or IPv6 address
// (net/netip.ParseAddr; zones refused); "" means none.
func CheckIPAddress(ip string) error {
	if ip == "" {
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return &Error{Code: EInvalid, Field: "attributes.ip_address", Message: "attributes.ip_address must be an IPv4 or IPv6 address."}
	}
	return nil
}

// CheckAttributes validates the client attributes a request carries.
func CheckAttributes(a Attributes) error { return CheckIPAddress(a.IPAddress) }
