package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestParseKeyring(t *testing.T) {
	hexKey := hex.EncodeToString(key(1))
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"OneHexKey", hexKey, ""},
		{"TwoKeysWithSpaces", hexKey + " , " + hex.EncodeToString(key(2)), ""},
		{"Base64Key", base64.StdEncoding.EncodeToString(key(3)), ""},
		{"Base64URLRawKey", base64.RawURLEncoding.EncodeToString(key(4)), ""},
		{"ErrEmpty", "", "no key"},
		{"ErrShortHex", hexKey[:62], "key 1"},
		{"ErrSecondKeyBad", hexKey + ",zz", "key 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := auth.ParseKeyring(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || kr == nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestKeyring_CodeMACSurvivesRotation(t *testing.T) {
	old, _ := auth.NewKeyring(key(1))
	rotated, _ := auth.NewKeyring(key(2), key(1))
	unrelated, _ := auth.NewKeyring(key(3))
	mac := old.CodeMAC("otp-1", "123456")
	tests := []struct {
		name      string
		kr        *auth.Keyring
		challenge string
		code      string
		want      bool
	}{
		{"OKSameKey", old, "otp-1", "123456", true},
		{"OKOldKeyAfterRotation", rotated, "otp-1", "123456", true},
		{"ErrWrongCode", rotated, "otp-1", "123457", false},
		{"ErrOtherChallenge", rotated, "otp-2", "123456", false},
		{"ErrKeyRemoved", unrelated, "otp-1", "123456", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kr.VerifyCode(tt.challenge, tt.code, mac); got != tt.want {
				t.Fatalf("VerifyCode = %v, want %v", got, tt.want)
			}
		})
	}
	if bytes.Contains(mac, []byte("123456")) {
		t.Fatal("MAC contains the code")
	}
}

func TestKeyring_TokenHashesNewestFirst(t *testing.T) {
	old, _ := auth.NewKeyring(key(1))
	rotated, _ := auth.NewKeyring(key(2), key(1))
	hs := rotated.TokenHashes("tok")
	if len(hs) != 2 || !bytes.Equal(hs[0], rotated.TokenHash("tok")) || !bytes.Equal(hs[1], old.TokenHash("tok")) {
		t.Fatal("TokenHashes must list the newest key's hash first, then older keys'")
	}
}

func TestKeyring_EncryptDecrypt(t *testing.T) {
	old, _ := auth.NewKeyring(key(1))
	rotated, _ := auth.NewKeyring(key(2), key(1))
	other, _ := auth.NewKeyring(key(9))
	ct := old.Encrypt([]byte("secret payload"), []byte("row-1"))
	tests := []struct {
		name string
		kr   *auth.Keyring
		ct   []byte
		ad   string
		ok   bool
	}{
		{"OKSameKey", old, ct, "row-1", true},
		{"OKAfterRotation", rotated, ct, "row-1", true},
		{"ErrWrongAssociatedData", rotated, ct, "row-2", false},
		{"ErrUnknownKey", other, ct, "row-1", false},
		{"ErrTruncated", old, ct[:10], "row-1", false},
		{"ErrTampered", old, append(append([]byte{}, ct[:len(ct)-1]...), ct[len(ct)-1]^1), "row-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.kr.Decrypt(tt.ct, []byte(tt.ad))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && string(pt) != "secret payload" {
				t.Fatalf("plaintext = %q", pt)
			}
		})
	}
	if bytes.Contains(ct, []byte("secret payload")) {
		t.Fatal("ciphertext contains the plaintext")
	}
}

func TestNewCode_UniformSixDigits(t *testing.T) {
	counts := make([]int, 10)
	const n = 20000
	for i := 0; i < n; i++ {
		c := auth.NewCode()
		if len(c) != 6 {
			t.Fatalf("code %q is not 6 characters", c)
		}
		for _, r := range c {
			if r < '0' || r > '9' {
				t.Fatalf("code %q has a non-digit", c)
			}
		}
		counts[c[0]-'0']++
	}
	// Each leading digit is expected n/10 times; allow a wide band (about 7 sigma).
	for d, got := range counts {
		if got < n/10-400 || got > n/10+400 {
			t.Fatalf("leading digit %d appeared %d times of %d: not uniform", d, got, n)
		}
	}
}

func TestNewToken_256Bits(t *testing.T) {
	a, b := auth.NewToken(), auth.NewToken()
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q does not decode to 32 bytes: %v", a, err)
	}
	if a == b {
		t.Fatal("two tokens are equal")
	}
}

func TestPKCEChallenge_S256(t *testing.T) {
	// Expected value computed independently: base64url(sha256(verifier)) without padding.
	if got := auth.PKCEChallenge("a-pkce-code-verifier-of-43-characters-xxxxx"); got != "FWPeQCgTmCOX5S-90xRp7z1-IQ_kTtn5caI1lIdjm_U" {
		t.Fatalf("challenge = %s", got)
	}
}
