package stytch

import "github.com/sesame-auth/sesame/internal/auth"

// ErrorSpec exposes the error table to the external tests.
func ErrorSpec(code auth.Code) (status int, errorType string, ok bool) {
	s, ok := errorTable[code]
	return s.status, s.typ, ok
}
