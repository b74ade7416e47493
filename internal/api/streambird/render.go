package streambird

import (
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// epoch renders a time as Unix seconds (0 for the zero time).
func epoch(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// userJSON is Streambird's user object.
type userJSON struct {
	UserID       string      `json:"user_id"`
	AppID        string      `json:"app_id"`
	FirstName    string      `json:"first_name"`
	MiddleName   string      `json:"middle_name"`
	LastName     string      `json:"last_name"`
	Status       string      `json:"status"`
	Active       bool        `json:"active"`
	UpdatedAt    int64       `json:"updated_at"`
	CreatedAt    int64       `json:"created_at"`
	Emails       []emailJSON `json:"emails"`
	PhoneNumbers []phoneJSON `json:"phone_numbers"`
	IDPProviders []any       `json:"idp_providers"`
	Wallets      []any       `json:"wallets"`
	TOTPs        []totpJSON  `json:"totps"`
}

// totpJSON is a TOTP registration in the user object.
type totpJSON struct {
	ID       string `json:"id"`
	Verified bool   `json:"verified"`
}

type emailJSON struct {
	ID        string `json:"id"`
	Verified  bool   `json:"verified"`
	Email     string `json:"email"`
	UpdatedAt int64  `json:"updated_at"`
	CreatedAt int64  `json:"created_at"`
}

type phoneJSON struct {
	ID          string `json:"id"`
	Verified    bool   `json:"verified"`
	PhoneNumber string `json:"phone_number"`
	UpdatedAt   int64  `json:"updated_at"`
	CreatedAt   int64  `json:"created_at"`
}

func renderUser(u *auth.User) *userJSON {
	return &userJSON{
		UserID:       u.ID,
		AppID:        u.ProjectID,
		FirstName:    u.Name.First,
		MiddleName:   u.Name.Middle,
		LastName:     u.Name.Last,
		Status:       string(u.Status),
		Active:       u.Status == auth.UserActive,
		UpdatedAt:    epoch(u.UpdatedAt),
		CreatedAt:    epoch(u.CreatedAt),
		Emails:       renderEmails(u.Emails),
		PhoneNumbers: renderPhones(u.Phones),
		IDPProviders: []any{},
		Wallets:      []any{},
		TOTPs:        renderTOTPs(u.TOTPs),
	}
}

func renderTOTPs(ts []auth.TOTP) []totpJSON {
	out := make([]totpJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, totpJSON{ID: t.ID, Verified: t.Verified})
	}
	return out
}

func renderEmails(es []auth.Email) []emailJSON {
	out := make([]emailJSON, 0, len(es))
	for _, e := range es {
		out = append(out, emailJSON{ID: e.ID, Verified: e.Verified, Email: e.Address, UpdatedAt: epoch(e.UpdatedAt), CreatedAt: epoch(e.CreatedAt)})
	}
	return out
}

func renderPhones(ps []auth.Phone) []phoneJSON {
	out := make([]phoneJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, phoneJSON{ID: p.ID, Verified: p.Verified, PhoneNumber: p.Number, UpdatedAt: epoch(p.UpdatedAt), CreatedAt: epoch(p.CreatedAt)})
	}
	return out
}

// emailID and phoneID return the id of the user's address or number ("" if absent).
func emailID(u *auth.User, address string) string {
	for _, e := range u.Emails {
		if e.Address == address {
			return e.ID
		}
	}
	return ""
}

func phoneID(u *auth.User, number string) string {
	for _, p := range u.Phones {
		if p.Number == number {
			return p.ID
		}
	}
	return ""
}

// sessionJSON is Streambird's session object.
type sessionJSON struct {
	ID                string            `json:"id"`
	UserID            string            `json:"user_id"`
	SessionToken      string            `json:"session_token"`
	StartedAt         int64             `json:"started_at"`
	ExpiresAt         int64             `json:"expires_at"`
	LastActiveAt      int64             `json:"last_active_at"`
	Factors           []factorJSON      `json:"factors"`
	DeviceFingerprint deviceFingerprint `json:"device_fingerprint"`
	UpdatedAt         int64             `json:"updated_at"`
	CreatedAt         int64             `json:"created_at"`
}

type factorJSON struct {
	DeliveryChannel string     `json:"delivery_channel"`
	Type            string     `json:"type"`
	Method          methodJSON `json:"method"`
}

type methodJSON struct {
	MethodID       string `json:"method_id"`
	MethodType     string `json:"method_type"`
	PhoneNumberID  string `json:"phone_number_id,omitempty"`
	PhoneNumber    string `json:"phone_number,omitempty"`
	EmailID        string `json:"email_id,omitempty"`
	Email          string `json:"email,omitempty"`
	TOTPID         string `json:"totp_id,omitempty"`
	LastVerifiedAt int64  `json:"last_verified_at"`
}

// methodType is Streambird's method_type of a delivery method.
func methodType(delivery string) string {
	switch delivery {
	case auth.DeliverySMS, auth.DeliveryWhatsApp:
		return "phone_number"
	case auth.DeliveryAuthenticatorApp:
		return "totp"
	default:
		return "email"
	}
}

func renderFactor(f auth.Factor) factorJSON {
	m := methodJSON{MethodID: f.MethodID, MethodType: methodType(f.DeliveryMethod), LastVerifiedAt: epoch(f.LastAuthenticatedAt)}
	switch f.DeliveryMethod {
	case auth.DeliverySMS, auth.DeliveryWhatsApp:
		m.PhoneNumberID, m.PhoneNumber = f.MethodID, f.Value
	case auth.DeliveryEmail:
		m.EmailID, m.Email = f.MethodID, f.Value
	case auth.DeliveryAuthenticatorApp:
		m.TOTPID = f.MethodID
		return factorJSON{DeliveryChannel: "totp_authenticator", Type: f.Type, Method: m}
	}
	return factorJSON{DeliveryChannel: f.DeliveryMethod, Type: f.Type, Method: m}
}

// renderSession renders s; token overrides s.Token when set.
func renderSession(s *auth.Session, token string) *sessionJSON {
	if s == nil {
		return nil
	}
	if token == "" {
		token = s.Token
	}
	factors := make([]factorJSON, 0, len(s.Factors))
	for _, f := range s.Factors {
		factors = append(factors, renderFactor(f))
	}
	return &sessionJSON{
		ID:                s.ID,
		UserID:            s.UserID,
		SessionToken:      token,
		StartedAt:         epoch(s.StartedAt),
		ExpiresAt:         epoch(s.ExpiresAt),
		LastActiveAt:      epoch(s.LastAccessedAt),
		Factors:           factors,
		DeviceFingerprint: deviceFingerprint{IP: s.Attributes.IPAddress, UserAgent: s.Attributes.UserAgent},
		UpdatedAt:         epoch(s.LastAccessedAt),
		CreatedAt:         epoch(s.StartedAt),
	}
}

// authResponse is the body of /otps/verify and /magic_links/verify.
type authResponse struct {
	MethodID     string       `json:"method_id"`
	MethodType   string       `json:"method_type"`
	UserID       string       `json:"user_id"`
	SessionToken string       `json:"session_token,omitempty"`
	SessionJWT   string       `json:"session_jwt,omitempty"`
	Session      *sessionJSON `json:"session,omitempty"`
}

func renderAuth(res *auth.AuthResult, methodTypeOverride string) authResponse {
	out := authResponse{
		MethodID:     res.MethodID,
		MethodType:   methodType(res.Factor.DeliveryMethod),
		SessionToken: res.SessionToken,
		SessionJWT:   res.SessionJWT,
	}
	if out.MethodID == "" {
		out.MethodID = res.Factor.MethodID
	}
	if methodTypeOverride != "" {
		out.MethodType = methodTypeOverride
	}
	if res.User != nil {
		out.UserID = res.User.ID
	}
	if res.Session != nil {
		if out.UserID == "" {
			out.UserID = res.Session.UserID
		}
		out.Session = renderSession(res.Session, res.SessionToken)
	}
	return out
}
