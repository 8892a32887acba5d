package redis

import "testing"

func TestVersionParsing(t *testing.T) {
	info := "# Server\r\nredis_version:6.2.14\r\nredis_git_sha1:00000000\r\n"
	if v := infoField(info, "redis_version"); v != "6.2.14" {
		t.Fatalf("redis_version = %q", v)
	}
	for version, want := range map[string]int{"7.0.15": 7, "6.2.14": 6, "10.1": 10} {
		if got, ok := majorOf(version); !ok || got != want {
			t.Errorf("majorOf(%q) = %d, %v", version, got, ok)
		}
	}
	if _, ok := majorOf("valkey"); ok {
		t.Error("an unreadable version parsed")
	}
}
