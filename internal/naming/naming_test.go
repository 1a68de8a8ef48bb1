package naming

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/errs"
)

const id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

var at = time.Date(2026, 11, 23, 14, 5, 9, 0, time.UTC)

func TestCheckOriginalName(t *testing.T) {
	good := []string{"report.pdf", "Отчёт за 2026.docx", ".profile", "a..b", "名前.txt", strings.Repeat("a", 255), "تقرير.pdf", "דוח.txt", "👩\u200d💻.png"}
	for _, n := range good {
		if err := CheckOriginalName(n); err != nil {
			t.Errorf("CheckOriginalName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", ".", "..", "../etc/passwd", "/etc/passwd", `a\b`, "a\x00b", "a\nb", "\xff\xfe", strings.Repeat("a", 256), strings.Repeat("x", 10000),
		"invoice\u202efdp.exe", "a\u2066b.txt", "a\u200fb.txt"}
	for _, n := range bad {
		err := CheckOriginalName(n)
		if !errs.Is(errs.Invalid, err) {
			t.Errorf("CheckOriginalName(%q) = %v, want an Invalid error", n, err)
		}
	}
}

func TestDir(t *testing.T) {
	if got := Dir(at.In(time.FixedZone("x", 3*3600))); got != "2026/11/23/14/" {
		t.Fatalf("Dir = %q", got)
	}
}

func TestStorageName(t *testing.T) {
	cases := []struct{ original, uploader, want string }{
		{"report.pdf", "svc-app", "report_svc-app_20261123T140509_" + id + ".pdf"},
		{"Отчёт.docx", "иван", "Отчёт_иван_20261123T140509_" + id + ".docx"},
		{"noext", "u", "noext_u_20261123T140509_" + id},
		{".profile", "u", ".profile_u_20261123T140509_" + id},
		{"a..b.txt", "u/../x", "a._b_u_.__x_20261123T140509_" + id + ".txt"},
		{"x.tar.gz", "", "x.tar_anonymous_20261123T140509_" + id + ".gz"},
		{"a:b?.txt", "u", "a_b__u_20261123T140509_" + id + ".txt"},
		{"weird.ext/../x", "u", "weird.ext_.__x_u_20261123T140509_" + id},
	}
	for _, c := range cases {
		got := StorageName(c.original, c.uploader, at, id)
		if got != c.want {
			t.Errorf("StorageName(%q, %q) = %q, want %q", c.original, c.uploader, got, c.want)
		}
	}
}

func TestStorageNameBounds(t *testing.T) {
	names := []string{
		strings.Repeat("я", 127) + ".pdf",
		strings.Repeat("a", 255),
		"x." + strings.Repeat("e", 40),
		strings.Repeat("🙂", 60) + ".txt",
	}
	for _, n := range names {
		got := StorageName(n, strings.Repeat("u", 100), at, id)
		if len(got) > MaxStorageName {
			t.Errorf("StorageName(%q) is %d bytes", n, len(got))
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, `/\`) || strings.Contains(got, "..") {
			t.Errorf("StorageName(%q) = %q is not clean", n, got)
		}
		if !strings.Contains(got, id) {
			t.Errorf("StorageName(%q) = %q lost the file id", n, got)
		}
		if IsSidecarKey(got) {
			t.Errorf("StorageName(%q) = %q looks like a sidecar", n, got)
		}
	}
}

func TestSidecarKey(t *testing.T) {
	k := Dir(at) + StorageName("a.attr.json", "u", at, id)
	if IsSidecarKey(k) {
		t.Fatalf("content key %q taken for a sidecar", k)
	}
	s := SidecarKey(k)
	if !IsSidecarKey(s) || ContentKey(s) != k {
		t.Fatalf("SidecarKey(%q) = %q", k, s)
	}
}

func FuzzStorageName(f *testing.F) {
	f.Add("report.pdf", "user")
	f.Add("../../x", "a/b")
	f.Fuzz(func(t *testing.T, original, uploader string) {
		got := StorageName(original, uploader, at, id)
		if len(got) > MaxStorageName || !utf8.ValidString(got) || strings.ContainsAny(got, "/\\\x00") || strings.Contains(got, "..") || !strings.Contains(got, id) || IsSidecarKey(got) {
			t.Fatalf("StorageName(%q, %q) = %q", original, uploader, got)
		}
	})
}
