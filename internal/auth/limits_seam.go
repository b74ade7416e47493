package auth

import "time"

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

// sendLimits returns the limits of project p: today the service-wide
// Config; per-project settings (issue 8) replace this body.
func (s *Service) sendLimits(p *Project) SendLimits {
	return SendLimits{PerRecipient: s.cfg.SendLimit, PerIP: s.cfg.IPSendLimit, Window: s.cfg.SendWindow, AllowedCountries: s.cfg.AllowedCountries}
}
