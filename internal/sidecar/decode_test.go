package sidecar

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

func ptr(t time.Time) *time.Time { return &t }

// TestDecodeFixtures decodes one sidecar of every known shape and checks
// the result field by field.
func TestDecodeFixtures(t *testing.T) {
	tests := []struct {
		file string
		want *artstore.File
	}{
		{"v2.json", v2File()},
		{"v1-current-writer.json", &artstore.File{
			FileID:           "1f0e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
			OriginalFilename: "Договор поставки.docx",
			StorageFilename:  "Договор_поставки_admin-service_20250102T153045_1f0e2d3c-4b5a-4978-8695-a4b3c2d1e0f9.docx",
			StoragePath:      "2025/01/02/15/",
			Size:             20480,
			ContentType:      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			Checksum:         "cc8321d6375c494d043fdd0260f21bc0ec51dacc9f6abb7f909cdcd3041b78bf",
			UploadedBy:       "admin-service",
			UploadedAt:       utc(2025, 1, 2, 15, 30, 45, 123456000),
			UpdatedAt:        utc(2025, 1, 5, 10, 0, 0, 0),
			Tags:             []string{},
			Metadata: map[string]any{
				"project":   "alpha",
				"priority":  json.Number("2"),
				"reviewers": []any{"ivanov", "petrova"},
			},
			RetentionPolicy: artstore.Permanent,
			Version:         1,
		}},
		{"v1-s3-writer.json", &artstore.File{
			FileID:           "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
			OriginalFilename: "scan 0001.tiff",
			StorageFilename:  "scan_0001_ivanov_20240229T235959_2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d.tiff",
			StoragePath:      "2024/02/29/23/",
			Size:             7340032,
			ContentType:      "image/tiff",
			Checksum:         "59ad1b2fc74287ded1bba7af67765d23ad4a49f1ae51902cc2ed3f8ebee96cfa",
			UploadedBy:       "ivanov",
			UploadedAt:       utc(2024, 2, 29, 23, 59, 59, 999999000),
			UpdatedAt:        utc(2024, 2, 29, 23, 59, 59, 0),
			Description:      "Scanned <original> & signed",
			Tags:             []string{},
			Metadata: map[string]any{
				"created_by_fullname": "Иван Иванов",
				"version":             "1.2-draft",
			},
			RetentionPolicy: artstore.Permanent,
			Version:         1,
		}},
		{"v1-legacy.json", &artstore.File{
			FileID:           "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
			OriginalFilename: "invoice.pdf",
			StorageFilename:  "invoice_petrov_20240601T120000_3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f.pdf",
			StoragePath:      "2024/06/01/12/",
			Size:             1000,
			ContentType:      "application/pdf",
			Checksum:         "52d6e3de4fa0dcc29946695f93940c3e7f26f30e1e39f4b1a49ad98839112786",
			UploadedBy:       "petrov",
			UploadedAt:       utc(2024, 6, 1, 12, 0, 0, 0),
			UpdatedAt:        utc(2024, 6, 2, 9, 15, 30, 500000000),
			Description:      "Invoice for June",
			Tags:             []string{"invoice", "2024"},
			Metadata: map[string]any{
				"uploader_full_name": "Пётр Петров",
				"retention_days":     json.Number("30"),
			},
			RetentionPolicy: artstore.Temporary,
			ExpiresAt:       ptr(utc(2024, 7, 1, 12, 0, 0, 0)),
			Version:         1,
		}},
		{"v1-documented.json", &artstore.File{
			FileID:           "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3",
			OriginalFilename: "IMG_2023.JPG",
			StorageFilename:  "IMG_2023_sidorov_20230315T084500_4d5e6f70-8192-4a3b-bc4d-5e6f708192a3.JPG",
			StoragePath:      "2023/03/15/08/",
			Size:             5242880,
			ContentType:      "image/jpeg",
			Checksum:         "55c64d0fcd6f9d5f7c828093857e3fdfda68478bb4e9bd24d481ef391c7804e8",
			UploadedBy:       "sidorov",
			UploadedAt:       utc(2023, 3, 15, 8, 45, 0, 0),
			UpdatedAt:        utc(2023, 3, 15, 8, 45, 0, 0),
			Tags:             []string{},
			Metadata: map[string]any{
				"md5_hash":       "d41d8cd98f00b204e9800998ecf8427e",
				"retention_days": json.Number("365"),
				"camera":         "Canon EOS 5D",
				"location":       map[string]any{"lat": json.Number("55.755826"), "lon": json.Number("37.6173")},
				"shot_id":        json.Number("12345678901234567890"),
			},
			RetentionPolicy: artstore.Permanent,
			Version:         2,
		}},
		{"v1-adr015.json", &artstore.File{
			FileID:           "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4",
			OriginalFilename: "empty.txt",
			StoragePath:      "2025/05/05/03/",
			Size:             0,
			ContentType:      "text/plain",
			Checksum:         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			UploadedBy:       "ingest-sa",
			UploadedAt:       utc(2025, 5, 5, 3, 5, 5, 500000000),
			UpdatedAt:        utc(2025, 5, 5, 3, 5, 5, 500000000),
			Tags:             []string{},
			Metadata: map[string]any{
				"retention_days": json.Number("30"),
				"department":     "legal",
			},
			RetentionPolicy: artstore.Temporary,
			ExpiresAt:       ptr(utc(2025, 6, 4, 3, 5, 5, 500000000)),
			Version:         1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			compareFiles(t, got, tt.want)
			// Every legacy file can be rewritten as 2.0 without loss once
			// the caller has supplied the storage name.
			if got.StorageFilename == "" {
				got.StorageFilename = "x"
				tt.want.StorageFilename = "x"
			}
			data, err = Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			compareFiles(t, again, tt.want)
		})
	}
}

// minimal is the smallest valid v1 sidecar; tests add or replace fields.
func minimal(extra string) []byte {
	s := `{"file_id":"` + testID + `","original_filename":"a.txt","file_size":1,` +
		`"checksum":"` + testSum + `","created_at":"2025-01-02T03:04:05Z"`
	if extra != "" {
		s += "," + extra
	}
	return []byte(s + "}")
}

func TestDecodeMinimal(t *testing.T) {
	f, err := Decode(minimal(""))
	if err != nil {
		t.Fatal(err)
	}
	compareFiles(t, f, &artstore.File{
		FileID: testID, OriginalFilename: "a.txt", Size: 1,
		ContentType: "application/octet-stream", Checksum: testSum,
		UploadedAt: utc(2025, 1, 2, 3, 4, 5, 0), UpdatedAt: utc(2025, 1, 2, 3, 4, 5, 0),
		Tags: []string{}, Metadata: map[string]any{},
		RetentionPolicy: artstore.Permanent, Version: 1,
	})
}

func TestDecodeFields(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		check func(f *artstore.File) bool
	}{
		{"expiry makes temporary", `"expires_at":"2030-01-01T00:00:00Z"`,
			func(f *artstore.File) bool { return f.RetentionPolicy == artstore.Temporary }},
		{"explicit policy wins over expiry", `"retention_policy":"Permanent","ttl_expires_at":"2030-01-01T00:00:00Z"`,
			func(f *artstore.File) bool { return f.RetentionPolicy == artstore.Permanent && f.ExpiresAt != nil }},
		{"null expiry is none", `"expires_at":null,"retention_expires_at":null`,
			func(f *artstore.File) bool { return f.RetentionPolicy == artstore.Permanent && f.ExpiresAt == nil }},
		{"version integer", `"version":7`, func(f *artstore.File) bool { return f.Version == 7 }},
		{"version numeric string", `"version":" 12 "`, func(f *artstore.File) bool { return f.Version == 12 }},
		{"version None", `"version":"None"`,
			func(f *artstore.File) bool { return f.Version == 1 && len(f.Metadata) == 0 }},
		{"version empty", `"version":""`,
			func(f *artstore.File) bool { return f.Version == 1 && len(f.Metadata) == 0 }},
		{"version free text kept", `"version":"v2-final"`,
			func(f *artstore.File) bool { return f.Version == 1 && f.Metadata["version"] == "v2-final" }},
		{"version zero kept", `"version":0`,
			func(f *artstore.File) bool { return f.Version == 1 && f.Metadata["version"] == json.Number("0") }},
		{"version label yields to metadata", `"version":"x","metadata":{"version":"mine"}`,
			func(f *artstore.File) bool { return f.Metadata["version"] == "mine" }},
		{"custom_attributes over metadata", `"metadata":{"a":1,"b":1},"custom_attributes":{"b":2}`,
			func(f *artstore.File) bool {
				return f.Metadata["a"] == json.Number("1") && f.Metadata["b"] == json.Number("2")
			}},
		{"metadata over promoted key", `"metadata":{"camera":"meta"},"camera":"top"`,
			func(f *artstore.File) bool { return f.Metadata["camera"] == "meta" }},
		{"null extra keys dropped", `"created_by_fullname":null,"album":null`,
			func(f *artstore.File) bool { return len(f.Metadata) == 0 }},
		{"username preferred over id", `"created_by_id":"sub-1","created_by_username":"alice"`,
			func(f *artstore.File) bool { return f.UploadedBy == "alice" }},
		{"id when no username", `"created_by_id":"sub-1"`,
			func(f *artstore.File) bool { return f.UploadedBy == "sub-1" }},
		{"uploaded_at over created_at", `"uploaded_at":"2020-01-01 00:00:00"`,
			func(f *artstore.File) bool { return f.UploadedAt.Equal(utc(2020, 1, 1, 0, 0, 0, 0)) }},
		{"content_type over mime_type", `"content_type":"a/b","mime_type":"c/d"`,
			func(f *artstore.File) bool { return f.ContentType == "a/b" }},
		{"empty content type kept", `"content_type":""`,
			func(f *artstore.File) bool { return f.ContentType == "" }},
		{"null tags", `"tags":null`, func(f *artstore.File) bool { return f.Tags != nil && len(f.Tags) == 0 }},
		{"null description", `"description":null`, func(f *artstore.File) bool { return f.Description == "" }},
		{"escaped lone surrogate", `"description":"\ud800"`,
			func(f *artstore.File) bool { return f.Description == "\ufffd" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(minimal(tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(f) {
				t.Errorf("unexpected result: %+v", f)
			}
		})
	}
}

func TestDecodeUnknownFields(t *testing.T) {
	v1, err := Decode(minimal(`"future":"x"`))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Metadata["future"] != "x" {
		t.Errorf("v1 unknown key not kept in metadata: %v", v1.Metadata)
	}
	v2, err := Decode(minimal(`"schema_version":"2.0","future":"x","md5_hash":"y"`))
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.Metadata) != 0 {
		t.Errorf("v2 unknown keys leaked into metadata: %v", v2.Metadata)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty", ``},
		{"bad JSON", `{"file_id":`},
		{"trailing data", string(minimal("")) + `{}`},
		{"array", `[]`},
		{"null", `null`},
		{"string", `"x"`},
		{"invalid UTF-8", strings.Replace(string(minimal("")), "a.txt", "a\xff.txt", 1)},
		{"unknown schema", string(minimal(`"schema_version":"3.0"`))},
		{"schema as number", string(minimal(`"schema_version":2.0`))},
		{"missing file_id", `{"original_filename":"a","file_size":1,"checksum":"` + testSum + `","created_at":"2025-01-02T03:04:05Z"}`},
		{"bad file_id", strings.Replace(string(minimal("")), testID, "1234", 1)},
		{"missing original_filename", strings.Replace(string(minimal("")), `"original_filename":"a.txt",`, "", 1)},
		{"empty original_filename", strings.Replace(string(minimal("")), `"a.txt"`, `""`, 1)},
		{"missing size", strings.Replace(string(minimal("")), `"file_size":1,`, "", 1)},
		{"size as string", strings.Replace(string(minimal("")), `"file_size":1`, `"file_size":"1"`, 1)},
		{"fractional size", strings.Replace(string(minimal("")), `"file_size":1`, `"file_size":1.5`, 1)},
		{"negative size", strings.Replace(string(minimal("")), `"file_size":1`, `"file_size":-1`, 1)},
		{"missing checksum", strings.Replace(string(minimal("")), `"checksum":"`+testSum+`",`, "", 1)},
		{"short checksum", strings.Replace(string(minimal("")), testSum, testSum[:40], 1)},
		{"md5 checksum", strings.Replace(string(minimal("")), testSum, "md5:d41d8cd98f00b204e9800998ecf8427e", 1)},
		{"sha1 prefix", strings.Replace(string(minimal("")), testSum, "sha1:"+testSum, 1)},
		{"missing uploaded_at", strings.Replace(string(minimal("")), `,"created_at":"2025-01-02T03:04:05Z"`, "", 1)},
		{"bad timestamp", strings.Replace(string(minimal("")), "2025-01-02T03:04:05Z", "yesterday", 1)},
		{"date only", strings.Replace(string(minimal("")), "2025-01-02T03:04:05Z", "2025-01-02", 1)},
		{"timestamp not a string", strings.Replace(string(minimal("")), `"2025-01-02T03:04:05Z"`, "1735787045", 1)},
		{"year past 9999 in UTC", strings.Replace(string(minimal("")), "2025-01-02T03:04:05Z", "9999-12-31T23:59:59-01:00", 1)},
		{"unknown retention", string(minimal(`"retention_policy":"forever"`))},
		{"tags not an array", string(minimal(`"tags":"a,b"`))},
		{"tag not a string", string(minimal(`"tags":["a",1]`))},
		{"metadata not an object", string(minimal(`"metadata":[1]`))},
		{"custom_attributes not an object", string(minimal(`"schema_version":"2.0","custom_attributes":"x"`))},
		{"description not a string", string(minimal(`"description":5`))},
		{"storage_filename with slash", string(minimal(`"storage_filename":"../../etc/passwd"`))},
		{"metadata too deep", string(minimal(`"metadata":` + strings.Repeat(`{"a":`, maxDepth+1) + `1` + strings.Repeat(`}`, maxDepth+1)))},
		{"over 1 MiB", string(minimal(`"description":"` + strings.Repeat("x", MaxSize) + `"`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode([]byte(tt.data))
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("Decode = %+v, %v; want an Invalid error", f, err)
			}
			if f != nil {
				t.Fatalf("Decode returned a File with an error")
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2025-01-02T15:30:45Z", utc(2025, 1, 2, 15, 30, 45, 0)},
		{"2025-01-02T15:30:45.123456789Z", utc(2025, 1, 2, 15, 30, 45, 123456789)},
		{"2025-01-02T15:30:45.5+00:00", utc(2025, 1, 2, 15, 30, 45, 500000000)},
		{"2025-01-02 15:30:45.123456+00:00", utc(2025, 1, 2, 15, 30, 45, 123456000)},
		{"2025-01-02 18:30:45+03:00", utc(2025, 1, 2, 15, 30, 45, 0)},
		{"2025-01-02T10:30:45-0500", utc(2025, 1, 2, 15, 30, 45, 0)},
		{"2025-01-02t15:30:45z", utc(2025, 1, 2, 15, 30, 45, 0)},
		{"2025-01-02T15:30:45", utc(2025, 1, 2, 15, 30, 45, 0)},
		{"2025-01-02 15:30:45.000001", utc(2025, 1, 2, 15, 30, 45, 1000)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "2025-01-02", "02.01.2025 15:30", "2025-13-01T00:00:00Z", "2025-01-02T15:30:45+25:00x"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}
