package app

import "testing"

// TestStreamsFor: the streams allowed by an open-file limit leave files for
// the rest of the process, also under a small limit.
func TestStreamsFor(t *testing.T) {
	for _, c := range []struct {
		files uint64
		want  int
	}{
		{0, 0}, {1, 1}, {100, 50}, {256, 128}, {400, 272}, {1024, 896}, {20000, 19872},
		{1 << 40, 1 << 30},
	} {
		if got := streamsFor(c.files); got != c.want {
			t.Errorf("streamsFor(%d) = %d, want %d", c.files, got, c.want)
		}
	}
}
