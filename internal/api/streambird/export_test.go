package streambird

import "github.com/sesame-auth/sesame/internal/auth"

// RepairPairArrays exposes the tolerant body repair to the tests.
func RepairPairArrays(b []byte) ([]byte, bool) { return repairPairArrays(b) }

// ErrorFor returns the status, error_type and message the error table gives
// err, and whether the code has a row of its own.
func ErrorFor(err error) (status int, typ, msg string, listed bool) {
	code, row, m := lookupError(err)
	_, listed = errorTable[code]
	return row.status, row.typ, m, listed
}

var _ = auth.EInternal
