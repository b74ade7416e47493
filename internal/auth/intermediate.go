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

// maxISTLen bounds the intermediate session tokens looked up.
const maxISTLen = 512

// newIST stores a fresh intermediate session for the factors proven so far
// and returns it with its plaintext token (returned once, never stored).
// orgID and memberID are "" for a discovery IST bound to email only.
func (s *Service) newIST(ctx context.Context, p *Project, email, orgID, memberID string, factors []Factor) (*IntermediateSession, string, error) {
	now := s.now().UTC()
	token := NewToken()
	ist := &IntermediateSession{
		ID: NewID(PrefixIntermediate, p), ProjectID: p.ID, TokenHash: s.keys.TokenHash(token),
		EmailAddress: email, OrganizationID: orgID, MemberID: memberID, Factors: factors,
		ExpiresAt: now.Add(ISTLifetime), CreatedAt: now,
	}
	if err := s.store.CreateIntermediateSession(ctx, ist); err != nil {
		return nil, "", err
	}
	return ist, token, nil
}

// findIST returns the live IST of token. EISTNotFound.
func (s *Service) findIST(ctx context.Context, p *Project, token string) (*IntermediateSession, error) {
	if token == "" || len(token) > maxISTLen {
		return nil, Errorf(EISTNotFound, "Intermediate session could not be found.")
	}
	return s.store.FindIntermediateSession(ctx, p.ID, s.keys.TokenHashes(token))
}

// checkISTFor checks that ist may continue an authentication of member m
// of organization o: an IST bound to a member must be bound to m and o; a
// discovery IST (bound to an email only) must carry m's email.
// EISTOrgMismatch.
func checkISTFor(ist *IntermediateSession, o *Organization, m *Member) error {
	if ist.MemberID == "" && ist.OrganizationID == "" {
		if ist.EmailAddress != m.EmailAddress {
			return Errorf(EISTOrgMismatch, "The intermediate session token belongs to another email address.")
		}
		return nil
	}
	if ist.OrganizationID != o.ID || ist.MemberID != m.ID {
		return Errorf(EISTOrgMismatch, "The intermediate session token belongs to another organization or member.")
	}
	return nil
}
