package sqldb

import (
	"strings"
	"testing"
)

// TestPoolSizeParam checks, without a server, how a PostgreSQL URL's
// pool_max_conns is taken out: the other parameters stay, bad values are
// refused, and no error repeats the password.
func TestPoolSizeParam(t *testing.T) {
	const base = "postgres://app:s3cret@db:5432/archive?sslmode=disable"
	for _, c := range []struct {
		dsn, want string
		size      int
	}{
		{base, base, DefaultPoolSize},
		{base + "&pool_max_conns=7", base, 7},
		{"host=db user=app", "host=db user=app", DefaultPoolSize},
	} {
		got, n, err := poolSize(c.dsn)
		if err != nil || got != c.want || n != c.size {
			t.Errorf("poolSize(%q) = %q, %d, %v; want %q, %d", c.dsn, got, n, err, c.want, c.size)
		}
	}
	for _, dsn := range []string{
		base + "&pool_max_conns=0", base + "&pool_max_conns=1001", base + "&pool_max_conns=x",
		base + "&pool_max_conns=2&pool_max_conns=3", "postgres://app:s3cr%et@db/archive",
	} {
		_, _, err := poolSize(dsn)
		if err == nil {
			t.Errorf("poolSize(%q) accepted it", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("poolSize(%q): the error shows the password: %v", dsn, err)
		}
	}
}
