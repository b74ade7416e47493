package authtest

import (
	"strings"

	"github.com/sesame-auth/sesame/internal/api/httpx"
)

// HostileBody is a request body made hostile in one way, and the status a
// route must answer: 413 for the oversize body; 0 for the others, which
// are a 400 where the route reads its body (a route that reads none may
// answer another 4xx first).
type HostileBody struct {
	Name, Body string
	Status     int
}

// HostileBodies returns one body of each class of hostile input the strict
// decoder refuses: trailing data, a second JSON value, a NUL escape, raw
// invalid UTF-8, a lone surrogate, an oversize string, an oversize body
// and a body that is not JSON. wrap returns a JSON object the route would
// accept with v placed in it (in one or more strings), so that only the
// hostile part can be the reason for a refusal.
func HostileBodies(wrap func(v string) string) []HostileBody {
	ok := wrap("a@example.com")
	return []HostileBody{
		{"trailing data", ok + "} junk", 0},
		{"second JSON value", ok + ok, 0},
		{"NUL escape", wrap(`a\u0000b@example.com`), 0},
		{"invalid UTF-8", wrap("a\xffb@example.com"), 0},
		{"lone surrogate", wrap(`a\ud800b@example.com`), 0},
		{"oversize string", wrap(strings.Repeat("a", httpx.MaxStringBytes+1)), 0},
		{"oversize body", wrap(strings.Repeat("a", httpx.MaxBodyBytes)), 413},
		{"not JSON", "email=a@example.com", 0},
	}
}
