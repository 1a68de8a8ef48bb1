package mem_test

import (
	"testing"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/blobtest"
	"github.com/artstore/artstore/internal/blob/mem"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Backend { return mem.New() })
}
