package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// RunSearch exposes runSearch to the external tests.
func (db *DB) RunSearch(ctx context.Context, timeout time.Duration, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	return db.runSearch(ctx, timeout, b, read)
}

// EncodeCursor exposes encodeCursor to the external tests.
var EncodeCursor = encodeCursor

// ExplainUserSearch returns EXPLAIN (ANALYZE, BUFFERS) of SearchUsers'
// statements after the lists resolution, run with runSearch's settings:
// oneSQL alone for an id list, else the count, the walk and oneSQL (the
// search runs oneSQL in place of the count when the walk did not find the
// page). With analyze false, only the plans.
func (db *DB) ExplainUserSearch(ctx context.Context, projectID string, q auth.UserQuery, analyze bool) (string, error) {
	s, err := userSearch(projectID, q)
	if err != nil {
		return "", err
	}
	explain := "EXPLAIN "
	if analyze {
		explain = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	var steps []searchStep
	if s.resolveSQL != "" {
		steps = append(steps, s.resolveStep())
	}
	var out strings.Builder
	steps = append(steps, searchStep{
		batch: func() *pgx.Batch {
			b := &pgx.Batch{}
			if s.idList {
				b.Queue(`SET LOCAL enable_seqscan = off`)
				b.Queue(explain+s.oneSQL, s.oneArgs...)
				return b
			}
			b.Queue(explain+s.countSQL, s.countArgs...)
			b.Queue(explain+s.pageSQL, s.pageArgs...)
			b.Queue(explain+s.oneSQL, s.oneArgs...)
			return b
		},
		read: func(br pgx.BatchResults) error {
			n := 3
			if s.idList {
				if _, err := br.Exec(); err != nil {
					return err
				}
				n = 1
			}
			for range n {
				rows, err := br.Query()
				if err != nil {
					return err
				}
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				out.WriteString(strings.Join(lines, "\n") + "\n")
			}
			return nil
		},
	})
	err = db.runSearchSteps(ctx, SearchTimeout, steps...)
	return out.String(), err
}

// ExplainOrgSearch and ExplainMemberSearch are ExplainUserSearch for
// SearchOrganizations and SearchMembers.
func (db *DB) ExplainOrgSearch(ctx context.Context, projectID string, q auth.OrganizationQuery, analyze bool) (string, error) {
	s, err := orgSearch(projectID, q)
	if err != nil {
		return "", err
	}
	return db.explainSearch(ctx, s, analyze, b2bPlanner)
}

func (db *DB) ExplainMemberSearch(ctx context.Context, projectID string, q auth.MemberQuery, analyze bool) (string, error) {
	s, err := memberSearch(projectID, q)
	if err != nil {
		return "", err
	}
	return db.explainSearch(ctx, s, analyze, b2bPlanner)
}

// explainSearch runs s's statements as its search does (wrap: the steps'
// wrappers, as b2bPlanner) with the count and the page EXPLAINed.
func (db *DB) explainSearch(ctx context.Context, s *searchSQL, analyze bool, wrap ...func([]searchStep) []searchStep) (string, error) {
	explain := "EXPLAIN "
	if analyze {
		explain = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	var out strings.Builder
	steps := s.steps(func(br pgx.BatchResults) error {
		for range 2 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					rows.Close()
					return err
				}
				out.WriteString(line + "\n")
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	last := steps[len(steps)-1].batch
	steps[len(steps)-1].batch = func() *pgx.Batch {
		b := last()
		for _, q := range b.QueuedQueries {
			q.SQL = explain + q.SQL
		}
		return b
	}
	for _, w := range wrap {
		steps = w(steps)
	}
	err := db.runSearchSteps(ctx, SearchTimeout, steps...)
	return out.String(), err
}
