package sidecar

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

var update = flag.Bool("update", false, "rewrite testdata/v2.json from v2File")

const (
	testID  = "a1b2c3d4-e5f6-4789-abcd-ef1234567890"
	testSum = "845e91831319e89c4d656bdb80c278ac09a7230d61e5dfd2e1b1fbb436ac8917"
)

// v2File is the File behind the golden testdata/v2.json.
func v2File() *artstore.File {
	exp := time.Date(2025, 2, 1, 15, 30, 45, 0, time.UTC)
	return &artstore.File{
		FileID:           testID,
		OriginalFilename: "Отчёт <Q4> & итоги 📄.pdf",
		StorageFilename:  "Отчёт_Q4_&_итоги_📄_ivanov_20250102T153045_" + testID + ".pdf",
		StoragePath:      "2025/01/02/15/",
		Size:             123456,
		ContentType:      "application/pdf",
		Checksum:         testSum,
		UploadedBy:       "ivanov",
		UploadedAt:       time.Date(2025, 1, 2, 15, 30, 45, 123456789, time.UTC),
		UpdatedAt:        time.Date(2025, 1, 3, 8, 0, 0, 0, time.UTC),
		Description:      "Quarterly report\nline two",
		Tags:             []string{"finance", "q4"},
		Metadata: map[string]any{
			"department": "finance",
			"pages":      json.Number("12"),
			"nested":     map[string]any{"a": []any{json.Number("1"), "two", nil, true}},
		},
		RetentionPolicy:  artstore.Temporary,
		ExpiresAt:        &exp,
		Version:          3,
		StorageElementID: "se-01",
	}
}

func TestEncodeGolden(t *testing.T) {
	got, err := Encode(v2File())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "v2.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode output differs from %s (run with -update if the change is intended):\n%s", path, got)
	}
	// HTML characters stay literal: the sidecar is read by people too.
	if !bytes.Contains(got, []byte("<Q4> & ")) {
		t.Errorf("HTML characters were escaped")
	}
}

func TestRoundTrip(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	tests := []struct {
		name string
		in   func(f *artstore.File)
		want func(f *artstore.File) // how Decode normalises in; nil if unchanged
	}{
		{"golden", func(f *artstore.File) {}, nil},
		{"nil tags and metadata", func(f *artstore.File) {
			f.Tags, f.Metadata = nil, nil
		}, func(f *artstore.File) {
			f.Tags, f.Metadata = []string{}, map[string]any{}
		}},
		{"empty tags and metadata", func(f *artstore.File) {
			f.Tags, f.Metadata = []string{}, map[string]any{}
		}, nil},
		{"unicode everywhere", func(f *artstore.File) {
			f.OriginalFilename = "日本語ファイル名 \u2028 \ufffd 🏳️‍🌈.tar.gz"
			f.UploadedBy = "Пользователь"
			f.Description = "<script>&amp;</script> \"quoted\" \\ back"
			f.Tags = []string{"тег", "", "emoji 🎉"}
			f.Metadata = map[string]any{"ключ": "значение", "": "empty key", "deep": map[string]any{
				"list": []any{map[string]any{"x": json.Number("1e400")}, []any{}, map[string]any{}},
				"big":  json.Number("12345678901234567890123"),
				"neg":  json.Number("-0.000000000000000000001"),
			}}
		}, nil},
		{"no expiry, permanent, zero size", func(f *artstore.File) {
			f.ExpiresAt = nil
			f.RetentionPolicy = artstore.Permanent
			f.Size = 0
			f.StorageElementID = ""
			f.ContentType = ""
		}, nil},
		{"zero times", func(f *artstore.File) {
			f.UploadedAt, f.UpdatedAt = time.Time{}, time.Time{}
		}, nil},
		{"times in another zone come back in UTC", func(f *artstore.File) {
			f.UploadedAt = time.Date(2025, 1, 2, 18, 30, 45, 1, moscow)
		}, func(f *artstore.File) {
			f.UploadedAt = time.Date(2025, 1, 2, 15, 30, 45, 1, time.UTC)
		}},
		{"year 9999 and year 0", func(f *artstore.File) {
			e := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
			f.ExpiresAt = &e
			f.UpdatedAt = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
		}, nil},
		{"max values", func(f *artstore.File) {
			f.Size = math.MaxInt64
			f.Version = math.MaxInt64
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := v2File()
			tt.in(in)
			want := v2File()
			tt.in(want)
			if tt.want != nil {
				tt.want(want)
			}
			data, err := Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, data)
			}
			compareFiles(t, got, want)
			again, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("re-encoding changed the sidecar:\n%s\n---\n%s", data, again)
			}
		})
	}
}

// TestRoundTripGoValues checks metadata built in Go rather than decoded from
// JSON: the types change (numbers become json.Number) but the bytes do not.
func TestRoundTripGoValues(t *testing.T) {
	f := v2File()
	f.Metadata = map[string]any{
		"float": 0.1, "int": 42, "uint": uint8(7), "strs": []string{"a", "b"},
		"map": map[string]string{"k": "v"}, "ptr": new(string), "bytes": []byte("hi"),
	}
	data, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.Metadata["float"] != json.Number("0.1") || g.Metadata["int"] != json.Number("42") {
		t.Errorf("numbers decoded as %#v, %#v", g.Metadata["float"], g.Metadata["int"])
	}
	again, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("re-encoding changed the sidecar:\n%s\n---\n%s", data, again)
	}
}

func TestEncodeRejects(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := map[string]any{}
	for range maxDepth {
		deep = map[string]any{"d": deep}
	}
	tests := []struct {
		name string
		mod  func(f *artstore.File)
	}{
		{"upper-case file id", func(f *artstore.File) { f.FileID = strings.ToUpper(testID) }},
		{"braced file id", func(f *artstore.File) { f.FileID = "{" + testID + "}" }},
		{"file id not a uuid", func(f *artstore.File) { f.FileID = "not-a-uuid" }},
		{"empty file id", func(f *artstore.File) { f.FileID = "" }},
		{"empty original name", func(f *artstore.File) { f.OriginalFilename = "" }},
		{"empty storage name", func(f *artstore.File) { f.StorageFilename = "" }},
		{"storage name with slash", func(f *artstore.File) { f.StorageFilename = "../escape" }},
		{"storage name dot-dot", func(f *artstore.File) { f.StorageFilename = ".." }},
		{"negative size", func(f *artstore.File) { f.Size = -1 }},
		{"upper-case checksum", func(f *artstore.File) { f.Checksum = strings.ToUpper(testSum) }},
		{"short checksum", func(f *artstore.File) { f.Checksum = testSum[:63] }},
		{"prefixed checksum", func(f *artstore.File) { f.Checksum = "sha256:" + testSum }},
		{"non-hex checksum", func(f *artstore.File) { f.Checksum = strings.Repeat("g", 64) }},
		{"version 0", func(f *artstore.File) { f.Version = 0 }},
		{"empty retention", func(f *artstore.File) { f.RetentionPolicy = "" }},
		{"unknown retention", func(f *artstore.File) { f.RetentionPolicy = "forever" }},
		{"invalid UTF-8 name", func(f *artstore.File) { f.OriginalFilename = "a\xffb.pdf" }},
		{"invalid UTF-8 description", func(f *artstore.File) { f.Description = "\xc3" }},
		{"invalid UTF-8 tag", func(f *artstore.File) { f.Tags = []string{"ok", "\xfe"} }},
		{"invalid UTF-8 metadata key", func(f *artstore.File) { f.Metadata = map[string]any{"\xff": 1} }},
		{"invalid UTF-8 nested value", func(f *artstore.File) {
			f.Metadata = map[string]any{"a": []any{map[string]any{"b": "\xed\xa0\x80"}}}
		}},
		{"NaN in metadata", func(f *artstore.File) { f.Metadata = map[string]any{"x": math.NaN()} }},
		{"bad json.Number", func(f *artstore.File) { f.Metadata = map[string]any{"x": json.Number("12abc")} }},
		{"channel in metadata", func(f *artstore.File) { f.Metadata = map[string]any{"x": make(chan int)} }},
		{"cyclic metadata", func(f *artstore.File) { f.Metadata = cyclic }},
		{"metadata too deep", func(f *artstore.File) { f.Metadata = deep }},
		{"year 10000", func(f *artstore.File) { f.UploadedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"negative year", func(f *artstore.File) {
			e := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
			f.ExpiresAt = &e
		}},
		{"over 1 MiB", func(f *artstore.File) { f.Description = strings.Repeat("x", MaxSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := v2File()
			tt.mod(f)
			data, err := Encode(f)
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("Encode = %v, %.200s; want an Invalid error", err, data)
			}
		})
	}
	if _, err := Encode(nil); !errs.Is(errs.Invalid, err) {
		t.Errorf("Encode(nil) = %v", err)
	}
}

// TestMetadataDepthLimit checks that the deepest metadata Encode accepts
// is exactly the deepest Decode accepts.
func TestMetadataDepthLimit(t *testing.T) {
	deep := map[string]any{}
	for range maxDepth - 1 {
		deep = map[string]any{"d": deep}
	}
	f := v2File()
	f.Metadata = deep
	data, err := Encode(f)
	if err != nil {
		t.Fatalf("Encode at the limit: %v", err)
	}
	if _, err := Decode(data); err != nil {
		t.Fatalf("Decode at the limit: %v", err)
	}
	deeper := bytes.Replace(data, []byte(`"d": {}`), []byte(`"d": {"e": []}`), 1)
	if _, err := Decode(deeper); !errs.Is(errs.Invalid, err) {
		t.Fatalf("Decode past the limit = %v; want Invalid", err)
	}
}

// compareFiles reports every field in which got differs from want. Times
// must be the same instant and in UTC.
func compareFiles(t *testing.T, got, want *artstore.File) {
	t.Helper()
	if got == nil {
		t.Fatal("got nil File")
	}
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch g := g.(type) {
		case time.Time:
			if w := w.(time.Time); !g.Equal(w) || g.Location() != time.UTC {
				t.Errorf("%s = %v; want %v", name, g, w)
			}
		case *time.Time:
			w := w.(*time.Time)
			if (g == nil) != (w == nil) || g != nil && (!g.Equal(*w) || g.Location() != time.UTC) {
				t.Errorf("%s = %v; want %v", name, fmtTimePtr(g), fmtTimePtr(w))
			}
		default:
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s = %#v; want %#v", name, g, w)
			}
		}
	}
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}
