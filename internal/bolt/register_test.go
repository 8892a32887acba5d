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
