package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestMercure1BesideClassicInChromium: one hub, two browsers' pages (each
// with cookies of its own). One subscribes the Mercure 1.0 way: a URL
// pattern (match_urlpattern=) and an access token (typ at+jwt, its rights
// in authorization_details) in the __Secure-mercure_access_token cookie.
// The other the classic way: a URI template (topic=) and a classic token
// (mercure.subscribe) in the authorization query parameter. Both get the
// public update; each gets only the private update its token grants.
func TestMercure1BesideClassicInChromium(t *testing.T) {
	const (
		secret = "a-secret-of-at-least-32-bytes-for-hs256-tokens"
		iss    = "https://issuer.example"
		aud    = "https://hub.example/.well-known/mercure"
		book   = "https://example.com/books/"
	)
	cert, key, roots := tlstest.SelfSigned(t)
	p := startBinary(t, "-data-dir", "", "-tls-cert", cert, "-tls-key", key,
		"-jwt-key", secret, "-jwt-issuer", iss, "-jwt-audience", aud)
	base := "https://" + strings.TrimPrefix(p.base, "http://")
	exp := time.Now().Add(time.Hour)
	modernToken := authtest.SignAccess(t, jwt.SigningMethodHS256, []byte(secret), "",
		authtest.Access(iss, aud, exp, authtest.Detail([]string{"subscribe"}, authtest.Exact(book+"1"))))
	classicToken := authtest.Sign(t, jwt.SigningMethodHS256, []byte(secret), authtest.Claims(nil, []string{book + "2"}, exp))
	publisher := authtest.Sign(t, jwt.SigningMethodHS256, []byte(secret), authtest.Claims([]string{"*"}, nil, exp))

	b := newBrowser(t, chromedp.Flag("ignore-certificate-errors", true))
	modern := b.tab("1.0", chromedp.WithNewBrowserContext())
	classic := b.tab("classic", chromedp.WithNewBrowserContext())
	modern.load("open the console", chromedp.Navigate(base+"/"))
	classic.load("open the console", chromedp.Navigate(base+"/"))
	eval[any](modern, `document.cookie = "__Secure-mercure_access_token=" + `+jsString(modernToken)+` + "; Secure; Path=/; SameSite=Strict"`)
	listen(modern, "/.well-known/mercure?match_urlpattern="+url.QueryEscape(book+":id"))
	listen(classic, "/.well-known/mercure?topic="+url.QueryEscape(book+"{id}")+"&authorization="+url.QueryEscape(classicToken))
	modern.waitFor("the 1.0 stream to open", `window.opened === true`)
	classic.waitFor("the classic stream to open", `window.opened === true`)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	publish := func(topic, data string, private bool) {
		t.Helper()
		form := url.Values{"topic": {topic}, "data": {data}}
		if private {
			form.Set("private", "on")
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+publisher)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("publish %s: %s", data, resp.Status)
		}
	}
	publish(book+"1", "public", false)
	publish(book+"1", "private-book-1", true)
	publish(book+"2", "private-book-2", true)
	publish(book+"3", "end", false) // in order after the others: once it is in, they were
	for _, c := range []struct {
		tab  *tab
		want string
	}{{modern, "public,private-book-1,end"}, {classic, "public,private-book-2,end"}} {
		c.tab.waitFor("the end marker", `window.got.includes("end")`)
		if got := eval[string](c.tab, `window.got.join(",")`); got != c.want {
			t.Errorf("the %s page received %s, want %s", c.tab.name, got, c.want)
		}
	}
}

// listen opens an EventSource on path in tb's page, with credentials
// (cookies), collecting the data of its messages in window.got and
// setting window.opened once it is open.
func listen(tb *tab, path string) {
	tb.t.Helper()
	eval[any](tb, fmt.Sprintf(`(() => {
		window.got = [];
		const es = new EventSource(%s, {withCredentials: true});
		es.onopen = () => { window.opened = true; };
		es.onmessage = (e) => window.got.push(e.data);
		return true;
	})()`, jsString(path)))
}
