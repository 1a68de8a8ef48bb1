package sqldb

import "testing"

func TestCheckText(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "Отчёт\n\ttab": true, "a\x00b": false, "\xff": false} {
		if got := CheckText(s) == nil; got != ok {
			t.Errorf("CheckText(%q) accepts: %v, want %v", s, got, ok)
		}
	}
}

func TestLikeContains(t *testing.T) {
	if got, want := LikeContains(`50%_a\b`), `%50\%\_a\\b%`; got != want {
		t.Errorf("LikeContains = %s, want %s", got, want)
	}
}
