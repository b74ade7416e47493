package auth

import (
	"context"
	"time"
)

// SendLimits are the send limits that apply to one project.
type SendLimits struct {
	// PerRecipient is how many codes or links one recipient may be sent
	// per Window.
	PerRecipient int
	// PerIP is how many sends one client IP may request per Window; 0 is
	// no limit.
	PerIP  int
	Window time.Duration
	// AllowedCountries lists the ISO 3166 regions SMS and WhatsApp codes
	// may go to; empty allows every country.
	AllowedCountries []string
}

// sendLimits returns the limits of project p: its settings (settings.go),
// each unset one following the service-wide Config, read from the
// in-process settings cache.
func (s *Service) sendLimits(p *Project) SendLimits {
	return s.projectSendLimits(p)
}

// Defaults of the verify limits (Config.VerifyLimit, Config.VerifyWindow).
const (
	DefaultVerifyLimit  = 10
	DefaultVerifyWindow = 10 * time.Minute
)

// VerifyLimits are the verify limits that apply to one project: how many
// codes may be checked per method and per client IP per Window (0: no
// limit). They count every check, right or wrong, across all the
// method's challenges; MaxOTPAttempts caps each challenge on its own.
type VerifyLimits struct {
	PerMethod int
	PerIP     int
	Window    time.Duration
}

// verifyLimits returns the verify limits of project p: its settings
// verify_limit, verify_limit_per_ip and verify_window_seconds, each unset
// one following the service-wide Config, read from the in-process
// settings cache.
func (s *Service) verifyLimits(p *Project) VerifyLimits {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st := s.projectState(ctx, p.ID).settings
	l := VerifyLimits{PerMethod: max(s.cfg.VerifyLimit, 0), PerIP: s.cfg.IPVerifyLimit, Window: s.cfg.VerifyWindow}
	if st.VerifyLimit > 0 {
		l.PerMethod = st.VerifyLimit
	}
	if st.VerifyLimitPerIP != nil {
		l.PerIP = *st.VerifyLimitPerIP
	}
	if st.VerifyWindowSeconds > 0 {
		l.Window = time.Duration(st.VerifyWindowSeconds) * time.Second
	}
	return l
}
