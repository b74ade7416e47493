// Package chaos holds the delivery fault tests (build tag chaos, run by
// `make chaos`): the real bin/api, bin/smsworker and bin/emailworker
// processes, real nats-server processes (one node, or the three-node
// cluster of deploy/nats/cluster with the stream at R3), a private Postgres
// cluster each test starts itself (internal/devpg), and the fake Twilio and
// SendGrid servers of internal/fakeprovider in the test process. Every test
// prints requested, accepted, delivered, lost, duplicated and dead-lettered
// counts and fails on any lost message. It has no non-test code.
package chaos
