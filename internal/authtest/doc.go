// Package authtest builds a real auth.Service for tests: a fresh Postgres
// database (internal/pgtest), a keyring, the real JWT signer and a
// capturing Publisher in place of JetStream, so dialect tests can read the
// codes and links that would have been delivered (LastCode, LastToken) and
// simulate a NATS outage (Publisher.SetFail).
package authtest
