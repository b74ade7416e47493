package auth

import (
	"context"
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
