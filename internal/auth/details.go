package auth

// The authorization_details claim (RFC 9396) of a Mercure 1.0 access
// token, read as strictly as the rest of the payload. Details of other
// types are left to their APIs; a Mercure detail that fails any rule of
// draft-08 refuses the whole token.

import (
	"encoding/json"
	"fmt"

	"github.com/ssehub/ssehub/internal/topic"
)

// DetailType is the type of a Mercure authorization detail.
const DetailType = "https://mercure.rocks/authorization-detail"

// Limits on the authorization details of one token (draft-08 asks for
// some): a token over one is refused.
const (
	MaxDetails      = 100  // authorization details, of every type
	MaxDetailTopics = 1000 // topic matchers in one detail
	MaxMatchLength  = 2048 // bytes of one matcher
)

// checkBase is the hub URL relative URL patterns are checked against
// when a token is read: any absolute URL tells whether they parse.
const checkBase = "https://hub.invalid/.well-known/mercure"

// rawDetail is a detail's members, as written, until its type is known.
type rawDetail struct {
	typ                      string
	hasType                  bool
	actions, topics, payload json.RawMessage
}

// details reads authorization_details: null, or an array of objects.
func (r *reader) details(p *payload) error {
	const path = "authorization_details"
	tok, err := r.token(path)
	if err != nil || tok == nil {
		return err
	}
	if tok != json.Delim('[') {
		return invalid(ErrClaims, "%s must be an array of objects, not %s", path, kind(tok))
	}
	p.details = []Detail{}
	n := 0
	return r.elements(path, ']', func() error {
		if n++; n > MaxDetails {
			return invalid(ErrClaims, "%s has more than %d entries", path, MaxDetails)
		}
		at := fmt.Sprintf("%s[%d]", path, n-1)
		raw, err := r.detail(at)
		switch {
		case err != nil:
			return err
		case !raw.hasType:
			return invalid(ErrClaims, "%s has no type (RFC 9396 section 2)", at)
		case raw.typ != DetailType:
			p.foreign++
			return nil
		}
		d, err := raw.mercure(at)
		p.details = append(p.details, d)
		return err
	})
}

// detail reads one authorization detail object.
func (r *reader) detail(at string) (d rawDetail, err error) {
	err = r.object(at, 1, func(name string) (err error) {
		path := at + "." + name
		switch name {
		case "type":
			var tok json.Token
			if tok, err = r.token(path); err == nil {
				d.typ, d.hasType = tok.(string)
				if !d.hasType {
					err = invalid(ErrClaims, "%s must be a string, not %s", path, kind(tok))
				}
			}
		case "actions":
			d.actions, err = r.raw(path)
		case "topics":
			d.topics, err = r.raw(path)
		case "payload":
			d.payload, err = r.raw(path)
		default:
			err = r.skip(path, 1)
		}
		return err
	})
	return d, err
}

// mercure reads a Mercure detail's actions, topics and payload.
func (d *rawDetail) mercure(at string) (Detail, error) {
	var out Detail
	if err := d.readActions(at+".actions", &out); err != nil {
		return out, err
	}
	topics, err := readTopics(at+".topics", d.topics)
	if err != nil {
		return out, err
	}
	out.Topics = topics
	if len(d.payload) > 0 && string(d.payload) != "null" {
		if d.payload[0] != '{' {
			return out, invalid(ErrClaims, "%s.payload must be a JSON object", at)
		}
		out.Payload = d.payload
	}
	return out, nil
}

// readActions reads actions: a non-empty array of strings, of which
// publish and subscribe mean something and the others nothing.
func (d *rawDetail) readActions(path string, out *Detail) error {
	if d.actions == nil {
		return invalid(ErrClaims, "%s is missing: a Mercure authorization detail needs a non-empty array of actions", path)
	}
	r := newReader(d.actions)
	tok, err := r.token(path)
	if err != nil {
		return err
	}
	actions, err := r.stringArray(path, tok)
	if err != nil {
		return err
	}
	if len(actions) == 0 {
		return invalid(ErrClaims, "%s is empty: a Mercure authorization detail needs at least one action", path)
	}
	for _, a := range actions {
		out.Publish = out.Publish || a == "publish"
		out.Subscribe = out.Subscribe || a == "subscribe"
	}
	return nil
}

// readTopics reads topics: a non-empty array of topic matcher objects.
func readTopics(path string, raw json.RawMessage) ([]topic.Spec, error) {
	if raw == nil {
		return nil, invalid(ErrClaims, "%s is missing: a Mercure authorization detail needs a non-empty array of topic matchers", path)
	}
	r := newReader(raw)
	tok, err := r.token(path)
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, invalid(ErrClaims, "%s must be an array of topic matcher objects, not %s", path, kind(tok))
	}
	specs := []topic.Spec{}
	err = r.elements(path, ']', func() error {
		if len(specs) == MaxDetailTopics {
			return invalid(ErrClaims, "%s has more than %d topic matchers", path, MaxDetailTopics)
		}
		s, err := r.matcher(fmt.Sprintf("%s[%d]", path, len(specs)))
		specs = append(specs, s)
		return err
	})
	if err == nil && len(specs) == 0 {
		err = invalid(ErrClaims, "%s is empty: a Mercure authorization detail needs at least one topic matcher", path)
	}
	return specs, err
}
