package redis

import (
	"fmt"
	"strconv"
	"strings"
)

// A log entry's Redis id, "<ms>-<n>", maps onto the hub's 64-bit position:
// ms in the high 44 bits, n in the low 20. Redis makes entry ids strictly
// increasing, so positions are too; n past 2^20 (a million entries in one
// millisecond) is refused rather than wrapped.
const seqBits = 20

// seqOf converts an entry id into a position.
func seqOf(entryID string) (uint64, error) {
	ms, n, ok := strings.Cut(entryID, "-")
	if !ok {
		return 0, fmt.Errorf("entry id %q: no dash", entryID)
	}
	m, err := strconv.ParseUint(ms, 10, 64)
	if err != nil || m >= 1<<(64-seqBits) {
		return 0, fmt.Errorf("entry id %q: bad milliseconds", entryID)
	}
	c, err := strconv.ParseUint(n, 10, 64)
	if err != nil || c >= 1<<seqBits {
		return 0, fmt.Errorf("entry id %q: sequence out of range", entryID)
	}
	return m<<seqBits | c, nil
}

// entryID converts a position back into an entry id.
func entryID(seq uint64) string {
	return strconv.FormatUint(seq>>seqBits, 10) + "-" + strconv.FormatUint(seq&(1<<seqBits-1), 10)
}

// position is a point in the log: an entry's position, the hub id of that
// entry and its number (count of log entries ever added, for gap checks).
type position struct {
	seq   uint64
	id    string
	count uint64
}
