package hub

import (
	"encoding/binary"
	"errors"
	"time"
)

// codecVersion starts every encoded update, so the format can change.
const codecVersion = 1

// ErrCorrupt reports stored bytes that do not decode into an update.
var ErrCorrupt = errors.New("corrupt stored update")

// MarshalBinary encodes the fields of u that a history outside the process
// stores: everything but Seq (the store's key) and the wire bytes, which
// Encode derives again.
func (u *Update) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 32+len(u.ID)+len(u.Type)+len(u.Data)+16*len(u.Topics))
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(u.Time.UnixNano()))
	b = binary.AppendUvarint(b, uint64(u.Retry))
	private := byte(0)
	if u.Private {
		private = 1
	}
	b = append(b, private)
	b = appendString(b, u.ID)
	b = appendString(b, u.Type)
	b = appendString(b, u.Data)
	b = binary.AppendUvarint(b, uint64(len(u.Topics)))
	for _, t := range u.Topics {
		b = appendString(b, t)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded into u's fields,
// leaving Seq and the wire bytes alone. It fails with ErrCorrupt.
func (u *Update) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if d.byte() != codecVersion {
		return ErrCorrupt
	}
	u.Time = time.Unix(0, int64(d.uvarint()))
	u.Retry = int(d.uvarint())
	u.Private = d.byte() == 1
	u.ID, u.Type, u.Data = d.string(), d.string(), d.string()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		return ErrCorrupt
	}
	u.Topics = make([]string, 0, n)
	for range n {
		u.Topics = append(u.Topics, d.string())
	}
	if d.err != nil || len(d.b) != 0 {
		return ErrCorrupt
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads fields from encoded bytes; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = ErrCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
