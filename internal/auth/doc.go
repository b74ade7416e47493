// Package auth is Sesame's domain core: the types (projects, users, one-time
// code challenges, magic links, sessions, outbound messages), the typed errors
// with codes, the interfaces that storage, queueing and delivery implement, and
// the services that hold the business rules.
//
// It imports no infrastructure package: Postgres lives in internal/postgres,
// JetStream in internal/nats, providers in internal/twilio and
// internal/sendgrid, and the two HTTP dialects in internal/api/streambird and
// internal/api/stytch. Those packages import this one, never the reverse.
package auth
