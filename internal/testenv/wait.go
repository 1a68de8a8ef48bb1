package testenv

import (
	"testing"
	"time"
)

// Eventually waits until cond holds, checking every 10 ms, and fails the
// test when it still does not after timeout. what says what is awaited.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
