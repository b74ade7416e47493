package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// This file holds the send limits: per recipient, per client IP, and for
// SMS and WhatsApp per country calling code and per number prefix. Each is
// a GCRA limit kept in the store, so every api replica shares it; see
// Rate for the guarantee. The SMS-pumping guard is in pumping.go.

// Rate is a limit of Limit events per Window, of which up to Burst may
// come at once (0: all of Limit). It is enforced with GCRA: one event per
// Window/(Limit-Burst+1) on average, with a burst tolerance of Burst-1 such
// intervals, so that no interval of length Window ever holds more than
// Limit events (a fixed window lets up to 2×Limit through across its
// edge). The smaller the burst, the higher the sustained rate: with the
// whole Limit as burst, a subject that used it all gets one more event per
// Window. A Limit of 0 or less is no limit.
type Rate struct {
	Limit  int
	Window time.Duration
	Burst  int
}

// On reports whether the rate limits anything.
func (r Rate) On() bool { return r.Limit > 0 && r.Window > 0 }

// burst is the effective burst: 1..Limit.
func (r Rate) burst() int {
	b := r.Burst
	if b <= 0 {
		b = r.Limit
	}
	return min(max(b, 1), r.Limit)
}

// GCRA returns the emission interval and burst tolerance of the rate.
// The interval is rounded up, so rounding never lets more through.
func (r Rate) GCRA() (emission, tolerance time.Duration) {
	b := r.burst()
	slots := time.Duration(r.Limit - b + 1)
	emission = max((r.Window+slots-1)/slots, time.Microsecond)
	if time.Duration(b-1) > maxTolerance/emission {
		return emission, maxTolerance // a huge limit: never refuses in practice
	}
	return emission, time.Duration(b-1) * emission
}

// maxTolerance caps a GCRA tolerance, so huge limits do not overflow.
const maxTolerance = 100 * 365 * 24 * time.Hour

func (r Rate) key(key, name string) LimitKey {
	e, t := r.GCRA()
	return LimitKey{Key: key, Name: name, Emission: e, Tolerance: t}
}

// LimitKey is one GCRA limit a request must conform to.
type LimitKey struct {
	// Key names the limited subject, project id included.
	Key string
	// Name is the limit's name in metrics ("send_per_recipient", ...).
	Name string
	// Emission is the interval one event moves the key's TAT by;
	// Tolerance how far ahead of now the TAT may be for an event to pass.
	Emission  time.Duration
	Tolerance time.Duration
}

// LimitStore keeps GCRA limit states shared by every api replica.
type LimitStore interface {
	// HitLimits checks keys in order, in one statement. The first key that
	// does not conform refuses the request and then no key is changed. It
	// returns that key's index (-1 when the request conforms) and how long
	// until it conforms again.
	HitLimits(ctx context.Context, keys []LimitKey) (denied int, retryAfter time.Duration, err error)
}

// AbuseConfig configures the SMS velocity limits and the SMS-pumping
// guard, service-wide. Zero fields take their documented defaults.
type AbuseConfig struct {
	// PrefixDigits is how many digits after "+" make a number prefix, for
	// the per-prefix limit and the pumping guard (4..9). Default 6
	// (+447700, +141555).
	PrefixDigits int
	// PerCountry limits SMS and WhatsApp sends per country calling code
	// in a project. Default 3000 per hour, 1000 of them at once (so about
	// 2000 an hour sustained). Limit -1: off.
	PerCountry Rate
	// PerPrefix limits SMS and WhatsApp sends per number prefix in a
	// project. Default 300 per hour, 100 of them at once (about 200 an
	// hour sustained). Limit -1: off.
	PerPrefix Rate
	// Pumping configures the SMS-pumping guard (pumping.go).
	Pumping PumpingConfig
}

// DefaultAbuseConfig returns the documented defaults.
func DefaultAbuseConfig() AbuseConfig { return AbuseConfig{}.withDefaults() }

func (c AbuseConfig) withDefaults() AbuseConfig {
	if c.PrefixDigits == 0 {
		c.PrefixDigits = 6
	}
	c.PrefixDigits = min(max(c.PrefixDigits, 4), 9)
	if c.PerCountry.Limit == 0 {
		c.PerCountry = Rate{Limit: 3000, Window: time.Hour, Burst: 1000}
	}
	if c.PerCountry.Window <= 0 {
		c.PerCountry.Window = time.Hour
	}
	if c.PerPrefix.Limit == 0 {
		c.PerPrefix = Rate{Limit: 300, Window: time.Hour, Burst: 100}
	}
	if c.PerPrefix.Window <= 0 {
		c.PerPrefix.Window = time.Hour
	}
	c.Pumping = c.Pumping.withDefaults()
	return c
}

// rateLimited is the 429 every send limit answers, with its Retry-After.
func rateLimited(wait time.Duration) *Error {
	return &Error{Code: ERateLimited, Message: "Too many requests have been made.", RetryAfter: max(wait, time.Second)}
}

// RetryAfter returns how long the client should wait before retrying
// err (0 when err says nothing about it).
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RetryAfterSeconds is RetryAfter as the value of a Retry-After header:
// whole seconds, rounded up; "" when there is none.
func RetryAfterSeconds(err error) string {
	d := RetryAfter(err)
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// isPhoneValue reports whether a normalized recipient is a phone number.
func isPhoneValue(v string) bool { return strings.HasPrefix(v, "+") }

// CallingCode returns "+" and the country calling code of an E.164
// number ("+44"), or "" when it has none.
func CallingCode(e164 string) string {
	f, _ := factsOf(e164)
	return f.callingCode
}

// NumberPrefix returns the first digits of an E.164 number with its "+"
// ("+447700" for 6 digits), or "" when the number is shorter.
func NumberPrefix(e164 string, digits int) string {
	if len(e164) < digits+2 || e164[0] != '+' || !allDigits(e164[1:digits+1]) {
		return ""
	}
	return e164[:digits+1]
}

// sendLimitKeys returns the limits a send to a recipient counts against,
// in order: per recipient and per client IP (SendLimits of the project),
// and for a phone number per number prefix and per country calling code
// (Config.Abuse); and the number's calling code and prefix ("" for an
// email).
func (s *Service) sendLimitKeys(ctx context.Context, p *Project, value string) (keys []LimitKey, cc, prefix string) {
	l := s.sendLimits(p)
	keys = make([]LimitKey, 0, 4)
	if r := (Rate{Limit: l.PerRecipient, Window: l.Window}); r.On() {
		keys = append(keys, r.key("send:"+p.ID+":"+value, "send_per_recipient"))
	}
	if r := (Rate{Limit: l.PerIP, Window: l.Window}); r.On() {
		if ip := clientIP(ctx); ip != "" {
			keys = append(keys, r.key("send-ip:"+p.ID+":"+ip, "send_per_ip"))
		}
	}
	a := s.cfg.Abuse
	if isPhoneValue(value) {
		cc, prefix = CallingCode(value), NumberPrefix(value, a.PrefixDigits)
		if prefix != "" && a.PerPrefix.On() {
			keys = append(keys, a.PerPrefix.key("send-prefix:"+p.ID+":"+prefix, "send_per_prefix"))
		}
		if cc != "" && a.PerCountry.On() {
			keys = append(keys, a.PerCountry.key("send-country:"+p.ID+":"+cc, "send_per_country"))
		}
	}
	return keys, cc, prefix
}

// checkSendLimit counts a send to a recipient against its limits
// (sendLimitKeys), in one statement; a phone send then passes the
// SMS-pumping guard (one more statement). A refusal is ERateLimited with
// RetryAfter set, and counts nothing. The consumer sends do all this in
// their one round trip instead (sendOnce); the B2B sends still use it.
func (s *Service) checkSendLimit(ctx context.Context, p *Project, value string) error {
	keys, cc, prefix := s.sendLimitKeys(ctx, p, value)
	i, wait, err := s.store.HitLimits(ctx, keys)
	if err != nil {
		return err
	}
	if i >= 0 && i < len(keys) {
		s.metrics.RateLimited(keys[i].Name)
		return rateLimited(wait)
	}
	if isPhoneValue(value) {
		return s.checkPumping(ctx, p, value, cc, prefix)
	}
	return nil
}

// verifyLimitKeys returns the limits a code check on methodID counts
// against, in order: per method and per client IP (VerifyLimits of the
// project). The store checks them in the statement batch that counts the
// attempt (VerifyCodeInput.Limits, AttemptChallenge), so they cost no
// round trip, and a refused check counts no attempt and consumes nothing.
func (s *Service) verifyLimitKeys(ctx context.Context, p *Project, methodID string) []LimitKey {
	l := s.verifyLimits(p)
	var keys []LimitKey
	if r := (Rate{Limit: l.PerMethod, Window: l.Window}); r.On() {
		keys = append(keys, r.key("verify:"+p.ID+":"+methodID, "verify_per_method"))
	}
	if r := (Rate{Limit: l.PerIP, Window: l.Window}); r.On() {
		if ip := clientIP(ctx); ip != "" {
			keys = append(keys, r.key("verify-ip:"+p.ID+":"+ip, "verify_per_ip"))
		}
	}
	return keys
}

// LimitRefusal is a store's refusal of a request by one of the limits it
// was given (LimitKey): Index is the refusing key's, RetryAfter how long
// until it conforms again. Nothing the request would have written was.
type LimitRefusal struct {
	Index      int
	RetryAfter time.Duration
}

func (e *LimitRefusal) Error() string {
	return "refused by limit " + strconv.Itoa(e.Index) + ", retry after " + e.RetryAfter.String()
}

// limitRefused turns a store's LimitRefusal of keys into the 429
// (ERateLimited with RetryAfter), counting the refusing limit's metric;
// any other error is returned as is.
func (s *Service) limitRefused(err error, keys []LimitKey) error {
	var r *LimitRefusal
	if !errors.As(err, &r) {
		return err
	}
	name := "limit"
	if r.Index >= 0 && r.Index < len(keys) {
		name = keys[r.Index].Name
	}
	s.metrics.RateLimited(name)
	return rateLimited(r.RetryAfter)
}

// checkCountry refuses phone numbers outside the SMS allow-list of
// project p: its sms_allowed_countries setting, else
// Config.AllowedCountries (from the in-process settings cache).
func (s *Service) checkCountry(p *Project, number string) error {
	allowed := s.sendLimits(p).AllowedCountries
	if len(allowed) == 0 {
		return nil
	}
	region := PhoneRegion(number)
	for _, c := range allowed {
		if strings.EqualFold(c, region) {
			return nil
		}
	}
	s.metrics.RateLimited("country_not_allowed")
	return &Error{Code: ECountryNotAllowed, Field: "phone_number", Message: "Codes cannot be sent to phone numbers of this country."}
}

// AbuseConfigFromEnv reads the abuse limits from the environment (the api
// main's configuration), each optional:
//
//	SMS_LIMIT_PER_COUNTRY  sends per hour per country calling code (default 3000; 0: off)
//	SMS_LIMIT_PER_PREFIX   sends per hour per number prefix (default 300; 0: off)
//	SMS_PREFIX_DIGITS      digits after "+" in a prefix, 4..9 (default 6)
//	SMS_PUMPING_GUARD      on or off (default on)
//	SMS_PUMPING_WINDOW     the guard's sliding window, 1m..24h (default 1h)
//	SMS_PUMPING_BLOCK_FOR  how long a block lasts unless lifted (default 24h)
//
// A third of a per-hour limit may come at once. The thresholds keep their
// defaults (Config.Abuse sets them in code).
func AbuseConfigFromEnv(getenv func(string) string) (AbuseConfig, error) {
	var c AbuseConfig
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	perHour := func(k string, dst *Rate) error {
		v := env(k)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100_000_000 {
			return errors.New(k + " must be a number of sends per hour (0 turns the limit off)")
		}
		if n == 0 {
			*dst = Rate{Limit: -1}
			return nil
		}
		*dst = Rate{Limit: n, Window: time.Hour, Burst: (n + 2) / 3}
		return nil
	}
	if err := perHour("SMS_LIMIT_PER_COUNTRY", &c.PerCountry); err != nil {
		return c, err
	}
	if err := perHour("SMS_LIMIT_PER_PREFIX", &c.PerPrefix); err != nil {
		return c, err
	}
	if v := env("SMS_PREFIX_DIGITS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 || n > 9 {
			return c, errors.New("SMS_PREFIX_DIGITS must be between 4 and 9")
		}
		c.PrefixDigits = n
	}
	switch strings.ToLower(env("SMS_PUMPING_GUARD")) {
	case "", "on", "true", "1":
	case "off", "false", "0":
		c.Pumping.Off = true
	default:
		return c, errors.New("SMS_PUMPING_GUARD must be on or off")
	}
	for _, d := range []struct {
		k        string
		dst      *time.Duration
		min, max time.Duration
	}{
		{"SMS_PUMPING_WINDOW", &c.Pumping.Window, time.Minute, 24 * time.Hour},
		{"SMS_PUMPING_BLOCK_FOR", &c.Pumping.BlockFor, time.Minute, 30 * 24 * time.Hour},
	} {
		if v := env(d.k); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < d.min || t > d.max {
				return c, errors.New(d.k + " must be a duration between " + d.min.String() + " and " + d.max.String())
			}
			*d.dst = t
		}
	}
	return c, nil
}
