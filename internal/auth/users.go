package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits on user fields.
const (
	maxNamePart     = 256
	maxExternalID   = 128
	maxMetadataSize = 16 * 1024
)

// validText rejects strings Postgres cannot store in text or jsonb: invalid
// UTF-8 and NUL characters.
func validText(field, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return Invalid(field, "%s must be valid UTF-8 without NUL characters.", field)
	}
	return nil
}

func validName(n *Name) error {
	for field, v := range map[string]string{"first_name": n.First, "middle_name": n.Middle, "last_name": n.Last} {
		if len(v) > maxNamePart {
			return Invalid(field, "%s must be at most %d characters.", field, maxNamePart)
		}
		if err := validText(field, v); err != nil {
			return err
		}
	}
	return nil
}

// validMetadata checks that raw (if set) is a JSON object within the size limit.
func validMetadata(field string, raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	if len(raw) > maxMetadataSize {
		return Invalid(field, "%s must be at most %d bytes of JSON.", field, maxMetadataSize)
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return Invalid(field, "%s must be a JSON object.", field)
	}
	if bytes.Contains(t, []byte(`\u0000`)) {
		return Invalid(field, "%s must not contain NUL characters.", field)
	}
	return nil
}

func validID(field, id string, code Code) error {
	if id == "" {
		return &Error{Code: code, Field: field, Message: field + " is required."}
	}
	if len(id) > 128 || strings.ContainsAny(id, " \t\r\n/\x00") || !utf8.ValidString(id) {
		return &Error{Code: code, Field: field, Message: field + " format is invalid."}
	}
	return nil
}

// CreateUser creates a user with an email and/or a phone number.
// Returns EInvalid, EInvalidEmail, EInvalidPhone, EDuplicateEmail, EDuplicatePhone.
func (s *Service) CreateUser(ctx context.Context, p *Project, in CreateUserInput) (*User, error) {
	if in.Email == "" && in.Phone == "" {
		return nil, Invalid("email", "Either email or phone_number is required.")
	}
	if err := validName(&in.Name); err != nil {
		return nil, err
	}
	if len(in.ExternalID) > maxExternalID {
		return nil, Invalid("external_id", "external_id must be at most %d characters.", maxExternalID)
	}
	if err := validText("external_id", in.ExternalID); err != nil {
		return nil, err
	}
	if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
		return nil, err
	}
	if err := validMetadata("untrusted_metadata", in.UntrustedMetadata); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &User{
		ID: NewID(PrefixUser, p), ProjectID: p.ID, Status: UserActive, Name: in.Name, ExternalID: in.ExternalID,
		TrustedMetadata: orEmptyObject(in.TrustedMetadata), UntrustedMetadata: orEmptyObject(in.UntrustedMetadata),
		CreatedAt: now, UpdatedAt: now,
	}
	if in.Pending {
		u.Status = UserPending
	}
	if in.Email != "" {
		addr, err := NormalizeEmail(in.Email)
		if err != nil {
			return nil, err
		}
		u.Emails = []Email{{ID: NewID(PrefixEmail, p), UserID: u.ID, Address: addr, CreatedAt: now, UpdatedAt: now}}
	}
	if in.Phone != "" {
		num, err := NormalizePhone(in.Phone)
		if err != nil {
			return nil, err
		}
		u.Phones = []Phone{{ID: NewID(PrefixPhone, p), UserID: u.ID, Number: num, CreatedAt: now, UpdatedAt: now}}
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage(`{}`)
	}
	return raw
}

// GetUser returns a user. Returns EInvalidUserID or EUserNotFound.
func (s *Service) GetUser(ctx context.Context, p *Project, userID string) (*User, error) {
	if err := validID("user_id", userID, EInvalidUserID); err != nil {
		return nil, err
	}
	return s.store.FindUser(ctx, p.ID, userID)
}

// UpdateUser changes a user and attaches new emails and phone numbers.
// Returns EUserNotFound, EInvalid*, EDuplicateEmail, EDuplicatePhone.
func (s *Service) UpdateUser(ctx context.Context, p *Project, userID string, in UpdateUserInput) (*User, error) {
	if err := validID("user_id", userID, EInvalidUserID); err != nil {
		return nil, err
	}
	if in.Name != nil {
		if err := validName(in.Name); err != nil {
			return nil, err
		}
	}
	if in.ExternalID != nil {
		if len(*in.ExternalID) > maxExternalID {
			return nil, Invalid("external_id", "external_id must be at most %d characters.", maxExternalID)
		}
		if err := validText("external_id", *in.ExternalID); err != nil {
			return nil, err
		}
	}
	if err := validMetadata("trusted_metadata", in.TrustedMetadata); err != nil {
		return nil, err
	}
	if err := validMetadata("untrusted_metadata", in.UntrustedMetadata); err != nil {
		return nil, err
	}
	upd := UserUpdate{Name: in.Name, ExternalID: in.ExternalID, TrustedMetadata: in.TrustedMetadata, UntrustedMetadata: in.UntrustedMetadata}
	now := s.now().UTC()
	seen := map[string]bool{}
	for _, e := range in.AddEmails {
		addr, err := NormalizeEmail(e)
		if err != nil {
			return nil, err
		}
		if !seen[addr] {
			seen[addr] = true
			upd.AddEmails = append(upd.AddEmails, Email{ID: NewID(PrefixEmail, p), UserID: userID, Address: addr, CreatedAt: now, UpdatedAt: now})
		}
	}
	for _, ph := range in.AddPhones {
		num, err := NormalizePhone(ph)
		if err != nil {
			return nil, err
		}
		if !seen[num] {
			seen[num] = true
			upd.AddPhones = append(upd.AddPhones, Phone{ID: NewID(PrefixPhone, p), UserID: userID, Number: num, CreatedAt: now, UpdatedAt: now})
		}
	}
	return s.store.UpdateUser(ctx, p.ID, userID, upd)
}

// DeleteUser deletes a user with its methods, codes, links and sessions.
// Returns EInvalidUserID or EUserNotFound.
func (s *Service) DeleteUser(ctx context.Context, p *Project, userID string) error {
	if err := validID("user_id", userID, EInvalidUserID); err != nil {
		return err
	}
	return s.store.DeleteUser(ctx, p.ID, userID)
}

// DeleteEmail removes an email from its user and returns the user. EEmailNotFound.
func (s *Service) DeleteEmail(ctx context.Context, p *Project, emailID string) (*User, error) {
	if err := validID("email_id", emailID, EEmailNotFound); err != nil {
		return nil, err
	}
	userID, err := s.store.DeleteEmail(ctx, p.ID, emailID)
	if err != nil {
		return nil, err
	}
	return s.store.FindUser(ctx, p.ID, userID)
}

// DeletePhone removes a phone number from its user and returns the user. EPhoneNotFound.
func (s *Service) DeletePhone(ctx context.Context, p *Project, phoneID string) (*User, error) {
	if err := validID("phone_id", phoneID, EPhoneNotFound); err != nil {
		return nil, err
	}
	userID, err := s.store.DeletePhone(ctx, p.ID, phoneID)
	if err != nil {
		return nil, err
	}
	return s.store.FindUser(ctx, p.ID, userID)
}

// SearchUsers returns one page of the project's users matching q.
// Returns EInvalid for a bad limit or cursor.
func (s *Service) SearchUsers(ctx context.Context, p *Project, q UserQuery) (*UserPage, error) {
	if q.Limit < 0 || q.Limit > 1000 {
		return nil, Invalid("limit", "limit must be between 1 and 1000.")
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Status != "" && q.Status != UserActive && q.Status != UserPending {
		return nil, Invalid("status", "status must be active or pending.")
	}
	for _, list := range [][]string{q.UserIDs, q.EmailAddresses, q.EmailIDs, q.PhoneNumbers, q.PhoneIDs, q.TOTPIDs, {q.FullNameFuzzy, q.EmailFuzzy, q.PhoneFuzzy, q.Cursor}} {
		for _, v := range list {
			if err := validText("query", v); err != nil {
				return nil, err
			}
		}
	}
	for i, e := range q.EmailAddresses {
		q.EmailAddresses[i] = strings.ToLower(strings.TrimSpace(e))
	}
	for i, ph := range q.PhoneNumbers {
		if num, err := NormalizePhone(ph); err == nil {
			q.PhoneNumbers[i] = num
		}
	}
	return s.store.SearchUsers(ctx, p.ID, q)
}

// methodValue returns the address or number of an email/phone id on u.
func methodValue(u *User, methodID string) (value string, isEmail bool) {
	for _, e := range u.Emails {
		if e.ID == methodID {
			return e.Address, true
		}
	}
	for _, ph := range u.Phones {
		if ph.ID == methodID {
			return ph.Number, false
		}
	}
	return "", false
}
