package postgres

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errTOTPNotImplemented = &auth.Error{Code: auth.EInternal, Message: "Not implemented yet."}

// CreateTOTP is not implemented yet.
func (db *DB) CreateTOTP(ctx context.Context, t *auth.TOTPRegistration, codes []auth.RecoveryCode) error {
	return errTOTPNotImplemented
}

// FindUserTOTP is not implemented yet.
func (db *DB) FindUserTOTP(ctx context.Context, projectID, userID string) (*auth.TOTPRegistration, error) {
	return nil, errTOTPNotImplemented
}

// FindMemberTOTP is not implemented yet.
func (db *DB) FindMemberTOTP(ctx context.Context, projectID, orgID, memberID string) (*auth.TOTPRegistration, error) {
	return nil, errTOTPNotImplemented
}

// AttemptTOTP is not implemented yet.
func (db *DB) AttemptTOTP(ctx context.Context, projectID string, at auth.TOTPAttempt, now time.Time) (*auth.TOTPAttemptResult, error) {
	return nil, errTOTPNotImplemented
}

// ListRecoveryCodes is not implemented yet.
func (db *DB) ListRecoveryCodes(ctx context.Context, projectID, totpID string) ([]auth.RecoveryCode, error) {
	return nil, errTOTPNotImplemented
}

// ConsumeRecoveryCode is not implemented yet.
func (db *DB) ConsumeRecoveryCode(ctx context.Context, projectID, totpID string, hashes [][]byte, istID string, upd *auth.MemberMFAUpdate, now time.Time) (*auth.RecoveryCode, int, *auth.Member, error) {
	return nil, 0, nil, errTOTPNotImplemented
}

// ReplaceRecoveryCodes is not implemented yet.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, projectID, totpID string, codes []auth.RecoveryCode) error {
	return errTOTPNotImplemented
}

// DeleteTOTP is not implemented yet.
func (db *DB) DeleteTOTP(ctx context.Context, projectID, totpID string) (string, string, error) {
	return "", "", errTOTPNotImplemented
}

// DeleteMemberTOTP is not implemented yet.
func (db *DB) DeleteMemberTOTP(ctx context.Context, projectID, memberID string) (bool, error) {
	return false, errTOTPNotImplemented
}
