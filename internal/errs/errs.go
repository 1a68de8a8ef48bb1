// Package errs defines ArtStore's error type: every error that crosses a
// package boundary carries the operation that failed and a Kind that says what
// sort of failure it was. The HTTP layer maps kinds to status codes in exactly
// one place (package api), and the HTTP clients map them back, so a kind
// survives a round trip between processes.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind classifies an error. The zero value is Other.
type Kind uint8

// The kinds of error. Their order is part of no contract; use the names.
const (
	Other           Kind = iota // unclassified; treated as Internal at the edges
	Invalid                     // the request is malformed or violates a rule
	NotExist                    // the item does not exist
	Exist                       // the item already exists
	Permission                  // the caller may not do this
	Unauthenticated             // the caller is not (validly) authenticated
	Conflict                    // the item's state forbids the operation
	Unavailable                 // a dependency is down or overloaded; retry later
	NoSpace                     // the store has no room for the data
	TooLarge                    // the request or one of its parts exceeds a limit
	Internal                    // a bug or an unexpected failure
	Locked                      // the item is locked for a while (an account after failed logins)
	Timeout                     // the caller was too slow to send its request
)

var kindNames = [...]string{
	Other:           "other",
	Invalid:         "invalid",
	NotExist:        "not_exist",
	Exist:           "exist",
	Permission:      "permission",
	Unauthenticated: "unauthenticated",
	Conflict:        "conflict",
	Unavailable:     "unavailable",
	NoSpace:         "no_space",
	TooLarge:        "too_large",
	Internal:        "internal",
	Locked:          "locked",
	Timeout:         "timeout",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the error type used throughout ArtStore.
type Error struct {
	Op   string // the operation, e.g. "storage.Upload"
	Kind Kind
	// Code is an optional machine-readable code that refines Kind, such as
	// MODE_NOT_ALLOWED. When empty the HTTP layer derives one from Kind.
	Code string
	Err  error // the underlying error or message; may be nil
}

// E builds an *Error from its arguments, which may be given in any order:
// a string is the Op, a Kind is the Kind, an error is the wrapped error, and
// a Code is the code. Use Msg or fmt.Errorf for free-form messages.
func E(args ...any) error {
	e := &Error{}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			e.Op = v
		case Kind:
			e.Kind = v
		case Code:
			e.Code = string(v)
		case error:
			e.Err = v
		case nil:
		default:
			panic(fmt.Sprintf("errs.E: bad argument type %T", a))
		}
	}
	// Inherit the kind and code of a wrapped *Error so callers can add an
	// operation without restating what went wrong.
	var inner *Error
	if e.Err != nil && errors.As(e.Err, &inner) {
		if e.Kind == Other {
			e.Kind = inner.Kind
		}
		if e.Code == "" {
			e.Code = inner.Code
		}
	}
	return e
}

// Code is a machine-readable error code, passed to E.
type Code string

// Msg is a shorthand for errors.New, to keep call sites of E short.
func Msg(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// Brief returns caller input fit to quote in a message: Cut to 64 bytes.
func Brief(s string) string { return Cut(s, 64) }

// Cut returns s as valid UTF-8 and, when longer than n bytes, cut there,
// on a character boundary, with an ellipsis.
func Cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	} else if e.Kind != Other {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Kind.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the kind of err: the kind of the outermost *Error in its
// chain that has one, or Other.
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Kind != Other {
			return e.Kind
		}
		err = errors.Unwrap(err)
	}
	return Other
}

// CodeOf reports the explicit code of err, or "".
func CodeOf(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Code != "" {
			return e.Code
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// Is reports whether err has the given kind.
func Is(kind Kind, err error) bool { return KindOf(err) == kind }
