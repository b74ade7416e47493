package auth

import (
	"context"
	"time"
)

// ISTLifetime is how long an intermediate session token lives: 10 minutes.
const ISTLifetime = 10 * time.Minute

// IntermediateSession proves a primary factor that did not (yet) make a
// member session: MFA is pending for a member of an organization, or (with
// OrganizationID and MemberID empty) an email was verified by discovery.
// It is single use; only the hash of its token is stored.
type IntermediateSession struct {
	ID             string // "intermediate-session-test-…"
	ProjectID      string
	TokenHash      []byte
	EmailAddress   string
	OrganizationID string // "" for a discovery IST
	MemberID       string // "" for a discovery IST
	Factors        []Factor
	ExpiresAt      time.Time
	ConsumedAt     *time.Time
	CreatedAt      time.Time
}

// IntermediateSessionStore stores intermediate sessions.
type IntermediateSessionStore interface {
	// CreateIntermediateSession inserts ist.
	CreateIntermediateSession(ctx context.Context, ist *IntermediateSession) error
	// FindIntermediateSession returns the live (unconsumed, unexpired) IST
	// whose token hash is any of hashes. EISTNotFound.
	FindIntermediateSession(ctx context.Context, projectID string, hashes [][]byte) (*IntermediateSession, error)
	// ConsumeIntermediateSession marks a live IST consumed. EISTNotFound
	// if it was consumed concurrently or has expired.
	ConsumeIntermediateSession(ctx context.Context, projectID, istID string) error
}
