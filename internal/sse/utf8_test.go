package sse

import "testing"

func TestAppendDecoded(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"héllo 世界 😀", "héllo 世界 😀"},
		{"\uFFFD", "\uFFFD"},
		// The example of Unicode 15, section 3.9, table 3-8.
		{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"\xE2\x82", "\uFFFD"},
		{"\xF0\x9F\x98", "\uFFFD"},
		{"\xF0\x9F\x98x", "\uFFFDx"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},           // surrogate
		{"\xE0\x80\x80", "\uFFFD\uFFFD\uFFFD"},           // overlong
		{"\xF0\x80\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // overlong
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
		{"\xC0\xAF", "\uFFFD\uFFFD"},
		{"\xFF\xFE", "\uFFFD\uFFFD"},
		{"\xC3", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := string(appendDecoded(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendDecoded(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
