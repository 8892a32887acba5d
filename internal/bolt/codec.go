package bolt

import (
	"encoding/binary"
	"errors"

	"github.com/ssehub/ssehub/internal/hub"
)

var errCorrupt = hub.ErrCorrupt

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
	b, _ := u.MarshalBinary() // never fails
	return b
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
	u := &hub.Update{Seq: seq}
	if err := u.UnmarshalBinary(v); err != nil {
		return nil, err
	}
	return u, nil
}
