package bolt

import (
	"encoding/binary"
	"fmt"
)

// The bytes of a topic index's blocks (topicindex.go).

// recordSize is the length of one record in a block.
const recordSize = 9

// blockRecords is the most records a block holds: a block of 576 bytes,
// about 6 to a 4 KiB page.
const blockRecords = 64

// indexRecord is one position of a topic's index.
type indexRecord struct {
	seq       uint64
	canonical bool
}

// decodeBlock returns the records of the block at key k with value v.
func decodeBlock(k, v []byte) ([]indexRecord, error) {
	if len(v) == 1 { // one position, as stored before blocks
		seq, ok := keySeq(k)
		if !ok {
			return nil, fmt.Errorf("topic index key %x: %w", k, errCorrupt)
		}
		return []indexRecord{{seq, v[0] == 1}}, nil
	}
	if err := checkBlock(v); err != nil {
		return nil, err
	}
	recs := make([]indexRecord, 0, len(v)/recordSize)
	for i := 0; i < len(v); i += recordSize {
		recs = append(recs, indexRecord{binary.BigEndian.Uint64(v[i:]), v[i+8] == 1})
	}
	return recs, nil
}

// checkBlock tells whether v, a value other than the 1-byte entry of
// before blocks, holds whole records.
func checkBlock(v []byte) error {
	if len(v) == 0 || len(v)%recordSize != 0 {
		return fmt.Errorf("topic index block of %d bytes: %w", len(v), errCorrupt)
	}
	return nil
}

// encodeBlock returns the value of a block holding recs.
func encodeBlock(recs []indexRecord) []byte {
	return appendRecords(make([]byte, 0, len(recs)*recordSize), recs)
}

// appendRecords appends recs to the block value v.
func appendRecords(v []byte, recs []indexRecord) []byte {
	for _, r := range recs {
		v = binary.BigEndian.AppendUint64(v, r.seq)
		flag := byte(0)
		if r.canonical {
			flag = 1
		}
		v = append(v, flag)
	}
	return v
}

// blockBytes appends to dst the records of the block at key k with value
// v, an entry of before blocks turned into its one record.
func blockBytes(dst, k, v []byte) []byte {
	if len(v) == 1 {
		return append(append(dst, k...), v[0])
	}
	return append(dst, v...)
}

// lastPosition returns the last position of the block at key k with value v.
func lastPosition(k, v []byte) uint64 {
	if len(v) < recordSize {
		seq, _ := keySeq(k)
		return seq
	}
	return binary.BigEndian.Uint64(v[len(v)-recordSize:])
}

// recordCount returns how many records the block value v holds.
func recordCount(v []byte) int {
	if len(v) == 1 {
		return 1
	}
	return len(v) / recordSize
}
