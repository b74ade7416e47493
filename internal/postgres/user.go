package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

const userColumns = `u.id, u.project_id, u.status, u.first_name, u.middle_name, u.last_name, u.external_id,
	u.trusted_metadata, u.untrusted_metadata, u.created_at, u.updated_at`

func scanUser(row pgx.Row) (*auth.User, error) {
	var u auth.User
	var trusted, untrusted []byte
	if err := row.Scan(&u.ID, &u.ProjectID, &u.Status, &u.Name.First, &u.Name.Middle, &u.Name.Last, &u.ExternalID,
		&trusted, &untrusted, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.TrustedMetadata = rawObject(trusted)
	u.UntrustedMetadata = rawObject(untrusted)
	u.Emails = []auth.Email{}
	u.Phones = []auth.Phone{}
	return &u, nil
}

func rawObject(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

var (
	errUserNotFound  = &auth.Error{Code: auth.EUserNotFound, Field: "user_id", Message: "User not found."}
	errEmailNotFound = &auth.Error{Code: auth.EEmailNotFound, Field: "email", Message: "Email not found."}
	errPhoneNotFound = &auth.Error{Code: auth.EPhoneNotFound, Field: "phone_number", Message: "Phone number not found."}
)

// CreateUser inserts u with its Emails and Phones (ids set by the caller)
// in one statement. A zero CreatedAt is set to now (UpdatedAt defaults to
// CreatedAt); the emails and phones get the user's CreatedAt. An empty
// Status means active. Returns
// EDuplicateEmail, EDuplicatePhone, EConflict (external_id taken) or
// ENotFound (no such project).
func (db *DB) CreateUser(ctx context.Context, u *auth.User) error {
	now := db.clock()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	if u.Status == "" {
		u.Status = auth.UserActive
	}
	u.TrustedMetadata = rawObject(u.TrustedMetadata)
	u.UntrustedMetadata = rawObject(u.UntrustedMetadata)

	n := len(u.Emails)
	eIDs, eAddr, eVer := make([]string, n), make([]string, n), make([]bool, n)
	for i := range u.Emails {
		e := &u.Emails[i]
		e.UserID, e.CreatedAt, e.UpdatedAt = u.ID, u.CreatedAt, u.CreatedAt
		eIDs[i], eAddr[i], eVer[i] = e.ID, e.Address, e.Verified
	}
	n = len(u.Phones)
	pIDs, pNum, pVer := make([]string, n), make([]string, n), make([]bool, n)
	for i := range u.Phones {
		p := &u.Phones[i]
		p.UserID, p.CreatedAt, p.UpdatedAt = u.ID, u.CreatedAt, u.CreatedAt
		pIDs[i], pNum[i], pVer[i] = p.ID, p.Number, p.Verified
	}
	if u.Emails == nil {
		u.Emails = []auth.Email{}
	}
	if u.Phones == nil {
		u.Phones = []auth.Phone{}
	}

	_, err := db.pool.Exec(ctx, `
		WITH u AS (
			INSERT INTO users (id, project_id, status, first_name, middle_name, last_name, external_id,
				trusted_metadata, untrusted_metadata, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)
		), e AS (
			INSERT INTO emails (id, project_id, user_id, address, verified, created_at, updated_at)
			SELECT x.id, $2, $1, x.address, x.verified, $10, $10
			FROM unnest($12::text[], $13::text[], $14::bool[]) AS x (id, address, verified)
		)
		INSERT INTO phone_numbers (id, project_id, user_id, number, verified, created_at, updated_at)
		SELECT x.id, $2, $1, x.number, x.verified, $10, $10
		FROM unnest($15::text[], $16::text[], $17::bool[]) AS x (id, number, verified)`,
		u.ID, u.ProjectID, string(u.Status), u.Name.First, u.Name.Middle, u.Name.Last, u.ExternalID,
		jsonObject(u.TrustedMetadata), jsonObject(u.UntrustedMetadata), u.CreatedAt, u.UpdatedAt,
		eIDs, eAddr, eVer, pIDs, pNum, pVer)
	if err != nil {
		return mapErr(err)
	}
	return nil
}

// FindUser returns the user with emails and phones (oldest first), or
// EUserNotFound. One round trip.
func (db *DB) FindUser(ctx context.Context, projectID, userID string) (*auth.User, error) {
	return findUser(ctx, db.pool, projectID, userID)
}

func findUser(ctx context.Context, q querier, projectID, userID string) (*auth.User, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+userColumns+` FROM users u WHERE u.project_id = $1 AND u.id = $2`, projectID, userID)
	queueMethods(b, projectID, []string{userID})
	br := q.SendBatch(ctx, b)
	defer br.Close()
	u, err := scanUser(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUserNotFound
	} else if err != nil {
		return nil, internal(err)
	}
	if err := readMethods(br, map[string]*auth.User{u.ID: u}); err != nil {
		return nil, internal(err)
	}
	return u, br.Close()
}

// queueMethods queues the two queries that load the emails and phones of
// userIDs; readMethods reads their results into users.
func queueMethods(b *pgx.Batch, projectID string, userIDs []string) {
	queueMethodsWhere(b, `user_id = ANY($2::text[])`, projectID, userIDs)
}

// queueMethodsWhere queues the three method reads of the users selected by
// cond (over args, $1 being the project id).
func queueMethodsWhere(b *pgx.Batch, cond string, args ...any) {
	b.Queue(`SELECT id, user_id, address, verified, created_at, updated_at FROM emails
		WHERE project_id = $1 AND `+cond+` ORDER BY created_at, id`, args...)
	b.Queue(`SELECT id, user_id, number, verified, created_at, updated_at FROM phone_numbers
		WHERE project_id = $1 AND `+cond+` ORDER BY created_at, id`, args...)
	b.Queue(`SELECT id, user_id, verified FROM totps WHERE project_id = $1 AND `+cond+`
		ORDER BY created_at, id`, args...)
}

func readMethods(br pgx.BatchResults, users map[string]*auth.User) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		var e auth.Email
		if err := rows.Scan(&e.ID, &e.UserID, &e.Address, &e.Verified, &e.CreatedAt, &e.UpdatedAt); err != nil {
			rows.Close()
			return err
		}
		if u := users[e.UserID]; u != nil {
			u.Emails = append(u.Emails, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		var p auth.Phone
		if err := rows.Scan(&p.ID, &p.UserID, &p.Number, &p.Verified, &p.CreatedAt, &p.UpdatedAt); err != nil {
			rows.Close()
			return err
		}
		if u := users[p.UserID]; u != nil {
			u.Phones = append(u.Phones, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return readUserTOTPs(br, users)
}

// UpdateUser applies upd in one transaction and returns the updated user.
// Non-nil metadata replaces the stored object. AddEmails and AddPhones are
// inserted unverified with the caller's ids. Returns EUserNotFound,
// EDuplicateEmail, EDuplicatePhone or EConflict (external_id taken).
func (db *DB) UpdateUser(ctx context.Context, projectID, userID string, upd auth.UserUpdate) (*auth.User, error) {
	now := db.clock()
	sets := []string{"updated_at = $3"}
	args := []any{projectID, userID, now}
	set := func(col string, v any, cast string) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d%s", col, len(args), cast))
	}
	if upd.Name != nil {
		set("first_name", upd.Name.First, "")
		set("middle_name", upd.Name.Middle, "")
		set("last_name", upd.Name.Last, "")
	}
	if upd.ExternalID != nil {
		set("external_id", *upd.ExternalID, "")
	}
	if upd.TrustedMetadata != nil {
		set("trusted_metadata", jsonObject(upd.TrustedMetadata), "::jsonb")
	}
	if upd.UntrustedMetadata != nil {
		set("untrusted_metadata", jsonObject(upd.UntrustedMetadata), "::jsonb")
	}
	if upd.Status != nil {
		set("status", string(*upd.Status), "")
	}
	var u *auth.User
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE project_id = $1 AND id = $2`, args...)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return errUserNotFound
		}
		if len(upd.AddEmails) > 0 || len(upd.AddPhones) > 0 {
			var eIDs, eAddr, pIDs, pNum []string
			for _, e := range upd.AddEmails {
				eIDs, eAddr = append(eIDs, e.ID), append(eAddr, e.Address)
			}
			for _, p := range upd.AddPhones {
				pIDs, pNum = append(pIDs, p.ID), append(pNum, p.Number)
			}
			if _, err := tx.Exec(ctx, `
				WITH e AS (
					INSERT INTO emails (id, project_id, user_id, address, verified, created_at, updated_at)
					SELECT x.id, $1, $2, x.address, false, $3, $3 FROM unnest($4::text[], $5::text[]) AS x (id, address)
				)
				INSERT INTO phone_numbers (id, project_id, user_id, number, verified, created_at, updated_at)
				SELECT x.id, $1, $2, x.number, false, $3, $3 FROM unnest($6::text[], $7::text[]) AS x (id, number)`,
				projectID, userID, now, eIDs, eAddr, pIDs, pNum); err != nil {
				return mapErr(err)
			}
		}
		u, err = findUser(ctx, tx, projectID, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser deletes the user and, by cascade, its emails, phones,
// challenges, magic links, sessions and messages. EUserNotFound.
func (db *DB) DeleteUser(ctx context.Context, projectID, userID string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM users WHERE project_id = $1 AND id = $2`, projectID, userID)
	if err != nil {
		return internal(err)
	}
	if tag.RowsAffected() == 0 {
		return errUserNotFound
	}
	return nil
}

// DeleteEmail deletes an email (its magic links by cascade, its challenges
// in the same statement) and returns its user id. EEmailNotFound.
func (db *DB) DeleteEmail(ctx context.Context, projectID, emailID string) (string, error) {
	userID, err := db.deleteMethod(ctx, "emails", projectID, emailID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", &auth.Error{Code: auth.EEmailNotFound, Field: "email_id", Message: "Email not found."}
	}
	return userID, err
}

// DeletePhone deletes a phone number and its challenges and returns its
// user id. EPhoneNotFound.
func (db *DB) DeletePhone(ctx context.Context, projectID, phoneID string) (string, error) {
	userID, err := db.deleteMethod(ctx, "phone_numbers", projectID, phoneID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", &auth.Error{Code: auth.EPhoneNotFound, Field: "phone_id", Message: "Phone number not found."}
	}
	return userID, err
}

func (db *DB) deleteMethod(ctx context.Context, table, projectID, id string) (string, error) {
	var userID string
	err := db.pool.QueryRow(ctx, `
		WITH d AS (
			DELETE FROM `+table+` WHERE project_id = $1 AND id = $2 RETURNING user_id
		), c AS (
			DELETE FROM challenges WHERE project_id = $1 AND method_id = $2 AND EXISTS (SELECT 1 FROM d)
		), u AS (
			UPDATE users SET updated_at = $3 WHERE project_id = $1 AND id IN (SELECT user_id FROM d)
		)
		SELECT user_id FROM d`, projectID, id, db.clock()).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	if err != nil {
		return "", internal(err)
	}
	return userID, nil
}

// methodTable returns the table, value column and id prefix of a channel's
// method class.
func methodTable(ch auth.Channel) (table, col, prefix string, err error) {
	switch {
	case ch == auth.ChannelEmail:
		return "emails", "address", auth.PrefixEmail, nil
	case ch.IsPhone():
		return "phone_numbers", "number", auth.PrefixPhone, nil
	}
	return "", "", "", auth.Invalid("channel", "Unknown channel %q.", string(ch))
}

func methodNotFound(ch auth.Channel) error {
	if ch == auth.ChannelEmail {
		return errEmailNotFound
	}
	return errPhoneNotFound
}

// ResolveMethod finds the email or phone with the given normalized value,
// or creates a user with it (pending if pending is set) in the same
// statement. A concurrent creation of the same value makes the statement
// fail on the unique index; it is retried once and then finds the winner's
// row, so exactly one caller reports created.
func (db *DB) ResolveMethod(ctx context.Context, p *auth.Project, ch auth.Channel, value string, create, pending bool) (string, string, auth.UserStatus, bool, error) {
	table, col, prefix, err := methodTable(ch)
	if err != nil {
		return "", "", "", false, err
	}
	status := auth.UserActive
	if pending {
		status = auth.UserPending
	}
	sql := `
		WITH existing AS (
			SELECT m.user_id, m.id, u.status FROM ` + table + ` m
			JOIN users u ON u.project_id = m.project_id AND u.id = m.user_id
			WHERE m.project_id = $1 AND m.` + col + ` = $2
		), u AS (
			INSERT INTO users (id, project_id, status, created_at, updated_at)
			SELECT $3, $1, $5, $6, $6 WHERE $7::bool AND NOT EXISTS (SELECT 1 FROM existing)
			RETURNING id
		), m AS (
			INSERT INTO ` + table + ` (id, project_id, user_id, ` + col + `, verified, created_at, updated_at)
			SELECT $4, $1, u.id, $2, false, $6, $6 FROM u
			RETURNING user_id, id
		)
		SELECT user_id, id, status, false FROM existing
		UNION ALL
		SELECT user_id, id, $5, true FROM m`
	for try := 0; ; try++ {
		var userID, methodID, userStatus string
		var created bool
		err := db.pool.QueryRow(ctx, sql, p.ID, value, auth.NewID(auth.PrefixUser, p), auth.NewID(prefix, p),
			string(status), db.clock(), create).Scan(&userID, &methodID, &userStatus, &created)
		switch {
		case err == nil:
			return userID, methodID, auth.UserStatus(userStatus), created, nil
		case errors.Is(err, pgx.ErrNoRows):
			return "", "", "", false, methodNotFound(ch)
		case try == 0 && isUniqueViolation(err):
			continue // lost a race with a concurrent creation: read the winner's row
		default:
			return "", "", "", false, mapErr(err)
		}
	}
}

// AttachMethod attaches value to userID unless it is already attached to
// it, and returns the method id. EUserNotFound, or EDuplicateEmail /
// EDuplicatePhone if another user of the project holds the value.
func (db *DB) AttachMethod(ctx context.Context, p *auth.Project, userID string, ch auth.Channel, value string) (string, error) {
	table, col, prefix, err := methodTable(ch)
	if err != nil {
		return "", err
	}
	sql := `
		WITH owner AS (
			SELECT EXISTS (SELECT 1 FROM users WHERE project_id = $1 AND id = $2) AS ok
		), existing AS (
			SELECT user_id, id FROM ` + table + ` WHERE project_id = $1 AND ` + col + ` = $3
		), m AS (
			INSERT INTO ` + table + ` (id, project_id, user_id, ` + col + `, verified, created_at, updated_at)
			SELECT $4, $1, $2, $3, false, $5, $5
			WHERE (SELECT ok FROM owner) AND NOT EXISTS (SELECT 1 FROM existing)
			RETURNING user_id, id
		), u AS (
			UPDATE users SET updated_at = $5 WHERE project_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM m)
		)
		SELECT user_id, id, (SELECT ok FROM owner) FROM existing
		UNION ALL
		SELECT user_id, id, true FROM m`
	for try := 0; ; try++ {
		var owner, methodID string
		var userOK bool
		err := db.pool.QueryRow(ctx, sql, p.ID, userID, value, auth.NewID(prefix, p), db.clock()).Scan(&owner, &methodID, &userOK)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || (err == nil && !userOK):
			return "", errUserNotFound
		case err == nil && owner != userID:
			if ch == auth.ChannelEmail {
				return "", &auth.Error{Code: auth.EDuplicateEmail, Field: "email", Message: "A user with this email already exists in the project."}
			}
			return "", &auth.Error{Code: auth.EDuplicatePhone, Field: "phone_number", Message: "A user with this phone number already exists in the project."}
		case err == nil:
			return methodID, nil
		case try == 0 && isUniqueViolation(err):
			continue
		default:
			return "", mapErr(err)
		}
	}
}

// FindMethod returns the user id, class ("email" or "phone") and value of
// an email id or phone id. EInvalidMethodID if there is none.
func (db *DB) FindMethod(ctx context.Context, projectID, methodID string) (string, string, string, error) {
	var userID, class, value string
	err := db.pool.QueryRow(ctx, `
		SELECT user_id, 'email', address FROM emails WHERE project_id = $1 AND id = $2
		UNION ALL
		SELECT user_id, 'phone', number FROM phone_numbers WHERE project_id = $1 AND id = $2
		LIMIT 1`, projectID, methodID).Scan(&userID, &class, &value)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", &auth.Error{Code: auth.EInvalidMethodID, Field: "method_id", Message: "The method_id is not a known email or phone number id."}
	}
	if err != nil {
		return "", "", "", internal(err)
	}
	return userID, class, value, nil
}
