package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// listenHelp explains a failed bind. Nothing has been changed at that
// point: the port is bound before the database, the dev state or the
// bootstrap project are touched.
func listenHelp(cfg *config, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	msg := fmt.Sprintf("listen on %s: the address is already in use; nothing was changed.\n", cfg.HTTPAddr)
	if cfg.Dev {
		msg += fmt.Sprintf("Is `make dev` already running in another terminal? Then use that one: its credentials are in %s\n"+
			"(source it: . %[1]s). To restart it, stop it with Ctrl-C first.\n"+
			"To run a second one next to it, give it its own port, state and database:\n"+
			"  HTTP_ADDR=127.0.0.1:8081 SESAME_DATA_DIR=.dev2 DATABASE_URL=postgres://postgres@127.0.0.1:5432/sesame2?sslmode=disable make dev",
			filepath.Join(cfg.DataDir, "credentials.env"))
	} else {
		msg += "Another process holds this port: stop it, or set HTTP_ADDR to a free host:port."
	}
	return errors.New(msg)
}

// writeDevCredentials saves the credentials the server accepts right now
// (the bootstrap project just applied) as shell lines:
// `. .dev/credentials.env` exports PROJECT_ID and SECRET.
func writeDevCredentials(cfg *config) error {
	p := filepath.Join(cfg.DataDir, "credentials.env")
	body := fmt.Sprintf("# Written by `api -dev` at start: the bootstrap project this server accepts.\nexport PROJECT_ID=%s\nexport SECRET=%s\n", cfg.BootstrapID, cfg.BootstrapKey)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		return fmt.Errorf("dev state %s: %w", p, err)
	}
	return nil
}
