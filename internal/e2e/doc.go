// Package e2e holds the pipeline tests: the real api handlers, the real
// outbox relay, a real embedded JetStream server (over TCP, so it can be
// stopped and restarted), the real workers and the real twilio-go and
// sendgrid-go clients talking to fake provider servers, and verification
// against real Postgres. It has no non-test code.
package e2e
