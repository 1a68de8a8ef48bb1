package errs

import (
	"errors"
	"fmt"
	"testing"
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
