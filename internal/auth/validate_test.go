package auth_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestCheckLocale(t *testing.T) {
	tests := []struct {
		locale string
		ok     bool
	}{
		{"", true}, {"en", true}, {"pt-BR", true}, {"zh-Hant-TW", true}, {"sw", true},
		{"en_US", true}, // x/text accepts "_" as "-", as render.MatchLocale does
		{"not a locale", false}, {"<script>", false}, {"e", false},
		{"en-" + "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd", false},
	}
	for _, tt := range tests {
		if err := auth.CheckLocale(tt.locale); (err == nil) != tt.ok {
			t.Errorf("CheckLocale(%q) = %v, want ok=%v", tt.locale, err, tt.ok)
		} else if err != nil && auth.ErrorCode(err) != auth.EInvalid {
			t.Errorf("CheckLocale(%q) code = %v, want EInvalid", tt.locale, auth.ErrorCode(err))
		}
	}
}

func TestCheckIPAddress(t *testing.T) {
	tests := []struct {
		ip string
		ok bool
	}{
		{"", true}, {"203.0.113.7", true}, {"2001:db8::1", true}, {"::ffff:192.0.2.1", true},
		{"203.0.113.256", false}, {"localhost", false}, {"1.2.3.4; DROP", false}, {"fe80::1%eth0", false}, {"01.2.3.4", false},
	}
	for _, tt := range tests {
		if err := auth.CheckIPAddress(tt.ip); (err == nil) != tt.ok {
			t.Errorf("CheckIPAddress(%q) = %v, want ok=%v", tt.ip, err, tt.ok)
		}
	}
}
