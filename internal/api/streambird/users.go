package streambird

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

type createUserRequest struct {
	Email                *string `json:"email"`
	PhoneNumber          *string `json:"phone_number"`
	FirstName            string  `json:"first_name"`
	MiddleName           string  `json:"middle_name"`
	LastName             string  `json:"last_name"`
	RequiresVerification *bool   `json:"requires_verification"`
	RequiesVerification  *bool   `json:"requies_verification"` // streambird-node typo
	IncludeUser          bool    `json:"include_user"`
}

type createUserResponse struct {
	UserID        string    `json:"user_id"`
	Status        string    `json:"status"`
	EmailID       string    `json:"email_id"`
	PhoneNumberID string    `json:"phone_number_id"`
	User          *userJSON `json:"user,omitempty"`
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req createUserRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in := auth.CreateUserInput{
		Name:    auth.Name{First: req.FirstName, Middle: req.MiddleName, Last: req.LastName},
		Pending: pending(req.RequiresVerification, req.RequiesVerification),
	}
	if req.Email != nil {
		e, err := auth.NormalizeEmail(*req.Email)
		if err != nil {
			return err
		}
		in.Email = e
	}
	if req.PhoneNumber != nil {
		n, err := auth.NormalizePhone(*req.PhoneNumber)
		if err != nil {
			return err
		}
		in.Phone = n
	}
	if in.Email == "" && in.Phone == "" {
		return auth.Invalid("email", "email or phone_number is required.")
	}
	u, err := h.svc.CreateUser(r.Context(), p, in)
	if err != nil {
		return err
	}
	resp := createUserResponse{UserID: u.ID, Status: string(u.Status), EmailID: emailID(u, in.Email), PhoneNumberID: phoneID(u, in.Phone)}
	if req.IncludeUser {
		resp.User = renderUser(u)
	}
	writeOK(w, resp)
	return nil
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	id := r.PathValue("user_id")
	if id == "create" || id == "search" {
		// GET on a POST-only literal route that the {user_id} pattern also matches.
		w.Header().Set("Allow", http.MethodPost)
		writeErrorBody(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method "+r.Method+" is not allowed on "+r.URL.Path+"; allowed: POST.")
		return nil
	}
	u, err := h.svc.GetUser(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeOK(w, renderUser(u))
	return nil
}

type emailEntry struct {
	Email string `json:"email"`
}

type phoneEntry struct {
	PhoneNumber string `json:"phone_number"`
}

type updateUserRequest struct {
	FirstName    *string      `json:"first_name"`
	MiddleName   *string      `json:"middle_name"`
	LastName     *string      `json:"last_name"`
	Emails       []emailEntry `json:"emails"`
	PhoneNumbers []phoneEntry `json:"phone_numbers"`
}

type updateUserResponse struct {
	UserID       string      `json:"user_id"`
	Emails       []emailJSON `json:"emails"`
	PhoneNumbers []phoneJSON `json:"phone_numbers"`
	User         *userJSON   `json:"user"`
}

// updateUser changes the name parts given and attaches the emails and phone
// numbers the user does not have yet (attaching one it already has is a
// no-op, so the seed's update with the user's own number succeeds).
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req updateUserRequest
	if err := decodeLenient(r, &req); err != nil {
		return err
	}
	// Validate the whole body before touching the store.
	var emails, phones []string
	for _, e := range req.Emails {
		n, err := auth.NormalizeEmail(e.Email)
		if err != nil {
			return err
		}
		if !slices.Contains(emails, n) {
			emails = append(emails, n)
		}
	}
	for _, ph := range req.PhoneNumbers {
		n, err := auth.NormalizePhone(ph.PhoneNumber)
		if err != nil {
			return err
		}
		if !slices.Contains(phones, n) {
			phones = append(phones, n)
		}
	}
	u, err := h.svc.GetUser(r.Context(), p, r.PathValue("user_id"))
	if err != nil {
		return err
	}
	var in auth.UpdateUserInput
	changed := false
	if req.FirstName != nil || req.MiddleName != nil || req.LastName != nil {
		name := u.Name
		if req.FirstName != nil {
			name.First = *req.FirstName
		}
		if req.MiddleName != nil {
			name.Middle = *req.MiddleName
		}
		if req.LastName != nil {
			name.Last = *req.LastName
		}
		in.Name, changed = &name, true
	}
	for _, e := range emails {
		if emailID(u, e) == "" {
			in.AddEmails, changed = append(in.AddEmails, e), true
		}
	}
	for _, n := range phones {
		if phoneID(u, n) == "" {
			in.AddPhones, changed = append(in.AddPhones, n), true
		}
	}
	if changed {
		if u, err = h.svc.UpdateUser(r.Context(), p, u.ID, in); err != nil {
			return err
		}
	}
	uj := renderUser(u)
	writeOK(w, updateUserResponse{UserID: u.ID, Emails: uj.Emails, PhoneNumbers: uj.PhoneNumbers, User: uj})
	return nil
}

type deleteResponse struct {
	UserID  string `json:"user_id"`
	Message string `json:"message"`
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	id := r.PathValue("user_id")
	if err := h.svc.DeleteUser(r.Context(), p, id); err != nil {
		return err
	}
	writeOK(w, deleteResponse{UserID: id, Message: "Successfully deleted user"})
	return nil
}

func (h *handler) deleteEmail(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	u, err := h.svc.DeleteEmail(r.Context(), p, r.PathValue("email_id"))
	if err != nil {
		return err
	}
	writeOK(w, deleteResponse{UserID: u.ID, Message: "Successfully deleted email"})
	return nil
}

func (h *handler) deletePhone(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	u, err := h.svc.DeletePhone(r.Context(), p, r.PathValue("phone_number_id"))
	if err != nil {
		return err
	}
	writeOK(w, deleteResponse{UserID: u.ID, Message: "Successfully deleted phone number"})
	return nil
}

// ---- Search ----

type searchRequest struct {
	Limit   optInt         `json:"limit"`
	Cursor  string         `json:"cursor"`
	Filters *searchFilters `json:"filters"`
}

type searchFilters struct {
	Operator string        `json:"operator"`
	Fields   []searchField `json:"fields"`
}

type searchField struct {
	Field    string          `json:"field"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
}

type searchResponse struct {
	Users      []*userJSON `json:"users"`
	TotalCount int         `json:"total_count"`
	HasMore    bool        `json:"has_more"`
	NextCursor string      `json:"next_cursor"`
}

// searchFieldNames lists the filterable fields.
var searchFieldNames = []string{"email", "phone_number", "user_id", "status", "email_id", "phone_number_id"}

const maxSearchValues = 1000

// searchUsers runs filters {operator: AND|OR, fields: [{field, operator:
// "equals", value}]}. A value may be a string or an array of strings (any
// of them). With AND, a field given twice must match both values; with OR,
// any filter matching selects the user.
func (h *handler) searchUsers(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req searchRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	q, none, err := buildQuery(req)
	if err != nil {
		return err
	}
	out := searchResponse{Users: []*userJSON{}}
	if !none {
		page, err := h.svc.SearchUsers(r.Context(), p, q)
		if err != nil {
			return err
		}
		out.TotalCount, out.HasMore, out.NextCursor = page.Total, page.NextCursor != "", page.NextCursor
		for _, u := range page.Users {
			out.Users = append(out.Users, renderUser(u))
		}
	}
	writeOK(w, out)
	return nil
}

// buildQuery turns a search request into a UserQuery; none reports filters
// that nothing can match (an AND of different values of one field).
func buildQuery(req searchRequest) (q auth.UserQuery, none bool, err error) {
	limit, err := req.Limit.int(auth.EInvalid, "limit", 1, 1000, 100, "users")
	if err != nil {
		return q, false, err
	}
	q = auth.UserQuery{Limit: int(limit), Cursor: strings.TrimSpace(req.Cursor)}
	f := req.Filters
	if f == nil {
		return q, false, nil
	}
	switch strings.ToUpper(strings.TrimSpace(f.Operator)) {
	case "", "AND":
	case "OR":
		q.Or = true
	default:
		return q, false, auth.Invalid("filters.operator", `filters.operator must be "AND" or "OR".`)
	}
	sets := map[string][]string{} // field → the values it may have
	for _, sf := range f.Fields {
		name := strings.ToLower(strings.TrimSpace(sf.Field))
		if !slices.Contains(searchFieldNames, name) {
			return q, false, auth.Invalid("filters.fields.field", "filters.fields.field must be one of %s.", strings.Join(searchFieldNames, ", "))
		}
		switch strings.ToLower(strings.TrimSpace(sf.Operator)) {
		case "equals", "eq", "":
		default:
			return q, false, auth.Invalid("filters.fields.operator", `filters.fields.operator must be "equals".`)
		}
		vals, err := searchValues(name, sf.Value)
		if err != nil {
			return q, false, err
		}
		prev, seen := sets[name]
		switch {
		case !seen:
			sets[name] = vals
		case q.Or: // either value
			for _, v := range vals {
				if !slices.Contains(prev, v) {
					prev = append(prev, v)
				}
			}
			sets[name] = prev
		default: // both values
			sets[name] = slices.DeleteFunc(prev, func(v string) bool { return !slices.Contains(vals, v) })
		}
	}
	for name, vals := range sets {
		if len(vals) == 0 {
			return q, true, nil
		}
		switch name {
		case "email":
			q.EmailAddresses = vals
		case "phone_number":
			q.PhoneNumbers = vals
		case "user_id":
			q.UserIDs = vals
		case "email_id":
			q.EmailIDs = vals
		case "phone_number_id":
			q.PhoneIDs = vals
		case "status":
			if len(vals) == 1 {
				q.Status = auth.UserStatus(vals[0])
			} else if q.Or {
				// "status is active OR pending" matches every user.
				return auth.UserQuery{Limit: q.Limit, Cursor: q.Cursor}, false, nil
			}
		}
	}
	return q, false, nil
}

// searchValues decodes a filter value (a string or an array of strings) and
// normalizes it for the field.
func searchValues(field string, raw json.RawMessage) ([]string, error) {
	var vals []string
	if len(raw) == 0 || string(raw) == "null" {
		return nil, auth.Invalid("filters.fields.value", "filters.fields.value is required.")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		vals = []string{one}
	} else if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, auth.Invalid("filters.fields.value", "filters.fields.value must be a string or an array of strings.")
	}
	if len(vals) == 0 || len(vals) > maxSearchValues {
		return nil, auth.Invalid("filters.fields.value", "filters.fields.value must hold 1 to %d values.", maxSearchValues)
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if !cleanText(v) {
			return nil, auth.Invalid("filters.fields.value", "filters.fields.value must not contain NUL characters.")
		}
		switch field {
		case "email":
			n, err := auth.NormalizeEmail(v)
			if err != nil {
				return nil, err
			}
			v = n
		case "phone_number":
			n, err := auth.NormalizePhone(v)
			if err != nil {
				return nil, err
			}
			v = n
		case "status":
			if v != string(auth.UserActive) && v != string(auth.UserPending) {
				return nil, auth.Invalid("filters.fields.value", `A status filter value must be "active" or "pending".`)
			}
		default:
			if v == "" {
				return nil, auth.Invalid("filters.fields.value", "filters.fields.value must not be empty.")
			}
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}
