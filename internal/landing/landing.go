// Package landing serves Sesame's default magic-link landing page,
// GET /v1/magic_links/redirect. The page is static: it never reads, echoes
// or consumes the token, so a mail scanner, a link preview or a browser
// prefetch that opens (GET or HEAD) a link leaves it valid for its user.
// Only the authenticate calls (POST) consume a magic link.
package landing

import (
	"io"
	"net/http"
)

// Path is the landing page's route.
const Path = "/v1/magic_links/redirect"

const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sesame magic link</title></head><body>
<h1>Magic link received</h1>
<p>This is Sesame's default landing page. Opening it did <strong>not</strong> log anyone in: your application's page
should read the <code>token</code> query parameter and call <code>POST /v1/magic_links/authenticate</code>
(Stytch style) or <code>POST /v1/auth/magic_links/verify</code> (Streambird style) from its backend.
Set <code>MAGIC_LINK_LOGIN_URL</code> / <code>MAGIC_LINK_SIGNUP_URL</code> or pass URLs per request to use your own page.</p>
</body></html>`

// Handler answers GET and HEAD with the static page (no-store, no
// referrer, so the token in the URL is neither cached nor leaked).
func Handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.WriteString(w, page)
}
