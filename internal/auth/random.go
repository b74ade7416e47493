package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/google/uuid"
)

// CodeLength is the number of digits in a one-time code.
const CodeLength = 6

var codeSpace = big.NewInt(1_000_000)

// NewCode returns a uniformly random 6-digit code from crypto/rand.
func NewCode() string {
	n, err := rand.Int(rand.Reader, codeSpace)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// NewToken returns a 256-bit random token, base64url without padding (43 characters).
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewUUID returns a random (version 4) UUID string: every character is
// random, so a prefix of it is as unique as its length allows.
func NewUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewTimeUUID returns a version 7 UUID string (RFC 9562): 48 bits of Unix
// milliseconds, then 74 random bits from crypto/rand (google/uuid keeps
// the values of one process increasing within a millisecond). Ids made of
// it sort by creation time, so a primary key or an id index takes its new
// entries at the right edge of the btree instead of on a random page (a
// cache miss, and a full-page image in the WAL after each checkpoint).
// It reveals when the row was made: ids are not secrets (codes and tokens
// are 256-bit random, NewCode and NewToken). A prefix of it is not unique:
// use NewUUID for that.
func NewTimeUUID() string {
	u, err := uuid.NewV7()
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return u.String()
}

// ID prefixes. An id reads "<prefix>-test-<uuid>" in test projects and
// "<prefix>-live-<uuid>" in live ones, as Stytch's do; the UUID is a
// version 7 one (NewTimeUUID), so ids sort by creation time.
const (
	PrefixUser      = "user"
	PrefixEmail     = "email"
	PrefixPhone     = "phone-number"
	PrefixSession   = "session"
	PrefixChallenge = "otp"
	PrefixMagicLink = "magic-link"
	PrefixMessage   = "message"
	PrefixKey       = "jwk"
)

// NewID returns a fresh id with the prefix and the project's environment.
func NewID(prefix string, p *Project) string {
	env := "test"
	if p != nil && p.Live() {
		env = "live"
	}
	return prefix + "-" + env + "-" + NewTimeUUID()
}

// PKCEChallenge returns the S256 code challenge of a PKCE code verifier
// (base64url of SHA-256, no padding), as RFC 7636 defines it.
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
