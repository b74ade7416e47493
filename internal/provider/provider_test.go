package provider_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/provider"
)

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"OKHTTPS", "https://api.twilio.com", "https://api.twilio.com", false},
		{"OKLoopbackHTTP", "http://127.0.0.1:4010", "http://127.0.0.1:4010", false},
		{"OKPathPrefixTrailingSlashDropped", "https://proxy.example.com/twilio/", "https://proxy.example.com/twilio", false},
		{"ErrScheme", "ftp://example.com", "", true},
		{"ErrNoHost", "https://", "", true},
		{"ErrUserInfo", "https://user:pw@example.com", "", true},
		{"ErrQuery", "https://example.com?x=1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := provider.ParseBaseURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && u.String() != tt.want {
				t.Fatalf("got %s, want %s", u, tt.want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	tests := []struct {
		name       string
		configured time.Duration
		hc         *http.Client
		want       time.Duration
		wantErr    bool
	}{
		{"OKConfiguredWins", 3 * time.Second, &http.Client{Timeout: time.Second}, 3 * time.Second, false},
		{"OKClientTimeout", 0, &http.Client{Timeout: time.Second}, time.Second, false},
		{"OKDefault", 0, nil, 10 * time.Second, false},
		{"ErrNegative", -time.Second, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provider.Timeout(tt.configured, tt.hc, 10*time.Second)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Timeout = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{"OKSeconds", "7", 7 * time.Second},
		{"OKAbsentIsZero", "", 0},
		{"OKCappedAtAnHour", "86400", time.Hour},
		{"OKNegativeIsZero", "-5", 0},
		{"OKPastDateIsZero", "Mon, 02 Jan 2006 15:04:05 GMT", 0},
		{"OKFutureDate", "Sat, 02 Jan 2027 00:00:10 GMT", 10 * time.Second},
		{"OKGarbageIsZero", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
			if got := provider.RetryAfter(tt.v, now); got != tt.want {
				t.Fatalf("RetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}
