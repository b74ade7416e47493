// Package provider holds what the delivery provider packages
// (internal/twilio, internal/sendgrid, internal/smshook) share: checking a
// base URL override, choosing a call timeout and reading Retry-After.
package provider

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParseBaseURL checks a provider base URL override (TWILIO_BASE_URL,
// SENDGRID_BASE_URL): an http or https URL with a host and no user info,
// query or fragment. Plain http://127.0.0.1:PORT is accepted for test
// servers. A path prefix is kept, without its trailing slash.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("host is missing")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not have user info, query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Timeout returns the per-call timeout: configured if positive, else the
// HTTP client's own timeout if it has one, else def. A negative configured
// value is an error.
func Timeout(configured time.Duration, hc *http.Client, def time.Duration) (time.Duration, error) {
	switch {
	case configured < 0:
		return 0, errors.New("timeout must not be negative")
	case configured > 0:
		return configured, nil
	case hc != nil && hc.Timeout > 0:
		return hc.Timeout, nil
	}
	return def, nil
}

// RetryAfter parses a Retry-After value (seconds or an HTTP date, relative
// to now), capped at an hour; 0 when empty, unparsable or past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}
