package provider

import (
	"net/http"
	"sync"
)

// MaxIdleConnsPerHost is how many idle connections the shared provider
// transport keeps per provider host: a worker runs up to 256 sends at once
// (WORKER_CONCURRENCY), and net/http's default of 2 would close and redial
// almost every connection under load.
const MaxIdleConnsPerHost = 512

var (
	transportOnce sync.Once
	transport     *http.Transport
)

// Transport returns the process-wide transport for provider API calls:
// http.DefaultTransport's settings (proxy from the environment, timeouts,
// HTTP/2) with MaxIdleConnsPerHost idle connections per host. Providers use
// it unless their Config supplies an HTTPClient with a transport.
func Transport() http.RoundTripper {
	transportOnce.Do(func() {
		transport = http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConns = 0 // no total cap; the per-host cap bounds it
		transport.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	})
	return transport
}
