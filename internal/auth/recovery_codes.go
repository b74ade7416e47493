package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
)

// This file holds the TOTP and recovery-code primitives shared by the
// consumer and B2B calls: secret generation, code matching, QR codes and
// recovery codes.

// totpOpts are the RFC 6238 parameters: 30-second steps, 6 digits, SHA-1.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPKey returns a fresh 160-bit secret from crypto/rand with its
// otpauth:// URL for the account.
func newTOTPKey(account string) (*otp.Key, error) {
	if account == "" {
		account = "user"
	}
	return totp.Generate(totp.GenerateOpts{
		Issuer: TOTPIssuer, AccountName: account, Period: 30, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader,
	})
}

// TOTPStep is the RFC 6238 time step of t (30-second steps since the epoch).
func TOTPStep(t time.Time) int64 { return t.Unix() / 30 }

// TOTPCode returns the 6-digit code of secret (base32) at t. It is
// exported for tests and tools; the service never logs a code.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// matchTOTPStep returns the time step within ±1 step of now whose code is
// code, preferring the oldest step newer than lastStep, or 0 when none
// matches. Every candidate is compared in constant time.
func matchTOTPStep(secret, code string, now time.Time, lastStep int64) (int64, error) {
	cur := TOTPStep(now)
	var fresh, any int64
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOpts)
		if err != nil {
			return 0, Internal(err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if any == 0 {
				any = step
			}
			if fresh == 0 && step > lastStep {
				fresh = step
			}
		}
	}
	if fresh != 0 {
		return fresh, nil
	}
	return any, nil
}

// qrDataURL renders s as a PNG QR code data URL.
func qrDataURL(s string) (string, error) {
	png, err := qrcode.Encode(s, qrcode.Medium, 256)
	if err != nil {
		return "", Internal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

// newRecoveryCode returns a random recovery code "xxxx-xxxx" (8 characters
// of lower-case base32 from crypto/rand: 40 bits).
func newRecoveryCode() string {
	t := strings.ToLower(rand.Text()[:8])
	return t[:4] + "-" + t[4:]
}

// normalizeRecoveryCode lower-cases a recovery code and drops spaces.
func normalizeRecoveryCode(c string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(c), " ", ""))
}

// newRecoveryCodes returns RecoveryCodeCount fresh codes of a registration
// and their stored rows (keyed hash and ciphertext).
func (s *Service) newRecoveryCodes(p *Project, totpID string, now time.Time) ([]string, []RecoveryCode) {
	plain := make([]string, RecoveryCodeCount)
	for i := range plain {
		plain[i] = newRecoveryCode()
	}
	return plain, s.recoveryCodeRows(p, totpID, plain, now)
}

// recoveryCodeRows returns the stored rows (keyed hash and ciphertext) of
// the normalized codes plain.
func (s *Service) recoveryCodeRows(p *Project, totpID string, plain []string, now time.Time) []RecoveryCode {
	rows := make([]RecoveryCode, len(plain))
	for i := range plain {
		id := NewID(PrefixRecoveryCode, p)
		rows[i] = RecoveryCode{ID: id, TOTPID: totpID, CodeHash: s.keys.TokenHash(plain[i]),
			CodeEnc: s.keys.Encrypt([]byte(plain[i]), []byte(id)), CreatedAt: now}
	}
	return rows
}

// openRecoveryCodes decrypts stored codes, skipping any no key opens.
func (s *Service) openRecoveryCodes(rows []RecoveryCode) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if pt, err := s.keys.Decrypt(r.CodeEnc, []byte(r.ID)); err == nil {
			out = append(out, string(pt))
		}
	}
	return out
}

// checkRecoveryCode checks the shape of a recovery code.
func checkRecoveryCode(c string) error {
	if c == "" {
		return Invalid("recovery_code", "recovery_code is required.")
	}
	if len(c) > 64 {
		return Invalid("recovery_code", "recovery_code is too long.")
	}
	return validText("recovery_code", c)
}

// checkTOTPExpiration applies the default and range of expiration_minutes.
func checkTOTPExpiration(d, def time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	if d < MinTOTPExpiration || d > MaxTOTPExpiration {
		return 0, &Error{Code: EInvalidExpiration, Field: "expiration_minutes", Message: "expiration_minutes must be between 5 and 1440."}
	}
	return d, nil
}

// newRegistration builds an unverified registration with a fresh secret,
// its URL, QR code and recovery codes. The owner fields are the caller's.
func (s *Service) newRegistration(p *Project, account string, exp time.Duration) (*TOTPRegistration, []RecoveryCode, *TOTPCreateResult, error) {
	key, err := newTOTPKey(account)
	if err != nil {
		return nil, nil, nil, Internal(err)
	}
	qr, err := qrDataURL(key.URL())
	if err != nil {
		return nil, nil, nil, err
	}
	now := s.now().UTC()
	t := &TOTPRegistration{ID: NewID(PrefixTOTP, p), ProjectID: p.ID, ExpiresAt: now.Add(exp), CreatedAt: now}
	t.SecretEnc = s.keys.Encrypt([]byte(key.Secret()), []byte(t.ID))
	plain, rows := s.newRecoveryCodes(p, t.ID, now)
	return t, rows, &TOTPCreateResult{TOTPID: t.ID, Secret: key.Secret(), URL: key.URL(), QRCode: qr, RecoveryCodes: plain}, nil
}

// attemptTOTP decrypts t's secret, matches code and records the attempt
// atomically (with the IST and member update of at). ETOTPWrong,
// ETOTPUsed, ETOTPLocked, ETOTPNotFound, EISTNotFound.
func (s *Service) attemptTOTP(ctx context.Context, p *Project, t *TOTPRegistration, code string, at TOTPAttempt) (*TOTPAttemptResult, error) {
	now := s.now().UTC()
	if !t.Verified && !now.Before(t.ExpiresAt) {
		return nil, Errorf(ETOTPNotFound, "The TOTP registration has expired; create a new one.")
	}
	secret, err := s.keys.Decrypt(t.SecretEnc, []byte(t.ID))
	if err != nil {
		return nil, Internal(err)
	}
	step, err := matchTOTPStep(string(secret), code, now, t.LastStep)
	if err != nil {
		return nil, err
	}
	at.TOTPID, at.Step, at.MaxAttempts, at.Lockout = t.ID, step, s.cfg.MaxOTPAttempts, TOTPLockout
	res, err := s.store.AttemptTOTP(ctx, p.ID, at, now)
	if err != nil {
		s.metrics.Authenticated(FactorTOTP, string(ErrorCode(err)))
		return nil, err
	}
	switch res.Outcome {
	case TOTPWrongCode:
		s.metrics.Authenticated(FactorTOTP, string(ETOTPWrong))
		return nil, &Error{Code: ETOTPWrong, Field: "code", Message: "The TOTP code is incorrect."}
	case TOTPReplay:
		s.metrics.Authenticated(FactorTOTP, string(ETOTPUsed))
		return nil, &Error{Code: ETOTPUsed, Field: "code", Message: "The TOTP code was already used; wait for the next one."}
	}
	s.metrics.Authenticated(FactorTOTP, "ok")
	return res, nil
}

// totpFactor is the factor of an accepted TOTP code.
func totpFactor(totpID string, now time.Time) Factor {
	return Factor{Type: FactorTOTP, DeliveryMethod: DeliveryAuthenticatorApp, MethodID: totpID,
		LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
}

// recoveryFactor is the factor of a used recovery code.
func recoveryFactor(codeID string, now time.Time) Factor {
	return Factor{Type: FactorRecoveryCodes, DeliveryMethod: DeliveryRecoveryCode, MethodID: codeID,
		LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}
}
