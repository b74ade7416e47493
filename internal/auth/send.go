package auth

import (
	"context"
	"sync"
	"time"
)

// This file holds the one-round-trip send: the limits, the SMS-pumping
// guard, the resolve-or-create of the recipient and the code or link with
// its outbox message go to the store as one request, which the Postgres
// store runs as one pipelined batch in one transaction.

// SendRequest is everything one send asks of the store.
type SendRequest struct {
	// Limits are checked first (LimitStore.HitLimits); a refusal writes
	// nothing at all.
	Limits []LimitKey
	// Guard, when set, judges an SMS send (PumpingStore.JudgeSMSSend);
	// its decisions are kept, but a refusal creates no user and no code.
	Guard *GuardRequest
	// The recipient: a normalized email (channel email) or phone, resolved
	// or, with Create, created as a new user (pending with Pending).
	Channel   Channel
	Value     string
	Create    bool
	Pending   bool
	Challenge *Challenge // an OTP send: UserID and MethodID are filled in
	// A consumer code is bound to its method: NewMethodID is the id of a
	// method the send creates, and NewMethodMAC the code's MAC for it;
	// KnownMethodID is the method the service expects the recipient to
	// have ("" if none), KnownMethodMAC the code's MAC for it. When the
	// recipient's method is neither, no code is written (Issued false) and
	// the service writes it in a second statement. A member's code
	// (Challenge.CodeHMAC set) needs none of them.
	NewMethodID    string
	NewMethodMAC   []byte
	KnownMethodID  string
	KnownMethodMAC []byte
	// Member, when set, makes the send a member's code (B2B): no recipient
	// is resolved, the code goes to Challenge.MethodID, and with
	// UpdateMember the member's row is stored first (as UpdateMember does)
	// when the send is allowed. EMemberNotFound if the member is gone.
	Member        *Member
	UpdateMember  bool
	Link          *MagicLink // a magic-link send: UserID, EmailID filled in
	SignupKind    MagicLinkKind
	SignupExpires time.Time // the link's kind and expiry when the user is created
	// Message and Payload are the outbox row; SignupPayload replaces
	// Payload when the user is created (a signup link's event).
	Message       *Message
	Payload       []byte
	SignupPayload []byte
}

// GuardRequest is one SMS send for the pumping guard.
type GuardRequest struct {
	Region   string
	Subjects []GuardSubject
	Config   PumpingConfig
}

// SendOutcome is what the store did with a SendRequest.
type SendOutcome struct {
	// Denied is the index of the refusing limit (-1: none) and RetryAfter
	// how long until it conforms again.
	Denied     int
	RetryAfter time.Duration
	// Verdicts are the guard's (empty without Guard).
	Verdicts []GuardVerdict
	// Found reports whether the recipient was resolved (or created); the
	// other fields are set only then, and the code or link created only
	// when no limit or guard refused the send.
	Found    bool
	Issued   bool // the code or link was written
	UserID   string
	MethodID string
	Status   UserStatus
	Created  bool
}

// SendStore runs a send in one round trip.
type SendStore interface {
	// Send runs req atomically (every write or none, except the guard's
	// decisions, which are kept when the guard refuses). An unknown
	// recipient that is not created returns the outcome with
	// EEmailNotFound or EPhoneNotFound.
	Send(ctx context.Context, p *Project, req *SendRequest) (*SendOutcome, error)
}

// sendOnce runs the store half of a send in one round trip: it fills in
// the limits of the recipient and, for a phone, the pumping guard's
// subjects, then applies what the store reports: a refusing limit or
// guard is ERateLimited with RetryAfter (after the guard's state changes
// are logged), an unknown recipient EEmailNotFound or EPhoneNotFound.
func (s *Service) sendOnce(ctx context.Context, p *Project, req *SendRequest) (*SendOutcome, error) {
	keys, cc, prefix := s.sendLimitKeys(ctx, p, req.Value)
	req.Limits = keys
	var g PumpingConfig
	if isPhoneValue(req.Value) {
		g = s.pumpingConfig(ctx, p)
		if subjects := guardSubjects(g, cc, prefix); len(subjects) > 0 {
			req.Guard = &GuardRequest{Region: PhoneRegion(req.Value), Subjects: subjects, Config: g}
		}
	}
	if req.Challenge != nil {
		// Counting a code the guard did not judge is wasted work (issue 10):
		// the triggers skip it, here and in a miss's second statement.
		req.Challenge.SMSUncounted = req.Guard == nil
	}
	out, err := s.store.Send(ctx, p, req)
	if out == nil {
		return nil, err
	}
	if out.Denied >= 0 {
		if out.Denied < len(keys) {
			s.metrics.RateLimited(keys[out.Denied].Name)
		}
		return nil, rateLimited(out.RetryAfter)
	}
	if err := s.judged(p, g, out.Verdicts); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// methodPrefix is the id prefix of a channel's method (an email or a phone).
func methodPrefix(ch Channel) string {
	if ch == ChannelEmail {
		return PrefixEmail
	}
	return PrefixPhone
}

// maxKnownMethods bounds the recipients whose method id a process keeps.
const maxKnownMethods = 100_000

// methodCache remembers the method id of recipients this process sent to,
// so that a send to a known recipient can bind its code to the method
// (MethodCodeMAC) in its one round trip. A stale entry costs nothing but
// that: the store only uses the MAC whose method id it finds.
type methodCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *Service) knownMethod(projectID, value string) string {
	c := &s.methods
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[projectID+"\x00"+value]
}

func (s *Service) rememberMethod(projectID, value, methodID string) {
	c := &s.methods
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxKnownMethods {
		c.m = make(map[string]string)
	}
	c.m[projectID+"\x00"+value] = methodID
}
