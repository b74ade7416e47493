// Package authtest builds a real auth.Service for tests of the HTTP dialects.
//
// ## Test harness (package authtest, internal/authtest; being written by the lead, lands within ~40 min)
// `env := authtest.New(t)` gives `env.Service *auth.Service` on a fresh real Postgres database, a test project `env.Project` ("project-test-<uuid>") with `env.Secret`, `env.NewProject(t, live bool) (*auth.Project, secret string)`, and a capturing publisher: `env.LastCode(to string) string` (plaintext code of the latest OTP event sent to that E.164 number / email), `env.LastToken(to string) string` (token of the latest magic link sent to that email), `env.Events() []*auth.Event`. Write your handlers and tests now against this API; run the tests once `go build ./internal/authtest/` succeeds (poll every few minutes; meanwhile `go vet` your package).
package authtest
