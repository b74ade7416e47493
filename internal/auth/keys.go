package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Keyring holds the root keys from SECRET_KEYS, newest first, and the
// purpose-bound keys derived from each with HKDF-SHA256. The newest key
// signs and encrypts; every key verifies and decrypts, so old codes, tokens
// and ciphertexts keep working during a rotation.
type Keyring struct {
	keys []derivedKeys
}

type derivedKeys struct {
	id    [8]byte // fingerprint of the encryption key, stored in ciphertexts
	code  []byte  // HMAC key for one-time codes
	token []byte  // HMAC key for magic-link and session tokens
	aead  cipher.AEAD
}

// ParseKeyring parses SECRET_KEYS: comma-separated root keys, newest first.
// Each key is 32 bytes written as 64 hex characters, or as base64 (standard
// or URL alphabet, padded or not) of 32 bytes.
func ParseKeyring(s string) (*Keyring, error) {
	var roots [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := decodeRootKey(part)
		if err != nil {
			return nil, fmt.Errorf("SECRET_KEYS: key %d: %w", i+1, err)
		}
		roots = append(roots, k)
	}
	if len(roots) == 0 {
		return nil, errors.New("SECRET_KEYS: no key given (want 64 hex characters per key, comma-separated, newest first)")
	}
	return NewKeyring(roots...)
}

func decodeRootKey(s string) ([]byte, error) {
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("not 32 bytes as 64 hex characters or base64")
}

// NewKeyring builds a keyring from raw 32-byte root keys, newest first.
func NewKeyring(roots ...[]byte) (*Keyring, error) {
	kr := &Keyring{}
	for _, root := range roots {
		if len(root) != 32 {
			return nil, fmt.Errorf("root key must be 32 bytes, got %d", len(root))
		}
		derive := func(info string) []byte {
			k, err := hkdf.Key(sha256.New, root, nil, info, 32)
			if err != nil {
				panic(err) // only for invalid lengths, which are constant here
			}
			return k
		}
		enc := derive("sesame/v1/encryption")
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		var id [8]byte
		sum := sha256.Sum256(enc)
		copy(id[:], sum[:8])
		kr.keys = append(kr.keys, derivedKeys{id: id, code: derive("sesame/v1/otp-code"), token: derive("sesame/v1/token"), aead: aead})
	}
	return kr, nil
}

// MustGenerateKey returns a fresh random root key as 64 hex characters.
func MustGenerateKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func codeMAC(key []byte, challengeID, code string) []byte {
	m := hmac.New(sha512.New512_256, key)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// CodeMAC returns the HMAC of a one-time code bound to its challenge id,
// under the newest key. Only this value is stored.
func (kr *Keyring) CodeMAC(challengeID, code string) []byte {
	return codeMAC(kr.keys[0].code, challengeID, code)
}

// VerifyCode reports, in constant time per key, whether code matches the
// stored MAC under any key of the ring.
func (kr *Keyring) VerifyCode(challengeID, code string, mac []byte) bool {
	ok := false
	for _, k := range kr.keys {
		if hmac.Equal(codeMAC(k.code, challengeID, code), mac) {
			ok = true
		}
	}
	return ok
}

// methodBinding binds a consumer code to its project and method, which a
// verify knows before reading the challenge (unlike the challenge id): the
// MAC candidates are computed first and compared by the verify statement.
func methodBinding(projectID, methodID string) string {
	return "method\x00" + projectID + "\x00" + methodID
}

// MethodCodeMAC returns the HMAC of a consumer one-time code bound to its
// project and method, under the newest key. Only this value is stored.
func (kr *Keyring) MethodCodeMAC(projectID, methodID, code string) []byte {
	return codeMAC(kr.keys[0].code, methodBinding(projectID, methodID), code)
}

// MethodCodeMACs returns the code's MethodCodeMAC under every key, newest
// first, for a verify that compares in its statement
// (code_hmac = ANY($macs)) and must survive a rotation.
func (kr *Keyring) MethodCodeMACs(projectID, methodID, code string) [][]byte {
	out := make([][]byte, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = codeMAC(k.code, methodBinding(projectID, methodID), code)
	}
	return out
}

// TokenHash returns the keyed hash of a high-entropy token under the newest key.
func (kr *Keyring) TokenHash(token string) []byte {
	m := hmac.New(sha256.New, kr.keys[0].token)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// TokenHashes returns the token's keyed hash under every key, newest first,
// for lookups that must survive a rotation (WHERE token_hash = ANY($1)).
func (kr *Keyring) TokenHashes(token string) [][]byte {
	out := make([][]byte, len(kr.keys))
	for i, k := range kr.keys {
		m := hmac.New(sha256.New, k.token)
		m.Write([]byte(token))
		out[i] = m.Sum(nil)
	}
	return out
}

// Encrypt seals plaintext with AES-256-GCM under the newest key. The
// associated data binds the ciphertext to its row (for example its id).
// The output is key fingerprint (8 bytes) || nonce || ciphertext.
func (kr *Keyring) Encrypt(plaintext, associated []byte) []byte {
	k := kr.keys[0]
	out := make([]byte, 8, 8+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	copy(out, k.id[:])
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, associated)
}

// ErrDecrypt is returned when no key of the ring opens a ciphertext.
var ErrDecrypt = errors.New("ciphertext cannot be opened with any key in SECRET_KEYS")

// Decrypt opens a ciphertext made by Encrypt with any key of the ring.
func (kr *Keyring) Decrypt(ciphertext, associated []byte) ([]byte, error) {
	if len(ciphertext) < 8 {
		return nil, ErrDecrypt
	}
	for _, k := range kr.keys {
		if !hmac.Equal(k.id[:], ciphertext[:8]) {
			continue
		}
		ns := k.aead.NonceSize()
		if len(ciphertext) < 8+ns {
			return nil, ErrDecrypt
		}
		pt, err := k.aead.Open(nil, ciphertext[8:8+ns], ciphertext[8+ns:], associated)
		if err != nil {
			return nil, ErrDecrypt
		}
		return pt, nil
	}
	return nil, ErrDecrypt
}
