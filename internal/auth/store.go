package auth

import (
	"context"
	"encoding/json"
	"time"
)

// Store is everything the services need from persistent storage. The
// Postgres implementation lives in internal/postgres. Every method is scoped
// by project id: no method can read or change another project's rows.
type Store interface {
	ProjectStore
	UserStore
	ChallengeStore
	MagicLinkStore
	SessionStore
	MessageStore
	KeyStore
	IdempotencyStore
	OrganizationStore
	MemberStore
	IntermediateSessionStore
	B2BAuthStore
	TOTPStore
	LimitStore
	PumpingStore
	SendStore
	// Prune deletes expired challenges, magic links, sessions, rate-limit
	// windows and old message payloads. It returns how many rows it removed.
	Prune(ctx context.Context, now time.Time) (int64, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// ProjectStore stores projects and their hashed secrets.
type ProjectStore interface {
	// EnsureProject creates the project or replaces its secret hash.
	EnsureProject(ctx context.Context, id string, secretHash []byte) error
	// FindProjectBySecret returns the project whose secret hash is any of
	// hashes (one per key in SECRET_KEYS). Returns EUnauthorized if none.
	FindProjectBySecret(ctx context.Context, hashes [][]byte) (*Project, error)
	// FindProjectWithSecret returns the project if its secret hash is any of
	// hashes. Returns EUnauthorized otherwise.
	FindProjectWithSecret(ctx context.Context, id string, hashes [][]byte) (*Project, error)
	// FindProject returns a project by id, ENotFound if missing.
	FindProject(ctx context.Context, id string) (*Project, error)
}

// UserUpdate lists the user fields to change; nil means unchanged.
type UserUpdate struct {
	Name              *Name
	ExternalID        *string
	TrustedMetadata   json.RawMessage
	UntrustedMetadata json.RawMessage
	Status            *UserStatus
	AddEmails         []Email // ids set by the caller; verified false
	AddPhones         []Phone
}

// UserQuery filters a user search. Zero fields do not filter. Filters are
// combined with AND, or with OR when Or is set.
type UserQuery struct {
	Or             bool
	CreatedAfter   *time.Time
	CreatedBefore  *time.Time
	Status         UserStatus
	UserIDs        []string
	EmailAddresses []string
	EmailIDs       []string
	PhoneNumbers   []string
	PhoneIDs       []string
	FullNameFuzzy  string
	EmailFuzzy     string
	PhoneFuzzy     string
	EmailVerified  *bool
	PhoneVerified  *bool
	TOTPIDs        []string // users with any of these registrations
	TOTPVerified   *bool    // users with a registration whose verified flag equals this (false: an unverified one; a user without any never matches)
	// Cursor is the opaque next_cursor of a previous page; "" starts at the beginning.
	Cursor string
	// Limit is the page size (1..1000); 0 means 100.
	Limit int
}

// UserPage is one page of a user search, ordered by creation time then id.
type UserPage struct {
	Users      []*User
	Total      int
	NextCursor string // "" on the last page
}

// UserStore stores users with their emails and phone numbers.
type UserStore interface {
	// CreateUser inserts u with its Emails and Phones (ids set by the caller).
	// Returns EDuplicateEmail or EDuplicatePhone if one is taken in the project.
	CreateUser(ctx context.Context, u *User) error
	// FindUser returns the user with emails and phones, or EUserNotFound.
	FindUser(ctx context.Context, projectID, userID string) (*User, error)
	// UpdateUser applies upd and returns the updated user. Returns
	// EUserNotFound, EDuplicateEmail or EDuplicatePhone.
	UpdateUser(ctx context.Context, projectID, userID string, upd UserUpdate) (*User, error)
	// DeleteUser deletes the user and everything attached to it. EUserNotFound.
	DeleteUser(ctx context.Context, projectID, userID string) error
	// DeleteEmail detaches and deletes an email; returns its user id. EEmailNotFound.
	DeleteEmail(ctx context.Context, projectID, emailID string) (string, error)
	// DeletePhone detaches and deletes a phone number; returns its user id. EPhoneNotFound.
	DeletePhone(ctx context.Context, projectID, phoneID string) (string, error)
	// SearchUsers returns one page of users matching q. Pagination is keyset
	// on (created_at, id), served by an index.
	SearchUsers(ctx context.Context, projectID string, q UserQuery) (*UserPage, error)
	// ResolveMethod finds the email (channel email) or phone (sms/whatsapp)
	// with the given normalized value. If it is missing and create is set, it
	// creates a user with that value in one statement (status pending if
	// pending is set) and reports created. Returns the user id, method id
	// and the user's status.
	// Missing and !create returns EEmailNotFound or EPhoneNotFound.
	ResolveMethod(ctx context.Context, p *Project, ch Channel, value string, create, pending bool) (userID, methodID string, status UserStatus, created bool, err error)
	// AttachMethod attaches value (an email for channel email, else a phone)
	// to userID unless it is already attached to it, and returns its id.
	// Returns EUserNotFound, or EDuplicateEmail/EDuplicatePhone if another
	// user holds the value.
	AttachMethod(ctx context.Context, p *Project, userID string, ch Channel, value string) (methodID string, err error)
	// FindMethod returns the user id, channel class ("email" or "phone") and
	// value of an email id or phone id. Returns EInvalidMethodID if absent.
	FindMethod(ctx context.Context, projectID, methodID string) (userID, class, value string, err error)
}

// ChallengeStore stores one-time code challenges. Only the newest challenge
// of a method is ever live: issuing a new one supersedes the previous.
type ChallengeStore interface {
	// CreateChallenge inserts the challenge and its outbox message (with the
	// encrypted event payload) in one statement.
	CreateChallenge(ctx context.Context, c *Challenge, m *Message, payload []byte) error
	// AttemptChallenge counts one attempt on the method's newest challenge if
	// it is live (unconsumed, unexpired, attempts < maxAttempts) and returns
	// it with the new count. Returns EOTPNotFound when the method never had a
	// challenge and EOTPExpired when the newest one is dead.
	// Limits, when given, are checked first in the same round trip (and
	// transaction): when one refuses, it returns a *LimitRefusal and
	// counts no attempt.
	AttemptChallenge(ctx context.Context, projectID, methodID string, maxAttempts int, limits ...LimitKey) (*Challenge, error)
	// ConsumeChallenge marks the challenge used (only if still unused), marks
	// its method verified and activates a pending user, atomically. Returns
	// EOTPExpired if it was consumed concurrently.
	ConsumeChallenge(ctx context.Context, projectID, challengeID string) error
	// VerifyCode is a whole code check in one round trip: it counts one
	// attempt on the method's newest challenge if it is live, compares its
	// MAC with in.MACs in the same statement and, on a match (for in.UserID,
	// if set), consumes it, marks the method verified, activates the user,
	// inserts in.Session (if set) for the challenge's user and reads the
	// user back. Returns EOTPNotFound and EOTPExpired as AttemptChallenge.
	VerifyCode(ctx context.Context, in VerifyCodeInput) (*VerifyCodeResult, error)
}

// VerifyCodeInput is a code check (ChallengeStore.VerifyCode).
type VerifyCodeInput struct {
	ProjectID, MethodID string
	MACs                [][]byte // the given code's MethodCodeMACs, one per key
	MaxAttempts         int
	UserID              string // an existing session's user: the code is consumed only if it is theirs ("" for any)
	// Session, when not nil, is inserted with the challenge's user in the
	// same transaction, factor 0's value set to the method's address or
	// number. Its UserID and that value are the caller's to fill in
	// afterwards from the result.
	Session  *Session
	TokenEnc []byte
	// Limits are checked first, in the same round trip and transaction:
	// when one refuses, VerifyCode returns a *LimitRefusal and counts no
	// attempt, consumes nothing.
	Limits []LimitKey
}

// VerifyCodeResult is what VerifyCode found: the newest challenge (with its
// attempt count after this one), whether the MACs matched, whether it was
// consumed and, when it was, the user.
type VerifyCodeResult struct {
	Challenge *Challenge
	Matched   bool
	Consumed  bool
	User      *User
}

// MagicLinkStore stores magic-link tokens (hashed).
type MagicLinkStore interface {
	// CreateMagicLink inserts the link and, if m is not nil, its outbox
	// message with the encrypted payload, in one statement.
	CreateMagicLink(ctx context.Context, ml *MagicLink, m *Message, payload []byte) error
	// ConsumeMagicLink consumes the live link whose token hash is any of
	// hashes, marks its email verified and activates the user, atomically.
	// verifierChallenge is the PKCE S256 of the given code_verifier ("" if
	// none). Returns EMagicLinkNotFound, EMagicLinkUsed (consumed or
	// expired) or EPKCEMismatch.
	ConsumeMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string) (*MagicLink, error)
	// AuthenticateMagicLink is ConsumeMagicLink that also inserts sess (if
	// not nil) for the link's user in the same statement, with factor 0's
	// delivery method, method id and value set from the link, and reads the
	// user back, all in one round trip. sess.UserID and that factor are the
	// caller's to fill in afterwards.
	AuthenticateMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string,
		sess *Session, tokenEnc []byte) (*MagicLink, *User, error)
	// RevokeInvites deletes the unconsumed invite links of an email address
	// and returns how many there were.
	RevokeInvites(ctx context.Context, projectID, email string) (int, error)
}

// SessionStore stores sessions. Tokens are stored as a keyed hash for
// lookup and encrypted for the responses that must return them.
type SessionStore interface {
	// CreateSession inserts s with the token's hash and ciphertext.
	CreateSession(ctx context.Context, s *Session, tokenEnc []byte) error
	// FindSessionByToken returns the live session whose token hash is any
	// of hashes, with its encrypted token. ESessionNotFound otherwise.
	FindSessionByToken(ctx context.Context, projectID string, hashes [][]byte) (*Session, []byte, error)
	// FindSession returns a live session by id with its encrypted token.
	FindSession(ctx context.Context, projectID, sessionID string) (*Session, []byte, error)
	// UpdateSession stores the session's expiry, last access, factors and
	// custom claims. ESessionNotFound if it is no longer live.
	UpdateSession(ctx context.Context, s *Session) error
	// ListSessions returns the user's live sessions, newest first, with
	// their encrypted tokens in the same order.
	ListSessions(ctx context.Context, projectID, userID string) ([]*Session, [][]byte, error)
	// RevokeSession ends a live session. ESessionNotFound otherwise.
	RevokeSession(ctx context.Context, projectID, sessionID string) error
}

// OutboxItem is an unpublished message's encrypted event.
type OutboxItem struct {
	MessageID string
	Payload   []byte
	MsgID     string // the Nats-Msg-Id to publish with
}

// DeliveryDecision tells a worker what to do with an event.
type DeliveryDecision int

// Delivery decisions returned by BeginDelivery.
const (
	DeliverySend    DeliveryDecision = iota // the worker holds the lease: send now
	DeliveryDone                            // already sent, failed or skipped: ack, do nothing
	DeliveryBusy                            // another worker holds a live lease: retry later
	DeliveryDead                            // the challenge died (expired/used/superseded): recorded as skipped
	DeliveryUnknown                         // no such message (project or user deleted): drop
)

// MessageFilter selects messages for operators.
type MessageFilter struct {
	Status MessageStatus // "" means any
	Limit  int           // 0 means 100
}

// MessageStore is the outbox and the delivery record of outbound messages.
type MessageStore interface {
	// MarkPublished records that the events are on the stream (queued →
	// published), in one statement; other states are left alone.
	MarkPublished(ctx context.Context, messageIDs ...string) error
	// ClaimOutbox leases up to limit queued messages older than minAge for
	// lease and returns their payloads, oldest first. Concurrent relays
	// never get the same message while the lease lasts.
	ClaimOutbox(ctx context.Context, minAge, lease time.Duration, limit int) ([]OutboxItem, error)
	// CountOutbox returns how many messages wait to be published.
	CountOutbox(ctx context.Context) (int, error)
	// BeginDelivery decides whether the worker may send messageID and, if
	// so, leases it for lease and counts the attempt.
	BeginDelivery(ctx context.Context, messageID string, lease time.Duration) (DeliveryDecision, error)
	// FinishDelivery records the outcome of an attempt: status sent (with
	// providerID), failed, retrying or skipped (with reason). Sent and
	// skipped drop a stored payload; failed keeps it (encrypted) so the
	// message can be replayed until it expires and is pruned (since the
	// payload leaves with the outbox row at publish, a failed message has
	// one only if the worker hands the event's back: AttemptFinisher). A
	// sent message is never overwritten.
	FinishDelivery(ctx context.Context, messageID string, status MessageStatus, providerID, reason string) error
	// FindMessage returns a message of the project. ENotFound if missing.
	FindMessage(ctx context.Context, projectID, messageID string) (*Message, error)
	// ListMessages returns the project's messages, newest first.
	ListMessages(ctx context.Context, projectID string, f MessageFilter) ([]*Message, error)
	// RequeueMessage puts a failed message whose challenge is still live back
	// in the outbox with a new publish generation. ENotFound or EConflict.
	RequeueMessage(ctx context.Context, projectID, messageID string) error
	// RecordProviderStatus applies a provider's delivery report to the
	// message of one of the provider's channels (ProviderChannels) whose
	// provider id is providerID, or whose own id is providerID (SendGrid
	// echoes Sesame's message id back as a custom arg). Provider ids are
	// globally unique, so no project is needed. It only moves forward: a
	// sent message becomes delivered (DeliveredAt set) or undelivered
	// (reason in LastError); any other status, including a repeated or
	// late report ("queued", "sent") and a report on a message already
	// delivered or undelivered, changes nothing. found reports whether a
	// message matched.
	RecordProviderStatus(ctx context.Context, provider, providerID string, status MessageStatus, reason string) (found bool, err error)
}

// IdempotencyStore remembers the results of requests sent with an
// Idempotency-Key, per project, for a day.
type IdempotencyStore interface {
	// BeginIdempotent claims key for a request with the fingerprint. It
	// returns the stored result of an earlier request with the same key
	// (done), or claims the key (not done). EConflict when the key was used
	// with another fingerprint or its first request is still running.
	BeginIdempotent(ctx context.Context, projectID, key string, fingerprint []byte) (result []byte, done bool, err error)
	// FinishIdempotent stores the result of a claimed key; a nil result
	// releases the claim (the request failed; a retry may run it again).
	FinishIdempotent(ctx context.Context, projectID, key string, result []byte) error
}

// SigningKeyState is a JWT signing key's place in the rotation.
type SigningKeyState string

// Signing key states: the next key is published before it signs, the
// current key signs, retired keys only verify until they are pruned.
const (
	KeyNext    SigningKeyState = "next"
	KeyCurrent SigningKeyState = "current"
	KeyRetired SigningKeyState = "retired"
)

// SigningKey is one project JWT signing key. The private key is stored
// encrypted under SECRET_KEYS.
type SigningKey struct {
	ID         string // the JWT kid
	ProjectID  string
	State      SigningKeyState
	PrivateEnc []byte // Keyring.Encrypt of the PKCS#8 DER private key, associated data = ID
	CreatedAt  time.Time
	RotatedAt  time.Time // when it entered its current state
}

// KeyStore stores project signing keys.
type KeyStore interface {
	// SigningKeys returns the project's keys (next, current, retired).
	SigningKeys(ctx context.Context, projectID string) ([]SigningKey, error)
	// RotateSigningKeys, in one transaction: retires the current key,
	// promotes next to current, inserts add (as next, or as current when the
	// project has no key yet; add may be several keys for the first set),
	// and deletes retired keys rotated before retireBefore.
	RotateSigningKeys(ctx context.Context, projectID string, add []SigningKey, retireBefore time.Time) error
}
