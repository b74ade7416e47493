package authtest

import "net/url"

// TokenFromURL returns the token query parameter of a magic link URL.
func TokenFromURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}
