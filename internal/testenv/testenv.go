// Package testenv gives tests access to the external services ArtStore can
// use, an S3 gateway, a PostgreSQL server and Redis, and owns their
// lifetime during a test run. Tests that need a service call S3, Postgres
// or Redis; each skips the test unless an environment variable asks for
// the service, so a plain `go test ./...` needs nothing installed:
//
//	ARTSTORE_TEST_S3=1          run S3 tests against a versitygw started here
//	ARTSTORE_TEST_POSTGRES=DSN  run PostgreSQL tests, each in its own schema
//	ARTSTORE_TEST_REDIS=1       run Redis tests against a redis-server started here
//
// Eventually waits for what a test expects to happen in the background.
//
// A package whose tests call S3 must run them through Main:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
)

// inMain is set while Main runs the tests. S3 refuses to start a server
// without it, because nothing else would stop the server afterwards.
var inMain atomic.Bool

// Main runs the tests and then stops the services this package started.
// Use it as the body of TestMain.
func Main(m *testing.M) {
	inMain.Store(true)
	code := m.Run()
	stopS3()
	os.Exit(code)
}

// randomName returns prefix followed by 12 random lower-case hex digits,
// which is valid both as an S3 bucket name and as an SQL identifier.
func randomName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return prefix + hex.EncodeToString(b[:])
}
