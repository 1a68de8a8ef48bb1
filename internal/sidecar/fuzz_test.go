package sidecar

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// FuzzDecode checks that Decode never panics and keeps the codec's promise:
// whatever it accepts, Encode writes back and Decode reads as the same File.
func FuzzDecode(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range fixtures {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(minimal(`"schema_version":"2.0","custom_attributes":{"a":[1,{"b":null}]},"version":"x"`))
	f.Add(minimal(`"expires_at":"2025-01-02 03:04:05.999999999-23:59","tags":["\u2028"]`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			if file != nil {
				t.Fatal("Decode returned a File with an error")
			}
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("Decode error is not Invalid: %v", err)
			}
			return
		}
		if file.Tags == nil || file.Metadata == nil {
			t.Fatal("Decode returned nil Tags or Metadata")
		}
		if file.StorageFilename == "" {
			file.StorageFilename = "x" // the caller supplies it from the key
		}
		out, err := Encode(file)
		if err != nil {
			if errs.Is(errs.Invalid, err) && len(data) > MaxSize/2 {
				return // indentation can push a large input past the limit
			}
			t.Fatalf("Encode of a decoded sidecar failed: %v\n%s", err, data)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode of Encode output failed: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(file, again) {
			t.Fatalf("round trip changed the File:\n%+v\n%+v", file, again)
		}
		out2, err := Encode(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("re-encoding is not stable: %v", err)
		}
	})
}

// FuzzEncode checks that Encode either rejects a File as Invalid or writes
// one that decodes to the same File, for arbitrary strings everywhere.
func FuzzEncode(f *testing.F) {
	f.Add("report.pdf", "desc", "tag", "key", "value", int64(0))
	f.Add("a\xffb", "<&>", "\u2028", "", "\x00", int64(-1))
	f.Fuzz(func(t *testing.T, name, desc, tag, key, val string, nanos int64) {
		in := v2File()
		in.OriginalFilename = name
		in.UploadedBy = desc
		in.Description = desc
		in.Tags = []string{tag}
		in.Metadata = map[string]any{key: val, "n": map[string]any{val: []any{key}}}
		in.UpdatedAt = time.Unix(0, nanos)
		data, err := Encode(in)
		if err != nil {
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("Encode error is not Invalid: %v", err)
			}
			return
		}
		got, err := Decode(data)
		if err != nil {
			t.Fatalf("Decode of Encode output failed: %v\n%s", err, data)
		}
		want := *in
		want.UpdatedAt = in.UpdatedAt.UTC()
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("round trip changed the File:\n%+v\n%+v", got, &want)
		}
	})
}
