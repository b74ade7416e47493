// Command healthcheck is the container HEALTHCHECK probe for the distroless
// image, which has no shell, curl or wget: it GETs one URL and exits 0 when
// the answer is 2xx, 1 otherwise.
//
//	healthcheck http://127.0.0.1:8080/readyz
//
// It is a separate module (standard library only) so that `go build ./...`
// of the service does not see it; deploy/Dockerfile builds it.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: healthcheck URL")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 4 * time.Second}
	resp, err := client.Get(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintln(os.Stderr, "healthcheck:", resp.Status)
		os.Exit(1)
	}
}
