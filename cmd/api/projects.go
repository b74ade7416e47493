package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sesame-auth/sesame/internal/api/admin"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/devpg"
	"github.com/sesame-auth/sesame/internal/postgres"
)

const projectsUsage = `usage:
  api projects create --name NAME --env test|live [--settings JSON|@FILE]
  api projects list
  api projects get PROJECT_ID
  api projects update PROJECT_ID [--name NAME] [--settings JSON|@FILE]
  api projects delete PROJECT_ID
  api projects secrets create PROJECT_ID
  api projects secrets list PROJECT_ID
  api projects secrets revoke PROJECT_ID SECRET_ID
Works on the database (DATABASE_URL) with the keys of SECRET_KEYS (with -dev: the dev database and .dev keys).
Prints JSON on stdout; a new secret is shown once.`

// runProjects runs `api projects ...` against the database: every api
// replica sees the change through the database's notifications.
func runProjects(ctx context.Context, cfg *config, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, projectsUsage)
		if len(args) == 0 {
			return errors.New("projects: missing subcommand")
		}
		return nil
	}
	// Validate the command line before touching the database.
	cmd, err := parseProjectsArgs(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Dev {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("dev data dir: %w", err)
		}
		stop, err := devProjectsDatabase(ctx, cfg, getenv, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return postgresHelp(cfg.DatabaseURL, err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if cfg.SecretKeys == "" { // dev only (parseConfig requires it otherwise)
		if cfg.SecretKeys, err = devFile(cfg.DataDir, "secret_keys", auth.MustGenerateKey); err != nil {
			return err
		}
	}
	keys, err := auth.ParseKeyring(cfg.SecretKeys)
	if err != nil {
		return err
	}
	svc := auth.NewService(db, nil, keys, nil, nil, nil, serviceConfig(cfg))
	out, err := cmd.run(ctx, svc)
	if err != nil {
		return cliError(err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// devProjectsDatabase picks the database `api -dev projects` works on: the
// same one `api -dev` uses. Without DATABASE_URL, a private cluster that a
// running `api -dev` started in <data dir>/pg is used as it is (and left
// running); otherwise devDatabase decides (the default address when it
// answers, else the private cluster, started for this command only). Its
// notices go to stderr: stdout is the command's JSON.
func devProjectsDatabase(ctx context.Context, cfg *config, getenv func(string) string, stderr io.Writer) (func(), error) {
	if strings.TrimSpace(getenv("DATABASE_URL")) == "" && cfg.DatabaseURL == defaultDevDB {
		if u, ok := devpg.RunningURL(filepath.Join(cfg.DataDir, "pg"), "sesame"); ok {
			cfg.DatabaseURL = u
			return func() {}, nil
		}
	}
	return devDatabase(ctx, cfg, getenv, stderr)
}

// cliError names the field of a refused input.
func cliError(err error) error {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Code != auth.EInternal {
		if ae.Field != "" {
			return fmt.Errorf("%s (%s: %s)", ae.Message, ae.Code, ae.Field)
		}
		return fmt.Errorf("%s (%s)", ae.Message, ae.Code)
	}
	return err
}

type projectsCmd struct {
	run func(ctx context.Context, svc *auth.Service) (any, error)
}

func parseProjectsArgs(args []string, stderr io.Writer) (*projectsCmd, error) {
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("projects "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, projectsUsage) }
	// positional takes n leading arguments, then parses the flags after them.
	positional := func(n int, names ...string) ([]string, error) {
		if len(rest) < n {
			return nil, fmt.Errorf("projects %s: missing %s\n%s", sub, strings.Join(names[len(rest):], ", "), projectsUsage)
		}
		pos := rest[:n]
		for _, a := range pos {
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("projects %s: missing %s\n%s", sub, strings.Join(names, ", "), projectsUsage)
			}
		}
		if err := fs.Parse(rest[n:]); err != nil {
			return nil, err
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("projects %s: unexpected argument %q\n%s", sub, fs.Arg(0), projectsUsage)
		}
		return pos, nil
	}
	switch sub {
	case "create":
		name := fs.String("name", "", "project name (required)")
		env := fs.String("env", "", "environment: test or live (required)")
		settings := fs.String("settings", "", "settings as JSON, or @file")
		if _, err := positional(0); err != nil {
			return nil, err
		}
		st, err := readSettings(*settings)
		if err != nil {
			return nil, err
		}
		return &projectsCmd{func(ctx context.Context, svc *auth.Service) (any, error) {
			p, sec, secret, err := svc.CreateProject(ctx, auth.CreateProjectInput{Name: *name, Environment: *env, Settings: st})
			if err != nil {
				return nil, err
			}
			return admin.CreatedProject{Project: admin.ToProject(p), SecretID: sec.ID, Secret: secret}, nil
		}}, nil
	case "list":
		if _, err := positional(0); err != nil {
			return nil, err
		}
		return &projectsCmd{func(ctx context.Context, svc *auth.Service) (any, error) {
			ps, err := svc.ListProjects(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]admin.Project, 0, len(ps))
			for _, p := range ps {
				out = append(out, admin.ToProject(p))
			}
			return map[string]any{"projects": out}, nil
		}}, nil
	case "get", "delete":
		pos, err := positional(1, "PROJECT_ID")
		if err != nil {
			return nil, err
		}
		return &projectsCmd{func(ctx context.Context, svc *auth.Service) (any, error) {
			if sub == "delete" {
				if err := svc.DeleteProject(ctx, pos[0]); err != nil {
					return nil, err
				}
				return map[string]any{"project_id": pos[0], "deleted": true}, nil
			}
			p, err := svc.GetProject(ctx, pos[0])
			if err != nil {
				return nil, err
			}
			return admin.ToProject(p), nil
		}}, nil
	case "update":
		name := fs.String("name", "", "new name")
		settings := fs.String("settings", "", "new settings (replace the old as a whole) as JSON, or @file")
		pos, err := positional(1, "PROJECT_ID")
		if err != nil {
			return nil, err
		}
		var in auth.UpdateProjectInput
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "name" {
				in.Name = name
			}
		})
		if in.Settings, err = readSettings(*settings); err != nil {
			return nil, err
		}
		if in.Name == nil && in.Settings == nil {
			return nil, fmt.Errorf("projects update: nothing to change (give --name or --settings)")
		}
		return &projectsCmd{func(ctx context.Context, svc *auth.Service) (any, error) {
			p, err := svc.UpdateProject(ctx, pos[0], in)
			if err != nil {
				return nil, err
			}
			return admin.ToProject(p), nil
		}}, nil
	case "secrets":
		return parseSecretsArgs(rest, stderr)
	}
	return nil, fmt.Errorf("projects: unknown subcommand %q\n%s", sub, projectsUsage)
}

func parseSecretsArgs(args []string, stderr io.Writer) (*projectsCmd, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("projects secrets: missing subcommand (create, list or revoke)\n%s", projectsUsage)
	}
	sub, rest := args[0], args[1:]
	want := map[string]int{"create": 1, "list": 1, "revoke": 2}[sub]
	if want == 0 {
		return nil, fmt.Errorf("projects secrets: unknown subcommand %q\n%s", sub, projectsUsage)
	}
	if len(rest) != want {
		return nil, fmt.Errorf("projects secrets %s: want %d argument(s), got %d\n%s", sub, want, len(rest), projectsUsage)
	}
	return &projectsCmd{func(ctx context.Context, svc *auth.Service) (any, error) {
		switch sub {
		case "create":
			sec, secret, err := svc.CreateProjectSecret(ctx, rest[0])
			if err != nil {
				return nil, err
			}
			return admin.ToSecret(sec, secret), nil
		case "list":
			list, err := svc.ListProjectSecrets(ctx, rest[0])
			if err != nil {
				return nil, err
			}
			out := make([]admin.Secret, 0, len(list))
			for _, s := range list {
				out = append(out, admin.ToSecret(s, ""))
			}
			return map[string]any{"secrets": out}, nil
		}
		if err := svc.RevokeProjectSecret(ctx, rest[0], rest[1]); err != nil {
			return nil, err
		}
		return map[string]any{"project_id": rest[0], "secret_id": rest[1], "revoked": true}, nil
	}}, nil
}

// readSettings parses --settings: "" (none), JSON, or @file holding JSON.
// Unknown fields are refused, so a misspelt setting is not silently lost.
func readSettings(v string) (*auth.Settings, error) {
	if v == "" {
		return nil, nil
	}
	b := []byte(v)
	if path, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("--settings: %w", err)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var st auth.Settings
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("--settings: %w", err)
	}
	return &st, nil
}
