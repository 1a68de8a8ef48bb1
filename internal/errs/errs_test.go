package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKindPropagation(t *testing.T) {
	base := E("blob.Get", NotExist, Msg("no such key %q", "a/b"))
	wrapped := E("storage.Download", base)
	if got := KindOf(wrapped); got != NotExist {
		t.Fatalf("KindOf = %v, want NotExist", got)
	}
	viaFmt := fmt.Errorf("context: %w", wrapped)
	if !Is(NotExist, viaFmt) {
		t.Fatalf("kind lost through fmt.Errorf wrapping")
	}
	if KindOf(errors.New("plain")) != Other {
		t.Fatalf("plain error should be Other")
	}
	coded := E("storage.Upload", Conflict, Code("MODE_NOT_ALLOWED"), Msg("mode ro"))
	if CodeOf(E("ingest", coded)) != "MODE_NOT_ALLOWED" {
		t.Fatalf("code lost")
	}
	if s := wrapped.Error(); s != `storage.Download: blob.Get: no such key "a/b"` {
		t.Fatalf("Error() = %q", s)
	}
}

// TestBrief checks that quoted input is valid UTF-8 and cut to 64 bytes on
// a character boundary.
func TestBrief(t *testing.T) {
	long := strings.Repeat("я", 40) // 80 bytes
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "…"},
		{long, strings.Repeat("я", 32) + "…"},
		{"a" + long, "a" + strings.Repeat("я", 31) + "…"},
	} {
		if got := Brief(tc.in); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Brief(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
