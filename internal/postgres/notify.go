package postgres

import (
	"context"
)

// ProjectsChannel is the LISTEN/NOTIFY channel on which a trigger (see
// migration 0006) announces every change to a project, its secrets or its
// settings, with the project id as payload.
const ProjectsChannel = "sesame_projects"

// ListenProjects holds one pool connection listening on ProjectsChannel,
// calls ready once the LISTEN is in place, then changed(projectID) for
// each notification, until ctx ends (nil) or the connection fails (the
// error). The connection is closed afterwards rather than returned to the
// pool, so no LISTEN outlives it.
func (db *DB) ListenProjects(ctx context.Context, ready func(), changed func(projectID string)) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return internal(err)
	}
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+ProjectsChannel); err != nil {
		return internal(err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return internal(err)
		}
		changed(n.Payload)
	}
}
