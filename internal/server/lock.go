package server

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/artstore/artstore/internal/errs"
)

// lockElement takes an exclusive lock on an element for this process, so
// that a second server or an offline command cannot open it at the same
// time: an element must have exactly one writer of its journal.
func lockElement(dataDir, id string) (release func(), err error) {
	dir := filepath.Join(dataDir, "elements")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, errs.E("server.lockElement", errs.Invalid, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, id+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, errs.E("server.lockElement", errs.Invalid, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, errs.E("server.lockElement", errs.Conflict, errs.Msg("element %s is in use by another process", id))
	}
	return func() { f.Close() }, nil
}
