package auth

import (
	"encoding/json"
	"strings"
	"time"
)

// Project is a tenant. Every other row belongs to exactly one project and no
// query ever crosses projects.
type Project struct {
	ID        string
	CreatedAt time.Time
}

// Live reports whether the project is a live project. Projects whose id starts
// with "project-test-" are test projects: they get "-test-" ids and the
// Stytch sandbox values.
func (p *Project) Live() bool { return !strings.HasPrefix(p.ID, "project-test-") }

// UserStatus is "active" or "pending" (created but never authenticated).
type UserStatus string

// User statuses.
const (
	UserActive  UserStatus = "active"
	UserPending UserStatus = "pending"
)

// Name is a user's name; every part may be empty.
type Name struct {
	First  string `json:"first_name"`
	Middle string `json:"middle_name"`
	Last   string `json:"last_name"`
}

// User is an end user of a project.
type User struct {
	ID                string
	ProjectID         string
	Status            UserStatus
	Name              Name
	ExternalID        string
	TrustedMetadata   json.RawMessage // a JSON object, never nil after load
	UntrustedMetadata json.RawMessage // a JSON object, never nil after load
	Emails            []Email
	Phones            []Phone
	TOTPs             []TOTP // authenticator-app registrations, oldest first
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TOTP is a user's authenticator-app registration as the user object
// shows it; Verified once a code was accepted.
type TOTP struct {
	ID       string
	Verified bool
}

// Email is an email address attached to one user. Unique within a project.
type Email struct {
	ID        string
	UserID    string
	Address   string
	Verified  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Phone is a phone number in E.164 attached to one user. Unique within a project.
type Phone struct {
	ID        string
	UserID    string
	Number    string
	Verified  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Channel is how a one-time code travels.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelEmail    Channel = "email"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelSMS || c == ChannelWhatsApp || c == ChannelEmail
}

// IsPhone reports whether the channel delivers to a phone number.
func (c Channel) IsPhone() bool { return c == ChannelSMS || c == ChannelWhatsApp }

// Challenge is one issued one-time code. Only the HMAC of the code is stored.
type Challenge struct {
	ID         string
	ProjectID  string
	UserID     string // "" for a member's code
	MemberID   string // B2B: the member the code was sent for; "" for users
	MethodID   string // phone id or email id
	Channel    Channel
	CodeHMAC   []byte
	Attempts   int
	ExpiresAt  time.Time
	ConsumedAt *time.Time
	CreatedAt  time.Time
	// SMSUncounted is set when the SMS-pumping guard did not judge the
	// code's send (off for the project): its counting triggers then skip
	// the code when it is created and consumed. Default false: counted.
	SMSUncounted bool
}

// MagicLinkKind distinguishes why a link was issued.
type MagicLinkKind string

// Magic link kinds.
const (
	MagicLinkLogin    MagicLinkKind = "login"
	MagicLinkSignup   MagicLinkKind = "signup"
	MagicLinkInvite   MagicLinkKind = "invite"
	MagicLinkEmbedded MagicLinkKind = "embedded"
	// B2B: a discovery link proves an email address, not a membership.
	MagicLinkDiscovery MagicLinkKind = "discovery"
)

// MagicLink is one issued link token. Only the hash of the token is stored.
type MagicLink struct {
	ID             string
	ProjectID      string
	UserID         string // "" for B2B links
	MemberID       string // B2B member links; "" otherwise
	OrganizationID string // B2B member links; "" otherwise
	Email          string // B2B links: the address it was sent to
	EmailID        string // empty for embedded links
	Kind           MagicLinkKind
	TokenHash      []byte
	CodeChallenge  string // PKCE S256 challenge, base64url; empty when unused
	ExpiresAt      time.Time
	ConsumedAt     *time.Time
	CreatedAt      time.Time
}

// Attributes describe the client that made a request.
type Attributes struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

// FactorType and delivery methods follow Stytch's authentication factor vocabulary.
const (
	FactorOTP       = "otp"
	FactorMagicLink = "magic_link"

	DeliverySMS      = "sms"
	DeliveryWhatsApp = "whatsapp"
	DeliveryEmail    = "email"
	DeliveryEmbedded = "embedded"
)

// Factor is one authentication factor recorded on a session.
type Factor struct {
	Type                string    `json:"type"`
	DeliveryMethod      string    `json:"delivery_method"`
	MethodID            string    `json:"method_id"` // email id, phone id or embedded link id
	Value               string    `json:"value"`     // the email address or phone number, if any
	LastAuthenticatedAt time.Time `json:"last_authenticated_at"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// Session is a logged-in user. The opaque token is returned once; only its
// hash is stored.
type Session struct {
	ID        string
	ProjectID string
	UserID    string // "" for a member session
	// MemberID and OrganizationID are set (and UserID empty) on a B2B
	// member session. Consumer routes never accept a member session and
	// B2B routes never accept a user session.
	MemberID       string
	OrganizationID string
	// OrganizationSlug and Roles are not stored: the service fills them
	// from the member and organization before signing or returning a
	// member session.
	OrganizationSlug string
	Roles            []string
	TokenHash        []byte
	StartedAt        time.Time
	LastAccessedAt   time.Time
	ExpiresAt        time.Time
	Attributes       Attributes
	Factors          []Factor
	CustomClaims     map[string]any // never nil after load
	RevokedAt        *time.Time
	// Token is the opaque session token. Only the service sets it, on
	// sessions it returns to an API caller; stores ignore it.
	Token string
}

// MessageStatus is the delivery state of an outbound message.
type MessageStatus string

// Message statuses. queued → published → sending → sent, with failed
// (permanent, reason recorded), retrying (transient error, will be
// redelivered) and skipped (the challenge died before delivery) on the side.
// A sent message may then move, once, to delivered or undelivered when the
// provider reports the outcome (status callback or event webhook); both are
// final.
const (
	MessageQueued    MessageStatus = "queued"    // committed, not yet on the stream
	MessagePublished MessageStatus = "published" // on the stream (PubAck received)
	MessageSending   MessageStatus = "sending"   // a worker holds it and calls the provider
	MessageRetrying  MessageStatus = "retrying"  // last attempt failed transiently
	MessageSent      MessageStatus = "sent"      // the provider accepted it
	MessageFailed    MessageStatus = "failed"    // permanent failure; see LastError
	MessageSkipped   MessageStatus = "skipped"   // expired or superseded before delivery

	// MessageDelivered: the provider reports the message reached the
	// recipient's handset or mail server (DeliveredAt is set).
	MessageDelivered MessageStatus = "delivered"
	// MessageUndelivered: the provider reports it could not deliver the
	// message (carrier failure, bounce, drop); LastError has the reason,
	// e.g. "twilio 30003" or "sendgrid bounce".
	MessageUndelivered MessageStatus = "undelivered"
)

// Message is the record of one outbound SMS, WhatsApp or email. It doubles as
// the transactional outbox row from which events are (re)published.
type Message struct {
	ID          string
	ProjectID   string
	Kind        EventKind
	Channel     Channel
	Recipient   string
	Status      MessageStatus
	ProviderID  string
	Attempts    int
	LastError   string
	ChallengeID string // challenge or magic link id
	ExpiresAt   time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SentAt      *time.Time
	DeliveredAt *time.Time // when the provider reported delivered
	// ProvidersTried names the providers (SMS_PROVIDERS names) the message
	// was handed to, in order; Provider is the one that accepted it.
	ProvidersTried []string
	Provider       string
}
