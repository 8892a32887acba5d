package bolt_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/bolt"
)

// TestRegister: what was applied is there after a reopen, a key opened and
// closed in one Apply is forgotten, and a second process cannot open the
// same register.
func TestRegister(t *testing.T) {
	dir := t.TempDir()
	r, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(map[string][]byte{"d": []byte("4")}, []string{"b", "d", "unknown"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.OpenRegister(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second open of the same register: %v, want in use", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	open, err := r.Open()
	want := map[string][]byte{"a": []byte("1"), "c": []byte("3")}
	if err != nil || !maps.EqualFunc(open, want, func(x, y []byte) bool { return string(x) == string(y) }) {
		t.Fatalf("after a reopen: %q, %v; want %q", open, err, want)
	}
}

// TestRegisterCorrupt refuses a file that is no register, naming it.
func TestRegisterCorrupt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.RegisterFileName), []byte(strings.Repeat("x", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.OpenRegister(dir); err == nil || !strings.Contains(err.Error(), bolt.RegisterFileName) {
		t.Fatalf("a corrupt register: %v", err)
	}
}

// TestRegisterQueue: queued records come back oldest first after a reopen;
// those sent are forgotten, and of the rest only the newest up to the bound
// are kept.
func TestRegisterQueue(t *testing.T) {
	dir := t.TempDir()
	r, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	queue := func(from, to, sent uint64, keep int) {
		t.Helper()
		var keys []uint64
		var recs [][]byte
		for k := from; k <= to; k++ {
			keys, recs = append(keys, k), append(recs, []byte{byte('a' + k)})
		}
		if err := r.Queue(keys, recs, sent, keep); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want string) {
		t.Helper()
		keys, recs, err := r.Queued()
		got := ""
		for i, k := range keys {
			if recs[i][0] != byte('a'+k) {
				t.Fatalf("key %d holds %q", k, recs[i])
			}
			got += string(recs[i])
		}
		if err != nil || got != want {
			t.Fatalf("queued %q, %v; want %q", got, err, want)
		}
	}
	queue(1, 4, 0, 10)
	check("bcde")
	queue(5, 6, 2, 10) // 1 and 2 sent
	check("defg")
	queue(7, 9, 0, 4) // at most 4: 6 to 9
	check("ghij")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err = bolt.OpenRegister(dir); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	check("ghij")
	queue(10, 9, 9, 4) // nothing new, everything sent
	check("")
}
