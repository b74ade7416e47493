package auth

import (
	"context"
	"time"
)

// This file holds authenticator-app (TOTP) registrations of consumer users
// and B2B members, and their recovery codes. The TOTP algorithm is
// github.com/pquerna/otp (RFC 6238: 30-second steps, 6 digits, SHA-1, a
// window of ±1 step), the QR code github.com/skip2/go-qrcode. The secret is
// stored encrypted under SECRET_KEYS (Keyring.Encrypt, associated data =
// the registration id), so it survives a key rotation. Recovery codes are
// stored as their keyed hash (Keyring.TokenHash) for the single-use
// consumption, and encrypted (associated data = the code's row id) so the
// get calls can show the unused ones again.

// TOTP lifetimes and limits.
const (
	// DefaultTOTPExpiration is how long a consumer registration may stay
	// unverified (Stytch: 1440 minutes).
	DefaultTOTPExpiration = 1440 * time.Minute
	// B2BDefaultTOTPExpiration is the same for a member (Stytch: 60 minutes).
	B2BDefaultTOTPExpiration = 60 * time.Minute
	MinTOTPExpiration        = 5 * time.Minute
	MaxTOTPExpiration        = 1440 * time.Minute
	// TOTPLockout is how long a registration refuses every code after
	// Config.MaxOTPAttempts wrong (or replayed) codes, counted from the last
	// counted attempt. A success (TOTP or recovery code) resets the count.
	TOTPLockout = 15 * time.Minute
	// RecoveryCodeCount is how many recovery codes a registration gets.
	RecoveryCodeCount = 10
	// TOTPIssuer names the service in authenticator apps.
	TOTPIssuer = "Sesame"
)

// ID prefixes of TOTP objects.
const (
	PrefixTOTP         = "totp"
	PrefixRecoveryCode = "totp-recovery-code"
)

// Factor types and delivery methods of TOTP codes and recovery codes
// (Stytch: type "totp" / "recovery_codes", delivery_method
// "authenticator_app" / "recovery_code"). Factor.MethodID is the TOTP id
// (authenticator_app_factor.totp_id) or the recovery code's id
// (recovery_code_factor.totp_recovery_code_id).
const (
	FactorTOTP               = "totp"
	FactorRecoveryCodes      = "recovery_codes"
	DeliveryAuthenticatorApp = "authenticator_app"
	DeliveryRecoveryCode     = "recovery_code"
)

// Error codes of the TOTP calls.
const (
	// ETOTPNotFound: the user or member has no usable TOTP registration
	// (none, deleted, or unverified past its expiration).
	ETOTPNotFound Code = "totp_not_found"
	// ETOTPExists: a verified registration exists; delete it first.
	ETOTPExists Code = "totp_already_exists"
	// ETOTPWrong: the code matched no step of the window (attempt counted).
	ETOTPWrong Code = "totp_code_wrong"
	// ETOTPUsed: the code's step was already used (replay; attempt counted).
	ETOTPUsed Code = "totp_code_used"
	// ETOTPLocked: too many wrong codes; wait TOTPLockout or recover
	// (Error.RetryAfter says how long is left: a Retry-After header).
	ETOTPLocked Code = "totp_locked"
	// ERecoveryCodeWrong: the recovery code is unknown or already used.
	ERecoveryCodeWrong Code = "recovery_code_wrong"
)

// TOTPRegistration is a stored authenticator-app registration of a user
// (UserID set) or a member (MemberID and OrganizationID set).
type TOTPRegistration struct {
	ID             string
	ProjectID      string
	UserID         string
	MemberID       string
	OrganizationID string
	SecretEnc      []byte // Keyring.Encrypt(secret base32, associated data = ID)
	Verified       bool
	LastStep       int64 // the newest time step accepted (replay guard)
	Attempts       int
	LastAttemptAt  *time.Time
	ExpiresAt      time.Time // an unverified registration is dead after it
	CreatedAt      time.Time
}

// RecoveryCode is one stored recovery code of a registration.
type RecoveryCode struct {
	ID        string
	TOTPID    string
	CodeHash  []byte // Keyring.TokenHash(code)
	CodeEnc   []byte // Keyring.Encrypt(code, associated data = ID)
	UsedAt    *time.Time
	CreatedAt time.Time
}

// TOTPOutcome is what AttemptTOTP decided.
type TOTPOutcome int

// TOTP outcomes.
const (
	TOTPAccepted  TOTPOutcome = iota // step recorded, attempts reset, registration verified
	TOTPWrongCode                    // no step matched; attempt counted
	TOTPReplay                       // the step was not newer than the last one; attempt counted
)

// TOTPAttempt is one authenticate attempt to record atomically.
type TOTPAttempt struct {
	TOTPID string
	// Step is the time step the code matched, 0 when it matched none.
	Step        int64
	MaxAttempts int
	Lockout     time.Duration
	// IST, when not "", is consumed in the same statement, only on
	// acceptance; it must be live and bound to the registration's member.
	ISTID string
	// Member is applied to the registration's member on acceptance
	// (B2B); nil for users.
	Member *MemberMFAUpdate
}

// TOTPAttemptResult is the outcome of AttemptTOTP.
type TOTPAttemptResult struct {
	Outcome TOTPOutcome
	Member  *Member // the updated member (B2B, accepted only)
}

// TOTPStore stores TOTP registrations and recovery codes. Every method is
// scoped by project; member methods also by organization.
type TOTPStore interface {
	// CreateTOTP inserts t (unverified, or verified when t.Verified: a
	// migrated registration) with its recovery codes, replacing
	// the owner's unverified registration if any, in one transaction.
	// ETOTPExists when the owner has a verified registration.
	CreateTOTP(ctx context.Context, t *TOTPRegistration, codes []RecoveryCode) error
	// FindUserTOTP returns the user's registration: the verified one, else
	// the newest unverified one (expired or not). ETOTPNotFound.
	FindUserTOTP(ctx context.Context, projectID, userID string) (*TOTPRegistration, error)
	// FindMemberTOTP is FindUserTOTP for a member of an organization.
	FindMemberTOTP(ctx context.Context, projectID, orgID, memberID string) (*TOTPRegistration, error)
	// AttemptTOTP records one attempt in one statement: only if the
	// registration is usable (verified or unexpired), not locked (attempts
	// < MaxAttempts, or the last counted attempt older than Lockout) and,
	// with ISTID, the IST live; then a Step newer than the last accepted
	// one is accepted (LastStep = Step, attempts reset, verified, the IST
	// consumed and the member updated), anything else counted. ETOTPNotFound
	// (gone or expired unverified), ETOTPLocked, EISTNotFound.
	AttemptTOTP(ctx context.Context, projectID string, at TOTPAttempt, now time.Time) (*TOTPAttemptResult, error)
	// ListRecoveryCodes returns the registration's unused recovery codes.
	ListRecoveryCodes(ctx context.Context, projectID, totpID string) ([]RecoveryCode, error)
	// ConsumeRecoveryCode marks the unused code of the registration whose
	// hash is any of hashes used, in one statement; on success it also
	// resets the registration's attempts, consumes the IST (when istID is
	// not "") and applies upd (when not nil) to its member. It returns
	// the used code and how many unused codes remain.
	// ERecoveryCodeWrong, EISTNotFound.
	ConsumeRecoveryCode(ctx context.Context, projectID, totpID string, hashes [][]byte, istID string, upd *MemberMFAUpdate, now time.Time) (*RecoveryCode, int, *Member, error)
	// ReplaceRecoveryCodes deletes the registration's codes and inserts
	// codes, in one transaction. ETOTPNotFound.
	ReplaceRecoveryCodes(ctx context.Context, projectID, totpID string, codes []RecoveryCode) error
	// DeleteUserTOTP deletes a user's registration with its codes and
	// returns the user id. A member's registration is not found.
	// ETOTPNotFound.
	DeleteUserTOTP(ctx context.Context, projectID, totpID string) (userID string, err error)
	// DeleteMemberTOTP deletes every registration of the member. It
	// reports whether one was verified.
	DeleteMemberTOTP(ctx context.Context, projectID, memberID string) (hadVerified bool, err error)
}

// ---- Consumer inputs and results ----

// CreateTOTPInput is totps.create.
type CreateTOTPInput struct {
	UserID string // the user id (users routes take no external id either)
	// Expiration is how long the registration may stay unverified
	// (5 minutes to 1440 minutes); 0 means DefaultTOTPExpiration.
	Expiration time.Duration
}

// TOTPCreateResult is a new registration. Secret, URL, QRCode and
// RecoveryCodes are returned once here (recovery codes also by
// TOTPRecoveryCodes).
type TOTPCreateResult struct {
	TOTPID        string
	Secret        string   // base32, no padding
	URL           string   // otpauth://totp/... for authenticator apps
	QRCode        string   // "data:image/png;base64,..." of URL
	RecoveryCodes []string // RecoveryCodeCount codes "xxxx-xxxx"
	User          *User    // consumer only
	Member        *Member  // B2B only
	Organization  *Organization
}

// AuthenticateTOTPInput is totps.authenticate.
type AuthenticateTOTPInput struct {
	UserID  string
	Code    string // 6 digits
	Session SessionRequest
}

// RecoverTOTPInput is totps.recover.
type RecoverTOTPInput struct {
	UserID       string
	RecoveryCode string
	Session      SessionRequest
}

// TOTPWithRecoveryCodes is one registration with its unused recovery codes.
type TOTPWithRecoveryCodes struct {
	TOTPID        string
	Verified      bool
	RecoveryCodes []string
}

// ---- B2B inputs and results ----

// B2BCreateTOTPInput is b2b totps.create. A member who already has an MFA
// factor must prove it with an IST, session token or session JWT (at most
// one); anything given must belong to the member.
type B2BCreateTOTPInput struct {
	OrganizationID string // id, slug or external id
	MemberID       string // id or external id
	Expiration     time.Duration
	IST            string
	SessionToken   string
	SessionJWT     string
}

// B2BAuthenticateTOTPInput is b2b totps.authenticate.
type B2BAuthenticateTOTPInput struct {
	OrganizationID   string
	MemberID         string
	Code             string
	Session          B2BSessionRequest // exactly one of IST, Token, JWT
	SetMFAEnrollment string            // "enroll", "unenroll" or ""
	SetDefaultMFA    bool
}

// B2BRecoverInput is recovery_codes.recover.
type B2BRecoverInput struct {
	OrganizationID string
	MemberID       string
	RecoveryCode   string
	Session        B2BSessionRequest // exactly one of IST, Token, JWT
}

// B2BRecoverResult is a member authenticated by a recovery code.
type B2BRecoverResult struct {
	*MemberAuthResult
	RecoveryCodesRemaining int
}

// B2BRecoveryCodesResult is recovery_codes.get and rotate.
type B2BRecoveryCodesResult struct {
	Member        *Member
	Organization  *Organization
	RecoveryCodes []string
}

// checkTOTPCode checks the shape of a 6-digit TOTP code.
func checkTOTPCode(field, code string) error {
	if len(code) != CodeLength || !allDigits(code) {
		return Invalid(field, "The TOTP code must be %d digits.", CodeLength)
	}
	return nil
}

// userAccount names the user in authenticator apps.
func userAccount(u *User) string {
	if len(u.Emails) > 0 {
		return u.Emails[0].Address
	}
	if len(u.Phones) > 0 {
		return u.Phones[0].Number
	}
	return u.ID
}

// markUserTOTPVerified shows t as verified on u (the store loaded u before).
func markUserTOTPVerified(u *User, totpID string) {
	for i := range u.TOTPs {
		if u.TOTPs[i].ID == totpID {
			u.TOTPs[i].Verified = true
			return
		}
	}
	u.TOTPs = append(u.TOTPs, TOTP{ID: totpID, Verified: true})
}

// CreateTOTP registers an authenticator app for a user: a new secret, its
// otpauth URL and QR code, and RecoveryCodeCount recovery codes. An
// unverified registration is replaced; a verified one must be deleted
// first (ETOTPExists). The registration becomes verified by its first
// successful AuthenticateTOTP; unverified, it dies after Expiration.
// Returns EInvalidUserID, EInvalidExpiration, EUserNotFound, ETOTPExists.
func (s *Service) CreateTOTP(ctx context.Context, p *Project, in CreateTOTPInput) (*TOTPCreateResult, error) {
	if err := validID("user_id", in.UserID, EInvalidUserID); err != nil {
		return nil, err
	}
	exp, err := checkTOTPExpiration(in.Expiration, DefaultTOTPExpiration)
	if err != nil {
		return nil, err
	}
	u, err := s.store.FindUser(ctx, p.ID, in.UserID)
	if err != nil {
		return nil, err
	}
	for _, x := range u.TOTPs {
		if x.Verified {
			return nil, Errorf(ETOTPExists, "The user already has a verified TOTP registration; delete it first.")
		}
	}
	t, codes, res, err := s.newRegistration(p, userAccount(u), exp)
	if err != nil {
		return nil, err
	}
	t.UserID = u.ID
	if err := s.store.CreateTOTP(ctx, t, codes); err != nil {
		return nil, err
	}
	kept := u.TOTPs[:0]
	for _, x := range u.TOTPs {
		if x.Verified {
			kept = append(kept, x)
		}
	}
	u.TOTPs = append(kept, TOTP{ID: t.ID})
	res.User = u
	return res, nil
}

// AuthenticateTOTP checks a 6-digit code of the user's registration
// (window ±1 step; a step is accepted once; after MaxOTPAttempts wrong or
// replayed codes the registration refuses every code for TOTPLockout; a
// success resets the count). On success the registration is verified and
// a session started or extended as in.Session says, with the factor
// totp/authenticator_app; the result's MethodID is the TOTP id. Returns
// EInvalid, EInvalidUserID, EUserNotFound, ETOTPNotFound, ETOTPWrong,
// ETOTPUsed, ETOTPLocked and the session errors.
func (s *Service) AuthenticateTOTP(ctx context.Context, p *Project, in AuthenticateTOTPInput) (*AuthResult, error) {
	if err := validID("user_id", in.UserID, EInvalidUserID); err != nil {
		return nil, err
	}
	if err := checkTOTPCode("totp_code", in.Code); err != nil {
		return nil, err
	}
	existing, err := s.beginSession(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.UserID != in.UserID {
		return nil, Errorf(EUserMismatch, "The session belongs to another user.")
	}
	u, err := s.store.FindUser(ctx, p.ID, in.UserID)
	if err != nil {
		return nil, err
	}
	t, err := s.store.FindUserTOTP(ctx, p.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if _, err := s.attemptTOTP(ctx, p, t, in.Code, TOTPAttempt{}); err != nil {
		return nil, err
	}
	markUserTOTPVerified(u, t.ID)
	res := &AuthResult{User: u, MethodID: t.ID, Factor: totpFactor(t.ID, s.now().UTC())}
	if err := s.finishSession(ctx, p, res, in.Session, existing); err != nil {
		return nil, err
	}
	return res, nil
}

// TOTPRecoveryCodes returns the user's registrations with their unused
// recovery codes. Returns EInvalidUserID, EUserNotFound.
func (s *Service) TOTPRecoveryCodes(ctx context.Context, p *Project, userID string) ([]TOTPWithRecoveryCodes, error) {
	if err := validID("user_id", userID, EInvalidUserID); err != nil {
		return nil, err
	}
	u, err := s.store.FindUser(ctx, p.ID, userID)
	if err != nil {
		return nil, err
	}
	out := []TOTPWithRecoveryCodes{}
	for _, t := range u.TOTPs {
		rows, err := s.store.ListRecoveryCodes(ctx, p.ID, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, TOTPWithRecoveryCodes{TOTPID: t.ID, Verified: t.Verified, RecoveryCodes: s.openRecoveryCodes(rows)})
	}
	return out, nil
}

// RecoverTOTP consumes one recovery code of the user's registration
// (single use, in one statement that also resets its attempts) and starts
// or extends a session as in.Session says, with the factor
// recovery_codes/recovery_code; the result's MethodID is the TOTP id.
// Returns EInvalid, EInvalidUserID, EUserNotFound, ETOTPNotFound,
// ERecoveryCodeWrong and the session errors.
func (s *Service) RecoverTOTP(ctx context.Context, p *Project, in RecoverTOTPInput) (*AuthResult, error) {
	if err := validID("user_id", in.UserID, EInvalidUserID); err != nil {
		return nil, err
	}
	if err := checkRecoveryCode(in.RecoveryCode); err != nil {
		return nil, err
	}
	existing, err := s.beginSession(ctx, p, &in.Session)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.UserID != in.UserID {
		return nil, Errorf(EUserMismatch, "The session belongs to another user.")
	}
	u, err := s.store.FindUser(ctx, p.ID, in.UserID)
	if err != nil {
		return nil, err
	}
	t, err := s.store.FindUserTOTP(ctx, p.ID, u.ID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rc, _, _, err := s.store.ConsumeRecoveryCode(ctx, p.ID, t.ID, s.keys.TokenHashes(normalizeRecoveryCode(in.RecoveryCode)), "", nil, now)
	if err != nil {
		s.metrics.Authenticated(FactorRecoveryCodes, string(ErrorCode(err)))
		return nil, err
	}
	s.metrics.Authenticated(FactorRecoveryCodes, "ok")
	res := &AuthResult{User: u, MethodID: t.ID, Factor: recoveryFactor(rc.ID, now)}
	if err := s.finishSession(ctx, p, res, in.Session, existing); err != nil {
		return nil, err
	}
	return res, nil
}

// DeleteTOTP deletes a user's registration (users.deleteTOTP) with its
// recovery codes and returns the user. A member's registration is not
// found here. Returns ETOTPNotFound.
func (s *Service) DeleteTOTP(ctx context.Context, p *Project, totpID string) (*User, error) {
	if err := validID("totp_id", totpID, ETOTPNotFound); err != nil {
		return nil, err
	}
	userID, err := s.store.DeleteUserTOTP(ctx, p.ID, totpID)
	if err != nil {
		return nil, err
	}
	return s.store.FindUser(ctx, p.ID, userID)
}
