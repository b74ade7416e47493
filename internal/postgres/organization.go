package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errOrganizationNotFound = &auth.Error{Code: auth.EOrganizationNotFound, Field: "organization_id", Message: "Organization not found."}

// orgSettings are the organization settings stored (in the settings jsonb
// column) and returned without effect in Sesame.
type orgSettings struct {
	SSOJITProvisioning                   string                `json:"sso_jit_provisioning"`
	SSOJITProvisioningAllowedConnections []string              `json:"sso_jit_provisioning_allowed_connections"`
	SSODefaultConnectionID               string                `json:"sso_default_connection_id"`
	RBACEmailImplicitRoleAssignments     []auth.RoleAssignment `json:"rbac_email_implicit_role_assignments"`
	OAuthTenantJITProvisioning           string                `json:"oauth_tenant_jit_provisioning"`
	AllowedOAuthTenants                  json.RawMessage       `json:"allowed_oauth_tenants"`
	FirstPartyConnectedAppsAllowedType   string                `json:"first_party_connected_apps_allowed_type"`
	AllowedFirstPartyConnectedApps       []string              `json:"allowed_first_party_connected_apps"`
	ThirdPartyConnectedAppsAllowedType   string                `json:"third_party_connected_apps_allowed_type"`
	AllowedThirdPartyConnectedApps       []string              `json:"allowed_third_party_connected_apps"`
}

// orgColumns lists the columns scanOrg reads, for a table aliased o.
const orgColumns = `o.id, o.project_id, o.name, o.slug, o.logo_url, o.external_id, o.trusted_metadata,
	o.email_allowed_domains, o.email_jit_provisioning, o.email_invites, o.auth_methods, o.allowed_auth_methods,
	o.mfa_policy, o.mfa_methods, o.allowed_mfa_methods, o.claimed_email_domains, o.settings, o.created_at, o.updated_at`

// orgTargets returns the scan targets of orgColumns for o, and a function
// that finishes o after the scan.
func orgTargets(o *auth.Organization) ([]any, func() error) {
	var trusted, settings []byte
	targets := []any{&o.ID, &o.ProjectID, &o.Name, &o.Slug, &o.LogoURL, &o.ExternalID, &trusted,
		&o.EmailAllowedDomains, &o.EmailJITProvisioning, &o.EmailInvites, &o.AuthMethods, &o.AllowedAuthMethods,
		&o.MFAPolicy, &o.MFAMethods, &o.AllowedMFAMethods, &o.ClaimedEmailDomains, &settings, &o.CreatedAt, &o.UpdatedAt}
	return targets, func() error {
		o.TrustedMetadata = rawObject(trusted)
		var s orgSettings
		if len(settings) > 0 {
			if err := json.Unmarshal(settings, &s); err != nil {
				return err
			}
		}
		o.SSOJITProvisioning = s.SSOJITProvisioning
		o.SSOJITProvisioningAllowedConnections = s.SSOJITProvisioningAllowedConnections
		o.SSODefaultConnectionID = s.SSODefaultConnectionID
		o.RBACEmailImplicitRoleAssignments = s.RBACEmailImplicitRoleAssignments
		o.OAuthTenantJITProvisioning = s.OAuthTenantJITProvisioning
		o.AllowedOAuthTenants = s.AllowedOAuthTenants
		o.FirstPartyConnectedAppsAllowedType = s.FirstPartyConnectedAppsAllowedType
		o.AllowedFirstPartyConnectedApps = s.AllowedFirstPartyConnectedApps
		o.ThirdPartyConnectedAppsAllowedType = s.ThirdPartyConnectedAppsAllowedType
		o.AllowedThirdPartyConnectedApps = s.AllowedThirdPartyConnectedApps
		normalizeOrg(o)
		return nil
	}
}

func scanOrg(row pgx.Row) (*auth.Organization, error) {
	var o auth.Organization
	targets, finish := orgTargets(&o)
	if err := row.Scan(targets...); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &o, nil
}

// normalizeOrg gives every unset setting of o its documented default and
// every nil list or object its empty value.
func normalizeOrg(o *auth.Organization) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.EmailJITProvisioning, auth.NotAllowed)
	def(&o.EmailInvites, auth.AllAllowed)
	def(&o.AuthMethods, auth.AllAllowed)
	def(&o.MFAPolicy, auth.MFAOptional)
	def(&o.MFAMethods, auth.AllAllowed)
	def(&o.SSOJITProvisioning, auth.AllAllowed)
	def(&o.OAuthTenantJITProvisioning, auth.NotAllowed)
	def(&o.FirstPartyConnectedAppsAllowedType, auth.AllAllowed)
	def(&o.ThirdPartyConnectedAppsAllowedType, auth.AllAllowed)
	for _, l := range []*[]string{&o.EmailAllowedDomains, &o.AllowedAuthMethods, &o.AllowedMFAMethods,
		&o.SSOJITProvisioningAllowedConnections, &o.ClaimedEmailDomains, &o.AllowedFirstPartyConnectedApps,
		&o.AllowedThirdPartyConnectedApps} {
		if *l == nil {
			*l = []string{}
		}
	}
	if o.RBACEmailImplicitRoleAssignments == nil {
		o.RBACEmailImplicitRoleAssignments = []auth.RoleAssignment{}
	}
	o.TrustedMetadata = rawObject(o.TrustedMetadata)
	o.AllowedOAuthTenants = rawObject(o.AllowedOAuthTenants)
}

// orgArgs returns the values of the stored columns of o, in the order
// id, project_id, name, slug, logo_url, external_id, trusted_metadata,
// email_allowed_domains, email_jit_provisioning, email_invites,
// auth_methods, allowed_auth_methods, mfa_policy, mfa_methods,
// allowed_mfa_methods, claimed_email_domains, settings.
func orgArgs(o *auth.Organization) ([]any, error) {
	settings, err := json.Marshal(orgSettings{
		SSOJITProvisioning:                   o.SSOJITProvisioning,
		SSOJITProvisioningAllowedConnections: o.SSOJITProvisioningAllowedConnections,
		SSODefaultConnectionID:               o.SSODefaultConnectionID,
		RBACEmailImplicitRoleAssignments:     o.RBACEmailImplicitRoleAssignments,
		OAuthTenantJITProvisioning:           o.OAuthTenantJITProvisioning,
		AllowedOAuthTenants:                  o.AllowedOAuthTenants,
		FirstPartyConnectedAppsAllowedType:   o.FirstPartyConnectedAppsAllowedType,
		AllowedFirstPartyConnectedApps:       o.AllowedFirstPartyConnectedApps,
		ThirdPartyConnectedAppsAllowedType:   o.ThirdPartyConnectedAppsAllowedType,
		AllowedThirdPartyConnectedApps:       o.AllowedThirdPartyConnectedApps,
	})
	if err != nil {
		return nil, auth.Invalid("allowed_oauth_tenants", "allowed_oauth_tenants must be a JSON object.")
	}
	return []any{o.ID, o.ProjectID, o.Name, o.Slug, o.LogoURL, o.ExternalID, jsonObject(o.TrustedMetadata),
		o.EmailAllowedDomains, o.EmailJITProvisioning, o.EmailInvites, o.AuthMethods, o.AllowedAuthMethods,
		o.MFAPolicy, o.MFAMethods, o.AllowedMFAMethods, o.ClaimedEmailDomains, string(settings)}, nil
}

// CreateOrganization inserts o (id set by the caller). Zero timestamps are
// set to now, unset settings to their defaults. One statement.
// EDuplicateSlug, EDuplicateExternalID, ENotFound (no such project).
func (db *DB) CreateOrganization(ctx context.Context, o *auth.Organization) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = db.clock()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	normalizeOrg(o)
	args, err := orgArgs(o)
	if err != nil {
		return err
	}
	args = append(args, o.CreatedAt, o.UpdatedAt)
	_, err = db.pool.Exec(ctx, `
		INSERT INTO organizations (id, project_id, name, slug, logo_url, external_id, trusted_metadata,
			email_allowed_domains, email_jit_provisioning, email_invites, auth_methods, allowed_auth_methods,
			mfa_policy, mfa_methods, allowed_mfa_methods, claimed_email_domains, settings, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[], $9, $10, $11, $12::text[], $13, $14, $15::text[],
			$16::text[], $17::jsonb, $18, $19)`, args...)
	if err != nil {
		return mapB2BErr(err)
	}
	return nil
}

// orgRefCond is the condition (over organizations o) matching an
// organization by id, slug or external id given as refArg, and orgRefOrder
// orders such matches by that preference. Repeating the predicate of the
// partial unique index on external_id lets the planner use it.
func orgRefCond(refArg string) string {
	return `(o.id = ` + refArg + ` OR o.slug = ` + refArg + ` OR (o.external_id = ` + refArg + ` AND o.external_id <> ''))`
}

func orgRefOrder(refArg string) string {
	return `(o.id = ` + refArg + `) DESC, (o.slug = ` + refArg + `) DESC`
}

// FindOrganization returns the organization whose id, slug or external id
// is ref (preferred in that order). One statement. EOrganizationNotFound.
func (db *DB) FindOrganization(ctx context.Context, projectID, ref string) (*auth.Organization, error) {
	o, err := scanOrg(db.pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations o
		WHERE o.project_id = $1 AND `+orgRefCond("$2")+` ORDER BY `+orgRefOrder("$2")+` LIMIT 1`, projectID, ref))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errOrganizationNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return o, nil
}

// UpdateOrganization stores every field of o (found by project and o.ID)
// and sets o.UpdatedAt to now. One statement. EOrganizationNotFound,
// EDuplicateSlug, EDuplicateExternalID.
func (db *DB) UpdateOrganization(ctx context.Context, o *auth.Organization) error {
	normalizeOrg(o)
	args, err := orgArgs(o)
	if err != nil {
		return err
	}
	now := db.clock()
	args = append(args, now)
	tag, err := db.pool.Exec(ctx, `
		UPDATE organizations SET name = $3, slug = $4, logo_url = $5, external_id = $6, trusted_metadata = $7::jsonb,
			email_allowed_domains = $8::text[], email_jit_provisioning = $9, email_invites = $10, auth_methods = $11,
			allowed_auth_methods = $12::text[], mfa_policy = $13, mfa_methods = $14, allowed_mfa_methods = $15::text[],
			claimed_email_domains = $16::text[], settings = $17::jsonb, updated_at = $18
		WHERE id = $1 AND project_id = $2`, args...)
	if err != nil {
		return mapB2BErr(err)
	}
	if tag.RowsAffected() == 0 {
		return errOrganizationNotFound
	}
	o.UpdatedAt = now
	return nil
}

// DeleteOrganization deletes the organization and, by cascade, its
// members and their codes, links, messages, sessions and intermediate
// sessions. One statement. EOrganizationNotFound.
func (db *DB) DeleteOrganization(ctx context.Context, projectID, orgID string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM organizations WHERE project_id = $1 AND id = $2`, projectID, orgID)
	if err != nil {
		return internal(err)
	}
	if tag.RowsAffected() == 0 {
		return errOrganizationNotFound
	}
	return nil
}

// CountMembers returns the number of non-deleted members of the
// organization (0 for an unknown organization). One statement.
func (db *DB) CountMembers(ctx context.Context, projectID, orgID string) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM members
		WHERE project_id = $1 AND organization_id = $2 AND status <> 'deleted'`, projectID, orgID).Scan(&n); err != nil {
		return 0, internal(err)
	}
	return n, nil
}

// OrganizationsByAllowedDomain returns the project's organizations whose
// email_allowed_domains contains domain, oldest first. One statement.
func (db *DB) OrganizationsByAllowedDomain(ctx context.Context, projectID, domain string) ([]*auth.Organization, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+orgColumns+` FROM organizations o
		WHERE o.project_id = $1 AND o.email_allowed_domains @> ARRAY[$2::text]
		ORDER BY o.created_at, o.id`, projectID, strings.ToLower(domain))
	if err != nil {
		return nil, internal(err)
	}
	return collectOrgs(rows)
}

func collectOrgs(rows pgx.Rows) ([]*auth.Organization, error) {
	defer rows.Close()
	orgs := []*auth.Organization{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, internal(err)
		}
		orgs = append(orgs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	return orgs, nil
}

// maxFuzzy bounds the length of a fuzzy search string.
const maxFuzzy = 256

// fuzzyArg returns the lower-cased LIKE pattern of a fuzzy filter, or EInvalid naming
// field when s is too long.
func fuzzyArg(field, s string) (string, error) {
	if len(s) > maxFuzzy {
		return "", auth.Invalid(field, "%s must be at most %d characters.", field, maxFuzzy)
	}
	return likePattern(s), nil
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

// searchLimit checks a page size: 0 means DefaultSearchLimit.
func searchLimit(limit int) (int, error) {
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return 0, auth.Invalid("limit", "limit must be between 1 and %d.", MaxSearchLimit)
	}
	return limit, nil
}

// SearchOrganizations returns one page of the project's organizations
// matching q, ordered by (created_at, id), with Total the number of all
// matches. Filters are ANDed, or ORed when q.Or is set. MemberEmails and
// MemberEmailFuzzy match organizations with a non-deleted member of such
// an email. Two round trips at most (the lists, then count and page in a
// batch). EInvalid for a bad limit, cursor or fuzzy string.
func (db *DB) SearchOrganizations(ctx context.Context, projectID string, q auth.OrganizationQuery) (*auth.OrganizationPage, error) {
	s, err := orgSearch(projectID, q)
	if err != nil {
		return nil, err
	}
	page := &auth.OrganizationPage{Organizations: []*auth.Organization{}}
	err = db.runSearchSteps(ctx, SearchTimeout, b2bPlanner(s.steps(func(br pgx.BatchResults) (err error) {
		page.Organizations, err = readCountAndPage(br, &page.Total, scanOrg)
		return err
	}))...)
	if err != nil {
		return nil, err
	}
	page.Organizations, page.NextCursor = trimPage(page.Organizations, s.limit, func(o *auth.Organization) (time.Time, string) { return o.CreatedAt, o.ID })
	return page, nil
}

// orgSearch returns SearchOrganizations' statements. Every filter but the
// lists is a condition on the organization's row of organization_search
// (migration 0019), a narrow copy of what the search reads: the lower-cased
// name, slug and allowed domains, and the member emails of an organization
// of at most 50 members; the members of the larger ones that match
// member_email_fuzzy are looked up, one such organization at a time, with
// the lists, before the count and the page. The count reads the side table
// alone (a scan of it costs a third of one of organizations: 13 ms against
// 40 for 100,000 rows in psql), and the page takes at most limit+1 ids from
// its keyset, then reads those organizations by primary key.
func orgSearch(projectID string, q auth.OrganizationQuery) (*searchSQL, error) {
	limit, err := searchLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	var p params
	p.add(projectID)
	// The lists of slugs, member emails and domains are resolved to
	// organization ids first (resolver, as SearchUsers' method lists; the
	// side table holds none of them), all to one array with the ids: their
	// union under OR, their intersection under AND. The count then probes
	// the primary key for each id of one array: five arrays of 1,000 under
	// OR were five hash lookups for each of 100,000 rows (47 ms).
	var r resolver
	var conds, lists []string
	if len(q.OrganizationSlugs) > 0 {
		lists = append(lists, `SELECT o.id FROM organizations o WHERE o.project_id = $1 AND o.slug = ANY(`+
			r.arg(q.OrganizationSlugs)+`::text[])`)
	}
	if len(q.MemberEmails) > 0 {
		lists = append(lists, `SELECT DISTINCT m.organization_id FROM members m WHERE m.project_id = $1 AND m.status <> 'deleted'
			AND m.email = ANY(`+r.arg(lowerAll(q.MemberEmails))+`::text[])`)
	}
	// The domain lists go through their GIN indexes: a materialized
	// subquery without the project, so the planner cannot walk the
	// project's organizations comparing each one's domains with up to
	// 1,000 (it estimates 1,000 domains match them all; 3 s at 100,000).
	domains := func(col string, values []string) {
		if len(values) > 0 {
			lists = append(lists, `WITH d AS MATERIALIZED (SELECT o.project_id, o.id FROM organizations o
				WHERE o.`+col+` && `+r.arg(lowerAll(values))+`::text[]) SELECT d.id FROM d WHERE d.project_id = $1`)
		}
	}
	domains("email_allowed_domains", q.AllowedDomains)
	domains("claimed_email_domains", q.ClaimedEmailDomains)
	switch {
	case len(lists) > 0:
		if len(q.OrganizationIDs) > 0 {
			lists = append(lists, `SELECT unnest(`+r.arg(q.OrganizationIDs)+`::text[])`)
		}
		op := ") INTERSECT ("
		if q.Or {
			op = ") UNION ("
		}
		conds = append(conds, "s.id = ANY("+r.column("("+strings.Join(lists, op)+")", p.add)+"::text[])")
	case len(q.OrganizationIDs) > 0:
		conds = append(conds, "s.id = ANY("+p.add(q.OrganizationIDs)+"::text[])")
	}
	// idList: the matches are those of one array (unless ORed with
	// another filter).
	idList := len(conds) > 0
	// Columns of lower-cased text (see orgSearch); the joined ones hold
	// several values separated by newlines.
	fuzzy := []struct {
		field, value, col string
		joined            bool
	}{
		{"organization_name_fuzzy", q.OrganizationNameFuzzy, "s.search_name", false},
		{"organization_slug_fuzzy", q.OrganizationSlugFuzzy, "s.search_slug", false},
		{"allowed_domain_fuzzy", q.AllowedDomainFuzzy, "s.search_domains", true},
	}
	for _, f := range fuzzy {
		if f.value == "" {
			continue
		}
		if f.field == "organization_slug_fuzzy" && !slugSubstring(f.value) {
			if _, err := fuzzyArg(f.field, f.value); err != nil {
				return nil, err
			}
			conds = append(conds, "false")
			continue
		}
		match, err := fuzzyMatch(f.field, f.value, f.joined, p.add)
		if err != nil {
			return nil, err
		}
		conds = append(conds, strings.ReplaceAll(match, "$col", f.col))
	}
	if q.MemberEmailFuzzy != "" {
		cond, err := memberEmailFuzzy(q.MemberEmailFuzzy, &r, p.add)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
	}
	if q.SSOConnectionID != "" {
		conds = append(conds, "false") // no SSO connections in Sesame
	}
	if q.HasActiveSSOConnection != nil {
		if *q.HasActiveSSOConnection {
			conds = append(conds, "false")
		} else {
			conds = append(conds, "true")
		}
	}
	idList = idList && (!q.Or || len(conds) == 1)
	where := "s.project_id = $1"
	if len(conds) > 0 {
		op := " AND "
		if q.Or {
			op = " OR "
		}
		where += " AND (" + strings.Join(conds, op) + ")"
	}
	countArgs := append([]any(nil), p...)
	pageWhere := where
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		pageWhere += " AND (s.created_at, s.id) > (" + p.add(at) + ", " + p.add(id) + ")"
	}
	// The page's ids from the side table's keyset, then their
	// organizations by primary key (an array, not a join: without nested
	// loops a join would hash all of organizations). The side row's
	// created_at is the organization's (its trigger copies it). Matches
	// bounded by one id array are probed and sorted (sortedOrder): in
	// created order the planner would walk the keyset to the last one,
	// all 100,000 rows when they are the newest.
	order := strposOrder(pageWhere, "s")
	if idList {
		order = sortedOrder("s")
	}
	pageSQL := `SELECT ` + orgColumns + ` FROM organizations o WHERE o.project_id = $1 AND o.id = ANY(ARRAY(
			SELECT s.id FROM organization_search s WHERE ` + pageWhere + ` ORDER BY ` + order +
		` LIMIT ` + p.add(limit+1) + `)) ORDER BY o.created_at, o.id`
	return r.search(projectID, limit, `SELECT count(*) FROM organization_search s WHERE `+where, countArgs, pageSQL, p), nil
}

// slugSubstring reports whether v, lower-cased, can be part of a slug:
// slugs hold only [A-Za-z0-9-._~] (auth's validSlug, checked on every
// create and update), so organization_slug_fuzzy with any other character
// matches nothing, and is "false" instead of a scan (a value of 256 "%"
// has no trigram).
func slugSubstring(v string) bool {
	for _, c := range []byte(strings.ToLower(v)) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// memberEmailFuzzy returns the organization search's member_email_fuzzy
// condition: the value in the organization's search_member_emails (its
// members' emails when it has at most 50), or, for a larger organization,
// its id among those resolved (r) to have a matching non-deleted member.
// The resolution walks each large organization's members in
// members_org_search_idx, index-only, and stops at the first match (a
// LATERAL subquery with LIMIT 1, a nested loop whatever the settings).
func memberEmailFuzzy(v string, r *resolver, arg func(any) string) (string, error) {
	var value any
	match, err := fuzzyMatch("member_email_fuzzy", v, true, func(a any) string { value = a; return "$V" })
	if err != nil || match == "false" {
		return match, err
	}
	small := strings.ReplaceAll(strings.ReplaceAll(match, "$col", "s.search_member_emails"), "$V", arg(value))
	large := r.ids(`SELECT b.id FROM organization_search b CROSS JOIN LATERAL (
			SELECT 1 FROM members m WHERE m.project_id = b.project_id AND m.organization_id = b.id
				AND m.status <> 'deleted' AND `+strings.ReplaceAll(match, "$col", `(m.email COLLATE "C")`)+` LIMIT 1) x
		WHERE b.project_id = $1 AND b.search_members_many`, value, arg)
	return "(" + small + " OR (s.search_members_many AND s.id = ANY(" + large + "::text[])))", nil
}

// strposOrder returns the ORDER BY of a B2B search's page over the table
// aliased alias. A strpos filter (a fuzzy value without a trigram) has no
// statistics: Postgres guesses it matches a third of the rows and walks
// them in created order to stop at the first page, which a value matching
// nobody (or only the newest rows) turns into 100,000 heap fetches in index
// order. Ordering by an expression no index has makes it scan and sort the
// matches instead, as the count does (SearchUsers does the same).
func strposOrder(where, alias string) string {
	if strings.Contains(where, "strpos(") {
		return sortedOrder(alias)
	}
	return alias + ".created_at, " + alias + ".id"
}

// sortedOrder is the (created_at, id) order by an expression no index
// has, which makes the planner find the matches and sort them rather
// than walk an index in that order.
func sortedOrder(alias string) string {
	return alias + ".created_at + interval '0 s', " + alias + ".id"
}

// b2bPlanner tells the planner of a B2B search's first statement that
// index pages cost about what table pages do (random_page_cost 1.1, SET
// LOCAL: this transaction only): the searched tables and indexes are
// cached. At the default 4 it counted a 100,000-member organization by
// reading all of members (200,000 rows) rather than the organization's
// third as many pages of members_org_search_idx, index-only.
func b2bPlanner(steps []searchStep) []searchStep {
	first := steps[0]
	steps[0].batch = func() *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL random_page_cost = 1.1`)
		b.QueuedQueries = append(b.QueuedQueries, first.batch().QueuedQueries...)
		return b
	}
	steps[0].read = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		return first.read(br)
	}
	return steps
}
