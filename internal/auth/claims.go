package auth

// The header and the payload of a token are read here a second time, once
// its signature verifies, and strictly: the jwt package decodes them with
// encoding/json, which keeps the last of duplicated members, matches member
// names whatever their case, takes a number written as a string for a
// NumericDate, overflows on a huge one, and ignores crit. A token that two
// parsers read differently can grant more than its issuer checked.

import (
	"encoding/json"
	"math"
	"time"

	"github.com/ssehub/ssehub/internal/topic"
)

// maxNumericDate is 9999-12-31T23:59:59Z, the last date RFC 3339 writes:
// a NumericDate beyond, or before 1970, is refused as out of range.
const maxNumericDate = 253402300799

// standardHeaders are the JWS header parameters of RFC 7515 section 4.1,
// which crit may not list.
var standardHeaders = map[string]bool{
	"alg": true, "jku": true, "jwk": true, "kid": true, "x5u": true, "x5c": true,
	"x5t": true, "x5t#S256": true, "typ": true, "cty": true, "crit": true,
}

// payload is what a token's claims set says.
type payload struct {
	claims  Claims
	nbf     time.Time // zero: none
	iss     string
	aud     []string
	details []Detail // the Mercure authorization details; nil: none
	foreign int      // how many authorization details of other types
}

// header is what a JOSE header says that the hub reads.
type header struct {
	typ string // "" when none
}

// checkHeader refuses a JOSE header that is not an object, has a member
// twice at any depth, or has a crit parameter; it returns its typ.
func checkHeader(b []byte) (header, error) {
	r := newReader(b)
	var h header
	err := r.object("the header", 0, func(name string) (err error) {
		switch name {
		case "crit":
			return r.crit()
		case "typ":
			h.typ, err = r.text("the header's typ")
			return err
		}
		return r.skip("the header's "+name, 0)
	})
	if err != nil {
		return h, err
	}
	return h, r.end("the header")
}

// decodePayload reads a claims set: an object whose members are unique at
// any depth, with NumericDates that are numbers in range and the types
// RFC 7519 and Mercure give the other claims. Claims it does not know are
// ignored; null stands for an absent claim.
func decodePayload(b []byte) (*payload, error) {
	r := newReader(b)
	var p payload
	err := r.object("the payload", 0, func(name string) error { return r.claim(&p, name) })
	if err != nil {
		return nil, err
	}
	return &p, r.end("the payload")
}

// claim reads the value of the claim name into p.
func (r *reader) claim(p *payload, name string) (err error) {
	switch name {
	case "exp":
		p.claims.Expiry, err = r.numericDate(name)
	case "nbf":
		p.nbf, err = r.numericDate(name)
	case "iat":
		_, err = r.numericDate(name)
	case "sub":
		p.claims.Subject, err = r.text(name)
	case "iss":
		p.iss, err = r.text(name)
	case "jti":
		_, err = r.text(name)
	case "aud":
		p.aud, err = r.audience()
	case "authorization_details":
		err = r.details(p)
	case "mercure":
		err = r.mercure(&p.claims)
	default:
		err = r.skip("the "+name+" claim", 0)
	}
	return err
}

// mercure reads the mercure claim: null, or an object of publish,
// subscribe and payload.
func (r *reader) mercure(c *Claims) error {
	tok, err := r.token("mercure")
	if err != nil || tok == nil {
		return err
	}
	return r.members("mercure", tok, 0, func(name string) (err error) {
		path := "mercure." + name
		switch name {
		case "publish":
			c.Publish, err = r.classic(path)
		case "subscribe":
			c.Subscribe, err = r.classic(path)
		case "payload":
			c.Payload, err = r.raw(path)
		default:
			err = r.skip(path, 0)
		}
		return err
	})
}

// numericDate reads a NumericDate (RFC 7519 section 2): a JSON number of
// seconds since 1970, in range; null is none, the zero time.
func (r *reader) numericDate(name string) (time.Time, error) {
	tok, err := r.token(name)
	if err != nil || tok == nil {
		return time.Time{}, err
	}
	n, ok := tok.(json.Number)
	if !ok {
		return time.Time{}, invalid(ErrMalformed, "%s must be a JSON number of seconds since 1970 (a NumericDate), not %s", name, kind(tok))
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, invalid(ErrMalformed, "%s out of range: a NumericDate must lie between 0 (1970) and %d (9999-12-31T23:59:59Z)", name, maxNumericDate)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// text reads a claim whose value is a string, or null.
func (r *reader) text(name string) (string, error) {
	tok, err := r.token(name)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok && tok != nil {
		return "", invalid(ErrMalformed, "%s must be a string, not %s", name, kind(tok))
	}
	return s, nil
}

// audience reads aud: a string, an array of strings, or null.
func (r *reader) audience() ([]string, error) {
	tok, err := r.token("aud")
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	}
	return r.stringArray("aud", tok)
}

// classic reads a list of classic topic selectors, or null (nil).
func (r *reader) classic(path string) ([]topic.Spec, error) {
	list, err := r.list(path)
	if list == nil || err != nil {
		return nil, err
	}
	return topic.Specs(list), nil
}

// list reads an array of strings, or null (a nil list).
func (r *reader) list(path string) ([]string, error) {
	tok, err := r.token(path)
	if err != nil || tok == nil {
		return nil, err
	}
	return r.stringArray(path, tok)
}

// stringArray reads the array of strings that tok opens.
func (r *reader) stringArray(path string, tok json.Token) ([]string, error) {
	if tok != json.Delim('[') {
		return nil, invalid(ErrMalformed, "%s must be an array of strings, not %s", path, kind(tok))
	}
	list := []string{}
	err := r.elements(path, ']', func() error {
		tok, err := r.token(path)
		if err != nil {
			return err
		}
		s, ok := tok.(string)
		if !ok {
			return invalid(ErrMalformed, "%s[%d] must be a string, not %s", path, len(list), kind(tok))
		}
		list = append(list, s)
		return nil
	})
	return list, err
}

// crit reads the header's crit parameter (RFC 7515 section 4.1.11), which
// lists the extensions a verifier must understand to accept the token.
// This hub understands none: a crit that lists one refuses the token, and
// so does one that breaks the section's rules (not a non-empty array of
// distinct names, or a name the RFC itself defines).
func (r *reader) crit() error {
	const path = "the header's crit"
	tok, err := r.token(path)
	if err != nil {
		return err
	}
	names, err := r.stringArray(path, tok)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return invalid(ErrMalformed, "%s is an empty list, which RFC 7515 section 4.1.11 forbids", path)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if standardHeaders[n] {
			return invalid(ErrMalformed, "%s lists %q, a header parameter RFC 7515 defines, which it may not list", path, n)
		}
		if seen[n] {
			return invalid(ErrMalformed, "%s lists %q twice", path, n)
		}
		seen[n] = true
	}
	return invalid(ErrExtension, "%s lists %q: extensions this hub does not understand, so it must refuse the token (RFC 7515 section 4.1.11)", path, names)
}
