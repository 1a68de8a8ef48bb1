package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ByteSize is a size in bytes, written as a number or with a unit:
// "500MB", "10GiB", "1T".
type ByteSize int64

var units = map[string]int64{
	"": 1, "B": 1,
	"K": 1 << 10, "KB": 1000, "KIB": 1 << 10,
	"M": 1 << 20, "MB": 1000 * 1000, "MIB": 1 << 20,
	"G": 1 << 30, "GB": 1000 * 1000 * 1000, "GIB": 1 << 30,
	"T": 1 << 40, "TB": 1000 * 1000 * 1000 * 1000, "TIB": 1 << 40,
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(t []byte) error {
	s := strings.TrimSpace(string(t))
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	}
	mult, ok := units[unit]
	if !ok || num == "" {
		return fmt.Errorf("invalid size %q", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return fmt.Errorf("invalid size %q", s)
	}
	*b = ByteSize(f * float64(mult))
	return nil
}

// UnmarshalJSON accepts a number of bytes or a string with a unit.
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	var n int64
	if err := json.Unmarshal(data, &n); err == nil {
		*b = ByteSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("size must be a number of bytes or a string such as \"10GiB\"")
	}
	return b.UnmarshalText([]byte(s))
}
