package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-auth/sesame/internal/auth"
)

// CountryRegions is the fixed allow-list of phone regions (ISO 3166-1
// alpha-2, as auth.PhoneRegion returns them) that get their own country
// label on sesame_otp_country_total. Every other region, and an unparsable
// number, is counted as "other", so the series stay bounded: at most
// (len(CountryRegions)+2) countries × 3 channels × 2 stages.
var CountryRegions = []string{
	"US", "CA", "MX", "BR", "AR", "CO", "CL", "PE",
	"GB", "IE", "FR", "DE", "NL", "BE", "LU", "CH", "AT", "ES", "PT", "IT",
	"SE", "NO", "DK", "FI", "PL", "CZ", "RO", "GR", "UA", "RU", "TR",
	"IL", "SA", "AE", "EG", "MA", "NG", "KE", "ZA",
	"IN", "PK", "BD", "ID", "PH", "VN", "TH", "MY", "SG", "CN", "HK", "TW", "JP", "KR",
	"AU", "NZ",
}

var countryAllowed = func() map[string]bool {
	m := make(map[string]bool, len(CountryRegions))
	for _, r := range CountryRegions {
		m[r] = true
	}
	return m
}()

// countryLabel bounds a region to CountryRegions, "other", or "none" for a
// channel that has no country (email).
func countryLabel(ch auth.Channel, region string) string {
	switch {
	case !ch.IsPhone():
		return "none"
	case countryAllowed[region]:
		return region
	default:
		return "other"
	}
}

func newCountryCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sesame_otp_country_total",
		Help: "One-time codes by channel, phone country (ISO region from a fixed allow-list, \"other\", or \"none\" for email) and stage (sent: accepted for delivery; verified: authenticated). verified/sent is the conversion.",
	}, []string{"channel", "country", "stage"})
}

// OTPCountry counts a code sent or verified (stage "sent" or "verified") on a
// channel, with the recipient's phone region bounded by CountryRegions
// (auth.Metrics).
func (r *Registry) OTPCountry(ch auth.Channel, region, stage string) {
	if stage != "sent" && stage != "verified" {
		stage = "other"
	}
	r.otpCountry.WithLabelValues(string(ch), countryLabel(ch, region), stage).Inc()
}
