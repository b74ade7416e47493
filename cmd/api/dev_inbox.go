package main

import (
	"context"
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/devinbox"
)

// newDevInbox returns the development inbox in dev mode, nil otherwise. Its
// live streams end when ctx does, so the server shuts down without waiting
// for open pages.
func newDevInbox(ctx context.Context, dev bool) *devinbox.Inbox {
	if !dev {
		return nil
	}
	box := devinbox.New(devinbox.DefaultCapacity)
	box.CloseOnDone(ctx)
	return box
}

// mountDevInbox serves the inbox (/dev/inbox, /dev/inbox.json,
// /dev/inbox/events) on mux; without one (outside dev mode) those paths
// answer a JSON 404.
func mountDevInbox(mux *http.ServeMux, box *devinbox.Inbox) {
	if box == nil {
		devinbox.Mount(mux, devinbox.NotFound())
		return
	}
	devinbox.Mount(mux, box.Handler())
}

// devInboxSender tees a console provider into the inbox; any other provider
// (a real Twilio or SendGrid account in dev mode) is left alone.
func devInboxSender(box *devinbox.Inbox, provider string, s auth.Sender) auth.Sender {
	if box == nil || provider != "console" {
		return s
	}
	return box.Wrap(s)
}
