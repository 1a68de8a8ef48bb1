package sidecar

import (
	"regexp"
	"strings"
)

var uuidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// FileIDFromName finds the file id in a storage file name, a blob key or a
// sidecar key, and returns it in lower case. Storage names end with
// "_{file_id}{ext}", while the stem and the uploader before it may contain
// UUIDs of their own (a finalized copy's stem is its id; an uploader may be
// a token subject), so the last UUID in the name is the file id. The
// original took the first match, which picks the wrong one in those cases.
func FileIDFromName(name string) (string, bool) {
	m := uuidPattern.FindAllString(name, -1)
	if len(m) == 0 {
		return "", false
	}
	return strings.ToLower(m[len(m)-1]), true
}
