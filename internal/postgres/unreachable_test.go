package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestInternal_CutSessionsAreUnavailable: errors of a database that went
// away (restart, crash, dead connection) map to EUnavailable (503); errors
// of a statement, and a caller's own cancellation, stay EInternal.
func TestInternal_CutSessionsAreUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want auth.Code
	}{
		{"UnavailableAdminShutdown57P01", &pgconn.PgError{Code: "57P01"}, auth.EUnavailable},
		{"UnavailableCrashShutdown57P02", &pgconn.PgError{Code: "57P02"}, auth.EUnavailable},
		{"UnavailableStartingUp57P03", &pgconn.PgError{Code: "57P03"}, auth.EUnavailable},
		{"UnavailableConnectionFailure08006", fmt.Errorf("query: %w", &pgconn.PgError{Code: "08006"}), auth.EUnavailable},
		{"UnavailableDiedMidStatement", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), auth.EUnavailable},
		{"UnavailableSocketError", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, auth.EUnavailable},
		{"InternalQueryCanceled57014", &pgconn.PgError{Code: "57014"}, auth.EInternal},
		{"InternalSyntaxError", &pgconn.PgError{Code: "42601"}, auth.EInternal},
		{"InternalCallerCanceled", context.Canceled, auth.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae *auth.Error
			if !errors.As(internal(tt.err), &ae) || ae.Code != tt.want {
				t.Fatalf("internal(%v) = %v, want code %s", tt.err, internal(tt.err), tt.want)
			}
		})
	}
}
