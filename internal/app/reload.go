package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/ssehub/ssehub/internal/auth"
)

// Reloading (SIGHUP, see Main): a renewed TLS certificate and rotated JWT
// key files take effect without a restart, so no stream is cut for them.

// keySettings are the JWT key settings, by flag name.
func (c Config) keySettings() map[string]string {
	return map[string]string{"jwt-key": c.JWTKey, "jwt-key-previous": c.JWTKeyPrevious,
		"publisher-jwt-key": c.PublisherJWTKey, "subscriber-jwt-key": c.SubscriberJWTKey}
}

// keyFiles returns the key settings that name a file (auth.LoadKey reads
// those; the others are the keys themselves).
func (c Config) keyFiles() map[string]bool {
	files := map[string]bool{}
	for name, v := range c.keySettings() {
		if st, err := os.Stat(v); v != "" && err == nil && !st.IsDir() {
			files[name] = true
		}
	}
	return files
}

// keys is what a reload replaces: the certificate and the verifiers.
type keys struct {
	cert       *certificate    // nil without TLS
	pubs, subs *auth.Verifier  // nil when that role needs no token
	files      map[string]bool // the key settings that named files at startup
}

// certificate is the TLS key pair served to new connections.
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// load reads the key pair; on error the one served before stays.
func (c *certificate) load() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS key pair (-tls-cert %s, -tls-key %s): %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&pair)
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// Reload reads the TLS certificate and the JWT key files again: new
// connections get the new certificate and new requests are verified with
// the new keys, while streams already open go on. What fails to load is
// kept as it was and named in the error.
func (a *App) Reload() error {
	var errs []error
	if a.keys.cert != nil {
		errs = append(errs, a.keys.cert.load())
	}
	errs = append(errs, a.reloadKeys())
	if err := errors.Join(errs...); err != nil {
		a.log.Error("reload failed: what did not load is kept as it was", "err", err)
		return err
	}
	a.log.Info("reloaded the TLS certificate and the JWT key files",
		"tls", a.keys.cert != nil, "key_files", len(a.keys.files))
	return nil
}

// reloadKeys builds the verifiers again from the same settings; a setting
// must name a file now if and only if it did at startup (a key file that
// vanished is not read as the key itself).
func (a *App) reloadKeys() error {
	now := a.cfg.keyFiles()
	for name, v := range a.cfg.keySettings() {
		if v != "" && now[name] != a.keys.files[name] {
			return fmt.Errorf("-%s %s: a key file at startup and no longer one, or the reverse; restart to change that", name, v)
		}
	}
	pubs, subs, err := a.cfg.verifiers()
	if err != nil {
		return err
	}
	if (pubs == nil) != (a.keys.pubs == nil) || (subs == nil) != (a.keys.subs == nil) {
		return errors.New("reloading cannot turn authorization on or off; restart to do that")
	}
	if pubs != nil {
		a.keys.pubs.Replace(pubs)
	}
	if subs != nil {
		a.keys.subs.Replace(subs)
	}
	return nil
}
