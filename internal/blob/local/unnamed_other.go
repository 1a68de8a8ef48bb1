//go:build !linux

package local

import (
	"errors"
	"os"
)

func openUnnamed(dir string) (*os.File, error) {
	return nil, &os.PathError{Op: "open unnamed", Path: dir, Err: errors.ErrUnsupported}
}

func linkUnnamed(f *os.File, dst string) error {
	return &os.LinkError{Op: "link", Old: f.Name(), New: dst, Err: errors.ErrUnsupported}
}
