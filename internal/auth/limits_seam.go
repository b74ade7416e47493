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

// sendLimits returns the limits of project p: its settings (settings.go),
// each unset one following the service-wide Config, read from the
// in-process settings cache.
func (s *Service) sendLimits(p *Project) SendLimits {
	return s.projectSendLimits(p)
}
