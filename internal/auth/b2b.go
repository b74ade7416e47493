package auth

import (
	"context"
	"time"
)

// This file holds the B2B inputs, results and store interface shared by
// the organization, member, magic-link, code, session and discovery
// services. The B2B core sits on the consumer machinery: member codes are
// rows of the same challenge table (Challenge.MemberID), member links of
// the same magic-link table, member sessions of the same session table
// (Session.MemberID) signed by the same SessionSigner, and every code or
// link goes out through the same outbox, stream and workers.

// B2B lifetimes.
const (
	B2BOTPExpiration           = 2 * time.Minute     // SMS codes as second factor
	B2BDefaultSessionDuration  = 60 * time.Minute    // B2B authenticate always starts a session
	B2BDefaultLoginExpiration  = 60 * time.Minute    // login_or_signup links
	B2BDefaultInviteExpiration = 10080 * time.Minute // invites: 7 days
	B2BEmailOTPExpiration      = 10 * time.Minute
)

// ID prefixes of B2B objects.
const (
	PrefixOrganization   = "organization"
	PrefixMember         = "member"
	PrefixMemberEmail    = "member-email"
	PrefixMemberPhone    = "member-phone-number"
	PrefixIntermediate   = "intermediate-session"
	PrefixMemberSession  = "member-session"
	PrefixDiscoveryEmail = "discovery-email"
)

// Caller is the member on whose behalf a management call acts, named by
// the X-Stytch-Member-Session or X-Stytch-Member-SessionJWT header. The
// zero Caller is the project itself (the secret), allowed everything.
// With a caller, the member must belong to the organization acted on, and
// be an admin to change settings or other members; otherwise EForbidden.
type Caller struct {
	SessionToken string
	SessionJWT   string
}

// IsProject reports whether the call acts with the project secret alone.
func (c Caller) IsProject() bool { return c.SessionToken == "" && c.SessionJWT == "" }

// MFARequired says which second factor a member must still present.
type MFARequired struct {
	MFAPhoneNumber     string // the member's MFA phone, "" when none
	TOTPRegistrationID string // the member's verified TOTP registration, "" when none
	// SecondaryAuthInitiated is "sms_otp" when a code was sent at once.
	SecondaryAuthInitiated string
}

// PrimaryRequired says which primary factors the organization accepts.
type PrimaryRequired struct {
	AllowedAuthMethods []string
}

// MemberAuthResult is the outcome of a B2B authentication step. Exactly
// one of (Session, SessionToken, SessionJWT) and IST is set: a full member
// session when Authenticated, an intermediate session token otherwise.
type MemberAuthResult struct {
	Member          *Member
	Organization    *Organization
	MethodID        string
	Authenticated   bool
	IST             string
	ISTExpiresAt    time.Time
	Session         *Session
	SessionToken    string
	SessionJWT      string
	MFARequired     *MFARequired
	PrimaryRequired *PrimaryRequired
	Verdict         *Verdict // sessions.authenticate with an authorization check
}

// Verdict is the answer to an authorization check.
type Verdict struct {
	Authorized    bool
	GrantingRoles []string
}

// AuthorizationCheck asks whether the session's member may act on a
// resource of an organization.
type AuthorizationCheck struct {
	OrganizationID string
	ResourceID     string
	Action         string
}

// B2BSessionRequest is what a B2B authenticate does with sessions. With
// Token or JWT (not both) of a live member session, that session gains the
// factor; otherwise a new session of Duration (default 60 minutes) starts
// when MFA is satisfied.
type B2BSessionRequest struct {
	Duration     time.Duration
	Token        string
	JWT          string
	IST          string
	CustomClaims map[string]any
	Attributes   Attributes
}

// B2BEmailLoginInput is magic_links/email/login_or_signup and
// otps/email/login_or_signup.
type B2BEmailLoginInput struct {
	OrganizationID   string // id, slug or external id
	EmailAddress     string
	LoginURL         string
	SignupURL        string
	CodeChallenge    string
	Locale           string
	LoginExpiration  time.Duration
	SignupExpiration time.Duration
}

// B2BSendResult is the outcome of a B2B send.
type B2BSendResult struct {
	Member        *Member
	Organization  *Organization
	MemberCreated bool
	MessageID     string
}

// B2BInviteInput is magic_links/email/invite.
type B2BInviteInput struct {
	OrganizationID    string
	EmailAddress      string
	URL               string
	InvitedByMemberID string
	Name              *string
	TrustedMetadata   []byte
	UntrustedMetadata []byte
	RoleIDs           []string
	Locale            string
	Expiration        time.Duration
	Caller            Caller
}

// B2BAuthenticateMagicLinkInput is magic_links/authenticate.
type B2BAuthenticateMagicLinkInput struct {
	Token        string
	CodeVerifier string
	Session      B2BSessionRequest
	Locale       string
}

// B2BSendSMSInput is otps/sms/send.
type B2BSendSMSInput struct {
	OrganizationID string
	MemberID       string
	MFAPhoneNumber string
	Locale         string
	IST            string
	SessionToken   string
	SessionJWT     string
}

// B2BAuthenticateSMSInput is otps/sms/authenticate.
type B2BAuthenticateSMSInput struct {
	OrganizationID   string
	MemberID         string
	Code             string
	Session          B2BSessionRequest // exactly one of IST, Token, JWT
	SetMFAEnrollment string            // "enroll", "unenroll" or ""
	SetDefaultMFA    bool
}

// B2BAuthenticateEmailOTPInput is otps/email/authenticate.
type B2BAuthenticateEmailOTPInput struct {
	OrganizationID string
	EmailAddress   string
	Code           string
	Session        B2BSessionRequest
}

// MemberSessionInput is sessions/authenticate.
type MemberSessionInput struct {
	Token         string
	JWT           string
	Duration      time.Duration
	CustomClaims  map[string]any
	Authorization *AuthorizationCheck
}

// RevokeMemberSessionInput names what to revoke: exactly one field.
type RevokeMemberSessionInput struct {
	MemberSessionID string
	Token           string
	JWT             string
	MemberID        string // every session of this member
	Caller          Caller
}

// ExchangeSessionInput is sessions/exchange: a member session of one
// organization for a session (or IST) of another organization of the same
// email.
type ExchangeSessionInput struct {
	OrganizationID string
	Token          string
	JWT            string
	Duration       time.Duration
	CustomClaims   map[string]any
	Locale         string
}

// DiscoverySendInput is magic_links/email/discovery/send.
type DiscoverySendInput struct {
	EmailAddress  string
	RedirectURL   string
	CodeChallenge string
	Locale        string
	Expiration    time.Duration
}

// DiscoveredOrganization is one organization an email may enter.
type DiscoveredOrganization struct {
	Organization *Organization
	Member       *Member // nil when eligible by email domain only
	// MembershipType is "active_member", "pending_member",
	// "invited_member" or "eligible_to_join_by_email_domain".
	MembershipType      string
	MemberAuthenticated bool
	MFARequired         *MFARequired
	PrimaryRequired     *PrimaryRequired
}

// DiscoveryResult is the outcome of a discovery authenticate or list.
type DiscoveryResult struct {
	IST           string
	ISTExpiresAt  time.Time
	EmailAddress  string
	Organizations []DiscoveredOrganization
}

// DiscoveryListInput is discovery/organizations: exactly one of IST,
// session token and session JWT.
type DiscoveryListInput struct {
	IST          string
	SessionToken string
	SessionJWT   string
}

// IntermediateExchangeInput is discovery/intermediate_sessions/exchange.
type IntermediateExchangeInput struct {
	IST            string
	OrganizationID string
	Session        B2BSessionRequest
	Locale         string
}

// DiscoveryCreateInput is discovery/organizations/create.
type DiscoveryCreateInput struct {
	IST          string
	Organization OrganizationInput
	Session      B2BSessionRequest
}

// B2BAuthStore is what the B2B flows need beyond the shared stores. The
// shared methods take member rows too: CreateChallenge with
// Challenge.MemberID set (its message row then belongs to the member),
// CreateMagicLink with MagicLink.MemberID/OrganizationID/Email (or Email
// only for discovery), CreateSession/FindSession*/UpdateSession with
// Session.MemberID/OrganizationID. AttemptChallenge is keyed by method id,
// which for members is Member.MFAPhoneID or Member.EmailID.
type B2BAuthStore interface {
	// ConsumeMemberChallenge consumes the challenge if it is still unused
	// and applies upd to its member, atomically, and returns the updated
	// member. With istID != "" it also consumes that live IST in the same
	// statement, and consumes nothing if the IST is gone (EISTNotFound).
	// EOTPExpired if the code was consumed concurrently.
	ConsumeMemberChallenge(ctx context.Context, projectID, challengeID, istID string, upd MemberMFAUpdate) (*Member, error)
	// ConsumeB2BMagicLink consumes the live B2B link whose token hash is
	// any of hashes: a discovery link when discovery is set (member nil),
	// else a member link, whose member gets upd atomically and is
	// returned. A member link only matches while the member still has the
	// address it was mailed to. Consumer links never match here, B2B links
	// never match ConsumeMagicLink, and a link of the other kind is left
	// unused. EMagicLinkNotFound, EMagicLinkUsed, EPKCEMismatch.
	ConsumeB2BMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string, discovery bool, upd MemberMFAUpdate) (*MagicLink, *Member, error)
	// AuthenticateMemberLink is a whole B2B magic-link authenticate
	// without a session or IST passed, in one round trip (MemberLinkCheck
	// says what it does). It returns what it found and did; a link it did
	// not consume wrote nothing.
	AuthenticateMemberLink(ctx context.Context, in MemberLinkCheck) (*MemberLinkOutcome, error)
	// CheckMemberEmailOTP is a whole B2B email code check without a
	// session or IST passed, in one round trip (MemberEmailOTPCheck says
	// what it does). It returns the organization (EOrganizationNotFound
	// when there is none), the member and what became of the code; a
	// refused limit is a *LimitRefusal and writes nothing.
	CheckMemberEmailOTP(ctx context.Context, in MemberEmailOTPCheck) (*MemberEmailOTPOutcome, error)
	// RevokeMemberInvites deletes the unconsumed invite links of a member.
	RevokeMemberInvites(ctx context.Context, projectID, memberID string) (int, error)
	// CheckMemberSMS is a whole B2B SMS code check with an IST in one
	// round trip (MemberSMSCheck says what it does). It returns the
	// organization (EOrganizationNotFound when there is none), the member,
	// the IST and what became of the code; a refused limit is a
	// *LimitRefusal and writes nothing.
	CheckMemberSMS(ctx context.Context, in MemberSMSCheck) (*MemberSMSOutcome, error)
}
