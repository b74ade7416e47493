package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/api/webhooks"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/nats"
)

// config is the api's configuration, read from the environment (flags
// mirror the most used ones).
type config struct {
	Dev            bool
	Command        string   // "" (serve), "migrate" or "projects"
	CommandArgs    []string // the arguments after "projects"
	AdminKey       string   // ADMIN_API_KEY: the admin API's credential; "" turns it off
	DatabaseURL    string
	NATSURL        string
	HTTPAddr       string
	PublicURL      string
	SecretKeys     string
	BootstrapID    string
	BootstrapKey   string
	LoginURL       string
	SignupURL      string
	TrustProxy     bool
	SendLimit      int
	SendWindow     time.Duration
	IPSendLimit    int
	VerifyLimit    int              // VERIFY_LIMIT: code checks per method per VerifyWindow; 0 off
	VerifyWindow   time.Duration    // VERIFY_WINDOW
	IPVerifyLimit  int              // VERIFY_LIMIT_PER_IP: code checks per client IP per VerifyWindow; 0 off
	OTPExpiration  time.Duration    // OTP_EXPIRATION
	LinkExpiration time.Duration    // MAGIC_LINK_EXPIRATION; 0: the dialect defaults
	JWTAlgorithm   string           // JWT_ALGORITHM: RS256, ES256 or EdDSA
	JWTLifetime    time.Duration    // JWT_LIFETIME
	Abuse          auth.AbuseConfig // SMS_LIMIT_PER_*, SMS_PREFIX_DIGITS, SMS_PUMPING_*
	Countries      []string
	Stream         nats.StreamOptions
	DataDir        string
	LogLevel       string
	SMSProvider    string
	EmailProvider  string
	AppName        string
	// Delivery report webhooks (/v1/webhooks/...); empty disables each.
	TwilioAuthToken    string
	SendGridWebhookKey string
}

const (
	defaultHTTPAddr = ":8080"
	defaultDevDB    = "postgres://postgres@127.0.0.1:5432/sesame?sslmode=disable"
	defaultNATSURL  = "nats://127.0.0.1:4222"
)

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := &config{}
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.Dev, "dev", false, "run the whole system in one process: embedded NATS, both workers, console delivery, bootstrap project")
	fs.StringVar(&c.HTTPAddr, "http-addr", env("HTTP_ADDR", defaultHTTPAddr), "listen address (HTTP_ADDR)")
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("DATABASE_URL"), "Postgres DSN (DATABASE_URL)")
	fs.StringVar(&c.NATSURL, "nats-url", getenv("NATS_URL"), "NATS server URL(s) (NATS_URL)")
	fs.StringVar(&c.DataDir, "data-dir", env("SESAME_DATA_DIR", ".dev"), "dev mode state: NATS store, generated keys and credentials (SESAME_DATA_DIR)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: api [-dev] [flags] [migrate | projects ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == "migrate":
		c.Command = "migrate"
	case rest[0] == "projects":
		c.Command, c.CommandArgs = "projects", rest[1:]
	default:
		return nil, fmt.Errorf("unknown command %q (want: migrate or projects)", strings.Join(rest, " "))
	}
	c.PublicURL = strings.TrimRight(env("PUBLIC_URL", ""), "/")
	c.SecretKeys = getenv("SECRET_KEYS")
	c.BootstrapID = getenv("BOOTSTRAP_PROJECT_ID")
	c.BootstrapKey = getenv("BOOTSTRAP_PROJECT_SECRET")
	c.AdminKey = strings.TrimSpace(getenv("ADMIN_API_KEY"))
	if c.AdminKey != "" && (len(c.AdminKey) < 32 || len(c.AdminKey) > 512) {
		return nil, errors.New("ADMIN_API_KEY must be 32 to 512 characters (generate one with: openssl rand -hex 32)")
	}
	c.LoginURL = getenv("MAGIC_LINK_LOGIN_URL")
	c.SignupURL = getenv("MAGIC_LINK_SIGNUP_URL")
	c.LogLevel = env("LOG_LEVEL", "info")
	c.SMSProvider = env("SMS_PROVIDER", "console")
	c.EmailProvider = env("EMAIL_PROVIDER", "console")
	c.AppName = env("APP_NAME", "Sesame")
	c.TwilioAuthToken = strings.TrimSpace(getenv("TWILIO_AUTH_TOKEN"))
	c.SendGridWebhookKey = strings.TrimSpace(getenv("SENDGRID_WEBHOOK_VERIFICATION_KEY"))
	if c.SendGridWebhookKey != "" {
		if _, err := webhooks.ParseVerificationKey(c.SendGridWebhookKey); err != nil {
			return nil, fmt.Errorf("SENDGRID_WEBHOOK_VERIFICATION_KEY: %w", err)
		}
	}
	var err error
	if c.TrustProxy, err = strconv.ParseBool(env("TRUST_PROXY", "false")); err != nil {
		return nil, fmt.Errorf("TRUST_PROXY: %w", err)
	}
	if c.SendLimit, err = strconv.Atoi(env("SEND_LIMIT", "5")); err != nil || c.SendLimit < 1 {
		return nil, errors.New("SEND_LIMIT must be a positive integer")
	}
	if c.SendWindow, err = time.ParseDuration(env("SEND_WINDOW", "10m")); err != nil || c.SendWindow <= 0 {
		return nil, errors.New("SEND_WINDOW must be a positive duration such as 10m")
	}
	if c.Stream, err = nats.StreamOptionsFromEnv(getenv); err != nil {
		return nil, err
	}
	if c.IPSendLimit, err = strconv.Atoi(env("SEND_LIMIT_PER_IP", "0")); err != nil || c.IPSendLimit < 0 {
		return nil, errors.New("SEND_LIMIT_PER_IP must be 0 (off) or a positive integer")
	}
	if c.VerifyLimit, err = strconv.Atoi(env("VERIFY_LIMIT", strconv.Itoa(auth.DefaultVerifyLimit))); err != nil || c.VerifyLimit < 0 {
		return nil, errors.New("VERIFY_LIMIT must be 0 (off) or a positive integer")
	}
	if c.VerifyWindow, err = time.ParseDuration(env("VERIFY_WINDOW", auth.DefaultVerifyWindow.String())); err != nil || c.VerifyWindow <= 0 {
		return nil, errors.New("VERIFY_WINDOW must be a positive duration such as 10m")
	}
	if c.IPVerifyLimit, err = strconv.Atoi(env("VERIFY_LIMIT_PER_IP", "0")); err != nil || c.IPVerifyLimit < 0 {
		return nil, errors.New("VERIFY_LIMIT_PER_IP must be 0 (off) or a positive integer")
	}
	if c.OTPExpiration, err = time.ParseDuration(env("OTP_EXPIRATION", auth.DefaultOTPExpiration.String())); err != nil ||
		c.OTPExpiration < auth.MinOTPExpiration || c.OTPExpiration > auth.MaxOTPExpiration || c.OTPExpiration%time.Minute != 0 {
		return nil, errors.New("OTP_EXPIRATION must be a whole number of minutes between 1m and 10m, such as 2m")
	}
	if v := env("MAGIC_LINK_EXPIRATION", ""); v != "" {
		if c.LinkExpiration, err = time.ParseDuration(v); err != nil || c.LinkExpiration < auth.MinMagicLinkExpiration ||
			c.LinkExpiration > auth.MaxMagicLinkExpiration || c.LinkExpiration%time.Minute != 0 {
			return nil, errors.New("MAGIC_LINK_EXPIRATION must be a whole number of minutes between 5m and 168h, such as 1h")
		}
	}
	if c.JWTAlgorithm, err = auth.ParseJWTAlgorithm(env("JWT_ALGORITHM", auth.JWTRS256)); err != nil {
		return nil, errors.New("JWT_ALGORITHM must be RS256, ES256 or EdDSA")
	}
	if c.JWTLifetime, err = time.ParseDuration(env("JWT_LIFETIME", auth.JWTLifetime.String())); err != nil ||
		c.JWTLifetime < auth.MinJWTLifetime || c.JWTLifetime > auth.MaxJWTLifetime || c.JWTLifetime%time.Second != 0 {
		return nil, fmt.Errorf("JWT_LIFETIME must be a duration of whole seconds between %s and %s, such as 5m", auth.MinJWTLifetime, auth.MaxJWTLifetime)
	}
	if c.Abuse, err = auth.AbuseConfigFromEnv(getenv); err != nil {
		return nil, err
	}
	for _, cc := range strings.Split(getenv("SMS_ALLOWED_COUNTRIES"), ",") {
		if cc = strings.ToUpper(strings.TrimSpace(cc)); cc != "" {
			if len(cc) != 2 {
				return nil, fmt.Errorf("SMS_ALLOWED_COUNTRIES: %q is not a two-letter ISO 3166 region", cc)
			}
			c.Countries = append(c.Countries, cc)
		}
	}
	if c.Dev && c.DatabaseURL == "" {
		c.DatabaseURL = defaultDevDB
	}
	if c.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is required (e.g. postgres://user:pass@host:5432/sesame)")
	}
	if !c.Dev && c.NATSURL == "" {
		c.NATSURL = defaultNATSURL
	}
	if c.PublicURL == "" {
		host := c.HTTPAddr
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.PublicURL = "http://" + host
	}
	if c.Command != "migrate" && !c.Dev && c.SecretKeys == "" {
		return nil, errors.New("SECRET_KEYS is required: comma-separated 64-hex-character keys, newest first (generate one with: openssl rand -hex 32)")
	}
	return c, nil
}

// serviceConfig is the service-wide configuration: the defaults of every
// project that does not set its own value.
func serviceConfig(c *config) auth.Config {
	return auth.Config{
		PublicURL: c.PublicURL, DefaultLoginURL: c.LoginURL, DefaultSignupURL: c.SignupURL,
		SendLimit: c.SendLimit, SendWindow: c.SendWindow, IPSendLimit: c.IPSendLimit, AllowedCountries: c.Countries,
		VerifyLimit: verifyLimit(c.VerifyLimit), VerifyWindow: c.VerifyWindow, IPVerifyLimit: c.IPVerifyLimit,
		OTPExpiration: c.OTPExpiration, MagicLinkExpiration: c.LinkExpiration,
		JWTAlgorithm: c.JWTAlgorithm, JWTLifetime: c.JWTLifetime,
		Abuse: c.Abuse,
	}
}

// verifyLimit is VERIFY_LIMIT as auth.Config.VerifyLimit: 0 (off) is
// negative there, where 0 is the default.
func verifyLimit(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
