package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
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

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ID prefixes. An id reads "<prefix>-test-<uuid>" in test projects and
// "<prefix>-live-<uuid>" in live ones, as Stytch's do.
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
	return prefix + "-" + env + "-" + NewUUID()
}

// PKCEChallenge returns the S256 code challenge of a PKCE code verifier
// (base64url of SHA-256, no padding), as RFC 7636 defines it.
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
