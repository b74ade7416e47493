package auth

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// Settings are a project's own settings. Every field is optional: a zero
// (or null) field follows the service-wide Config, which the api fills
// from the environment (MAGIC_LINK_LOGIN_URL, SEND_LIMIT,
// SMS_ALLOWED_COUNTRIES, ...), so those variables are the defaults of
// every project that does not set its own value.
type Settings struct {
	// RedirectURLs are the URLs a magic link, invite or discovery link
	// may point at. Null: any http, https or app-scheme URL is accepted
	// (as before projects had settings); a list (even empty) restricts
	// every link type to the URLs registered for it.
	RedirectURLs []RedirectURL `json:"redirect_urls"`
	// SMSAllowedCountries lists the ISO 3166 regions SMS and WhatsApp codes
	// may go to. Null: Config.AllowedCountries; [] : every country.
	SMSAllowedCountries []string `json:"sms_allowed_countries"`
	// SendLimit is how many codes or links one recipient may be sent per
	// SendWindowSeconds. 0: Config.SendLimit.
	SendLimit int `json:"send_limit,omitempty"`
	// SendLimitPerIP is how many sends one client IP may request per
	// window. Null: Config.IPSendLimit; 0: no per-IP limit.
	SendLimitPerIP *int `json:"send_limit_per_ip,omitempty"`
	// SendWindowSeconds is the window of both send limits. 0: Config.SendWindow.
	SendWindowSeconds int `json:"send_window_seconds,omitempty"`
	// VerifyLimit is how many codes one method may be checked against
	// per VerifyWindowSeconds, right or wrong, across its challenges (each
	// challenge also dies after MaxOTPAttempts wrong codes). 0:
	// Config.VerifyLimit (VERIFY_LIMIT).
	VerifyLimit int `json:"verify_limit,omitempty"`
	// VerifyLimitPerIP is how many code checks one client IP may make per
	// window. Null: Config.IPVerifyLimit (VERIFY_LIMIT_PER_IP); 0: no
	// per-IP limit.
	VerifyLimitPerIP *int `json:"verify_limit_per_ip,omitempty"`
	// VerifyWindowSeconds is the window of both verify limits. 0:
	// Config.VerifyWindow (VERIFY_WINDOW).
	VerifyWindowSeconds int `json:"verify_window_seconds,omitempty"`
	// Pumping are the project's SMS-pumping thresholds (pumping.go).
	// Null: Config.Abuse.Pumping.
	Pumping *PumpingSettings `json:"sms_pumping,omitempty"`
	// OTPExpirationMinutes is the lifetime of a one-time code whose send
	// request names none (1..10). 0: Config.OTPExpiration (OTP_EXPIRATION,
	// default 2 minutes).
	OTPExpirationMinutes int `json:"otp_expiration_minutes,omitempty"`
	// MagicLinkExpirationMinutes is the lifetime of a login or signup
	// magic link (consumer and B2B) whose send request names none
	// (5..10080). 0: Config.MagicLinkExpiration (MAGIC_LINK_EXPIRATION),
	// else the dialect defaults (login 60, signup 10080, B2B 60).
	MagicLinkExpirationMinutes int `json:"magic_link_expiration_minutes,omitempty"`
	// Messages are the app name, email sender and locales of the
	// project's messages (message_settings.go). Null: the service's.
	Messages *MessageSettings `json:"messages,omitempty"`

	// Session JWTs (signer.go).
	// JWTAlgorithm signs the project's session JWTs: "RS256", "ES256" or
	// "EdDSA" (Ed25519). "": Config.JWTAlgorithm (JWT_ALGORITHM, default
	// RS256, which every Stytch SDK verifies).
	JWTAlgorithm string `json:"jwt_algorithm,omitempty"`
	// JWTLifetimeSeconds is how long a session JWT is valid (60..3600).
	// 0: Config.JWTLifetime (JWT_LIFETIME, default 5 minutes, as Stytch's).
	JWTLifetimeSeconds int `json:"jwt_lifetime_seconds,omitempty"`
}

// RedirectURL is a registered redirect URL and the link types it serves.
type RedirectURL struct {
	URL        string            `json:"url"`
	ValidTypes []RedirectURLType `json:"valid_types"`
}

// RedirectURLType is one link type a redirect URL serves; IsDefault makes
// it the type's landing page when a request names none.
type RedirectURLType struct {
	Type      string `json:"type"`
	IsDefault bool   `json:"is_default"`
}

// Redirect URL types.
const (
	RedirectLogin     = "login"
	RedirectSignup    = "signup"
	RedirectInvite    = "invite"
	RedirectDiscovery = "discovery"
)

var redirectTypes = map[string]bool{RedirectLogin: true, RedirectSignup: true, RedirectInvite: true, RedirectDiscovery: true}

// Bounds of the settings.
const (
	maxRedirectURLs  = 100
	maxSendLimit     = 1_000_000
	maxSendWindowSec = 7 * 24 * 3600
)

// normalize validates s and returns it in canonical form (types lower
// case, countries upper case). Errors name the field.
func (st Settings) normalize() (Settings, error) {
	if st.RedirectURLs != nil {
		if len(st.RedirectURLs) > maxRedirectURLs {
			return st, Invalid("redirect_urls", "redirect_urls may have at most %d entries.", maxRedirectURLs)
		}
		defaults := map[string]bool{}
		out := make([]RedirectURL, 0, len(st.RedirectURLs))
		for _, r := range st.RedirectURLs {
			if r.URL == "" {
				return st, Invalid("redirect_urls.url", "redirect_urls.url is required.")
			}
			if err := checkRedirectURL("redirect_urls.url", r.URL); err != nil {
				return st, err
			}
			if len(r.ValidTypes) == 0 || len(r.ValidTypes) > len(redirectTypes) {
				return st, Invalid("redirect_urls.valid_types", "redirect_urls.valid_types must list 1 to 4 of login, signup, invite, discovery.")
			}
			nr := RedirectURL{URL: r.URL}
			seen := map[string]bool{}
			for _, t := range r.ValidTypes {
				typ := strings.ToLower(t.Type)
				if !redirectTypes[typ] || seen[typ] {
					return st, Invalid("redirect_urls.valid_types.type", "redirect_urls.valid_types.type must be one of login, signup, invite, discovery, each at most once per URL.")
				}
				seen[typ] = true
				if t.IsDefault {
					if defaults[typ] {
						return st, Invalid("redirect_urls.valid_types.is_default", "Only one redirect URL may be the default %s URL.", typ)
					}
					defaults[typ] = true
				}
				nr.ValidTypes = append(nr.ValidTypes, RedirectURLType{Type: typ, IsDefault: t.IsDefault})
			}
			out = append(out, nr)
		}
		st.RedirectURLs = out
	}
	if st.SMSAllowedCountries != nil {
		if len(st.SMSAllowedCountries) > 300 {
			return st, Invalid("sms_allowed_countries", "sms_allowed_countries may have at most 300 entries.")
		}
		out := make([]string, 0, len(st.SMSAllowedCountries))
		for _, c := range st.SMSAllowedCountries {
			c = strings.ToUpper(strings.TrimSpace(c))
			if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
				return st, Invalid("sms_allowed_countries", "sms_allowed_countries must list two-letter ISO 3166 regions such as US.")
			}
			out = append(out, c)
		}
		st.SMSAllowedCountries = out
	}
	if st.SendLimit < 0 || st.SendLimit > maxSendLimit {
		return st, Invalid("send_limit", "send_limit must be between 1 and %d (0 follows the server default).", maxSendLimit)
	}
	if st.SendLimitPerIP != nil && (*st.SendLimitPerIP < 0 || *st.SendLimitPerIP > maxSendLimit) {
		return st, Invalid("send_limit_per_ip", "send_limit_per_ip must be between 0 (off) and %d.", maxSendLimit)
	}
	if st.SendWindowSeconds < 0 || st.SendWindowSeconds > maxSendWindowSec {
		return st, Invalid("send_window_seconds", "send_window_seconds must be between 1 and %d (0 follows the server default).", maxSendWindowSec)
	}
	if st.VerifyLimit < 0 || st.VerifyLimit > maxSendLimit {
		return st, Invalid("verify_limit", "verify_limit must be between 1 and %d (0 follows the server default).", maxSendLimit)
	}
	if st.VerifyLimitPerIP != nil && (*st.VerifyLimitPerIP < 0 || *st.VerifyLimitPerIP > maxSendLimit) {
		return st, Invalid("verify_limit_per_ip", "verify_limit_per_ip must be between 0 (off) and %d.", maxSendLimit)
	}
	if st.VerifyWindowSeconds < 0 || st.VerifyWindowSeconds > maxSendWindowSec {
		return st, Invalid("verify_window_seconds", "verify_window_seconds must be between 1 and %d (0 follows the server default).", maxSendWindowSec)
	}
	if err := st.Pumping.check(); err != nil {
		return st, err
	}
	if m := st.OTPExpirationMinutes; m != 0 && (m < int(MinOTPExpiration/time.Minute) || m > int(MaxOTPExpiration/time.Minute)) {
		return st, &Error{Code: EInvalidExpiration, Field: "otp_expiration_minutes", Message: "otp_expiration_minutes must be between 1 and 10 (0 follows the default)."}
	}
	if m := st.MagicLinkExpirationMinutes; m != 0 && (m < int(MinMagicLinkExpiration/time.Minute) || m > int(MaxMagicLinkExpiration/time.Minute)) {
		return st, &Error{Code: EInvalidExpiration, Field: "magic_link_expiration_minutes", Message: "magic_link_expiration_minutes must be between 5 and 10080 (0 follows the defaults)."}
	}
	var err error
	if st.Messages, err = st.Messages.normalize(); err != nil {
		return st, err
	}
	return st.normalizeJWT()
}

// otpExpiration returns the lifetime of a code whose request names none:
// project p's otp_expiration_minutes, else Config.OTPExpiration.
func (s *Service) otpExpiration(ctx context.Context, p *Project) time.Duration {
	if m := s.projectState(ctx, p.ID).settings.OTPExpirationMinutes; m > 0 {
		return time.Duration(m) * time.Minute
	}
	return s.cfg.OTPExpiration
}

// linkDefault returns the lifetime of a login or signup link whose request
// names none: project p's magic_link_expiration_minutes, else
// Config.MagicLinkExpiration, else def.
func (s *Service) linkDefault(ctx context.Context, p *Project, def time.Duration) time.Duration {
	if m := s.projectState(ctx, p.ID).settings.MagicLinkExpirationMinutes; m > 0 {
		return time.Duration(m) * time.Minute
	}
	if s.cfg.MagicLinkExpiration > 0 {
		return s.cfg.MagicLinkExpiration
	}
	return def
}

// SettingsOf returns the stored settings of project p (from the in-process
// cache; a miss reads the store once).
func (s *Service) SettingsOf(ctx context.Context, p *Project) Settings {
	return s.projectState(ctx, p.ID).settings
}

// projectSendLimits returns the limits of project p: its own settings,
// each unset one falling back to the service-wide Config. It reads the
// in-process cache; only a miss (first use in this process, or after a
// change was notified) reads the store.
func (s *Service) projectSendLimits(p *Project) SendLimits {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st := s.projectState(ctx, p.ID).settings
	l := SendLimits{PerRecipient: s.cfg.SendLimit, PerIP: s.cfg.IPSendLimit, Window: s.cfg.SendWindow, AllowedCountries: s.cfg.AllowedCountries}
	if st.SendLimit > 0 {
		l.PerRecipient = st.SendLimit
	}
	if st.SendLimitPerIP != nil {
		l.PerIP = *st.SendLimitPerIP
	}
	if st.SendWindowSeconds > 0 {
		l.Window = time.Duration(st.SendWindowSeconds) * time.Second
	}
	if st.SMSAllowedCountries != nil {
		l.AllowedCountries = st.SMSAllowedCountries
	}
	return l
}

// checkProjectRedirect checks raw (a redirect URL a request names, field
// being its name) for a link of type typ: the scheme rules of
// checkRedirectURL always, and, when project p registers redirect URLs,
// that raw is one of those registered for typ (query ignored). In dev mode
// (SetDevMode) a localhost URL is accepted too.
func (s *Service) checkProjectRedirect(ctx context.Context, p *Project, typ, field, raw string) error {
	if err := checkRedirectURL(field, raw); err != nil || raw == "" {
		return err
	}
	st := s.projectState(ctx, p.ID).settings
	if st.RedirectURLs == nil {
		return nil
	}
	u, _ := url.Parse(raw) // checkRedirectURL parsed it
	if s.projects.devMode() && (u.Scheme == "http" || u.Scheme == "https") {
		switch h := u.Hostname(); h {
		case "localhost", "127.0.0.1", "::1":
			return nil
		}
	}
	for _, r := range st.RedirectURLs {
		if !sameRedirect(r.URL, u) {
			continue
		}
		for _, t := range r.ValidTypes {
			if t.Type == typ {
				return nil
			}
		}
	}
	return Invalid(field, "%s is not a redirect URL registered for %s links in this project.", field, typ)
}

// sameRedirect compares a registered URL with a requested one: scheme and
// host case-insensitively, path and port exactly; the query and fragment
// of the request are free.
func sameRedirect(registered string, u *url.URL) bool {
	r, err := url.Parse(registered)
	if err != nil {
		return false
	}
	rp, up := strings.TrimSuffix(r.EscapedPath(), "/"), strings.TrimSuffix(u.EscapedPath(), "/")
	return strings.EqualFold(r.Scheme, u.Scheme) && strings.EqualFold(r.Host, u.Host) && rp == up && r.Opaque == u.Opaque
}

// defaultRedirect returns project p's default landing URL for links of
// type typ: the registered URL marked is_default for typ, else the
// service-wide default (Config.DefaultLoginURL for login and discovery,
// Config.DefaultSignupURL for signup and invite), else "" (the PublicURL
// landing page).
func (s *Service) defaultRedirect(ctx context.Context, p *Project, typ string) string {
	for _, r := range s.projectState(ctx, p.ID).settings.RedirectURLs {
		for _, t := range r.ValidTypes {
			if t.Type == typ && t.IsDefault {
				return r.URL
			}
		}
	}
	if typ == RedirectSignup || typ == RedirectInvite {
		return s.cfg.DefaultSignupURL
	}
	return s.cfg.DefaultLoginURL
}
