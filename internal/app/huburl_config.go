package app

import (
	"fmt"
	"net/url"
)

// validHubURL checks -hub-url: empty, or an absolute http(s) URL with a
// host and without a query or fragment.
func validHubURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("-hub-url %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("-hub-url %q: want an absolute http or https URL without query or fragment, e.g. https://example.com/.well-known/mercure", s)
	}
	return nil
}
