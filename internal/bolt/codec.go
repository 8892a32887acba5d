package bolt

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// codecVersion starts every stored value, so the format can change.
const codecVersion = 1

var errCorrupt = errors.New("corrupt stored update")

// seqKey is the big-endian key of a position: keys sort in position order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

func keySeq(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// encodeUpdate serialises the fields of u that are stored: the wire bytes
// are derived again on decode.
func encodeUpdate(u *hub.Update) []byte {
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
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads fields from a stored value; the first error sticks.
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
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// decodeUpdate rebuilds the update stored at seq, wire bytes included, for
// delivery.
func decodeUpdate(seq uint64, v []byte) (*hub.Update, error) {
	u, err := decodeFields(seq, v)
	if err != nil {
		return nil, err
	}
	if err := u.Encode(); err != nil {
		return nil, errors.Join(errCorrupt, err)
	}
	return u, nil
}

// decodeFields reads the stored fields of an update without its wire
// bytes: enough for retention and for the store's own bookkeeping.
func decodeFields(seq uint64, v []byte) (*hub.Update, error) {
	d := decoder{b: v}
	if d.byte() != codecVersion {
		return nil, errCorrupt
	}
	u := &hub.Update{Seq: seq}
	u.Time = time.Unix(0, int64(d.uvarint()))
	u.Retry = int(d.uvarint())
	u.Private = d.byte() == 1
	u.ID, u.Type, u.Data = d.string(), d.string(), d.string()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	for range n {
		u.Topics = append(u.Topics, d.string())
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return u, nil
}
