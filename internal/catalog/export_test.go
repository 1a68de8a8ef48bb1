package catalog

// SetCountLimit lowers how many matches a search counts exactly, until the
// returned function restores it.
func SetCountLimit(n int) (restore func()) {
	old := countLimit
	countLimit = n
	return func() { countLimit = old }
}
