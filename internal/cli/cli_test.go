package cli

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/server"
)

func run(args ...string) (int, string) {
	var out bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &out)
	return code, out.String()
}

// TestFlagsDocumented keeps docs/configuration.md in step with the flags.
func TestFlagsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var f serverFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs)
	fs.VisitAll(func(fl *pflag.Flag) {
		if !strings.Contains(string(doc), "`--"+fl.Name) {
			t.Errorf("docs/configuration.md does not document --%s", fl.Name)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nonsense"},
		{"serve", "--bogus"},
		{"serve", "--roles", "cook"},
		{"se", "verify"},
		{"serve", "--element", "id=x,colour=red"},
	} {
		if code, out := run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, out)
		}
	}
}

// TestVerifyAndRebuild runs the offline element tools on a data directory
// whose element holds a file, then a damaged one.
func TestVerifyAndRebuild(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	el, closeFn, err := server.OpenElement(context.Background(), cfg, "edit-01", log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := artstore.WithPrincipal(context.Background(), artstore.Principal{Subject: "tester"})
	f, err := el.Upload(ctx, artstore.NewFile{Filename: "a.txt", Size: -1}, strings.NewReader("original"))
	if err != nil {
		t.Fatal(err)
	}
	closeFn()

	if code, out := run("se", "verify", "--data", dir, "--element-id", "edit-01"); code != ExitOK || !strings.Contains(out, "checked 1 files") {
		t.Fatalf("clean verify: exit %d: %s", code, out)
	}
	blob := filepath.Join(cfg.Elements[0].Path, f.StoragePath, f.StorageFilename)
	if err := os.WriteFile(blob, []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("se", "verify", "--data", dir, "--element-id", "edit-01"); code != ExitProblems || !strings.Contains(out, "corrupt: "+f.FileID) {
		t.Fatalf("damaged verify: exit %d: %s", code, out)
	}
	if code, out := run("se", "rebuild", "--data", dir, "--element-id", "edit-01", "--json"); code != ExitOK || !strings.Contains(out, `"indexed":1`) {
		t.Fatalf("rebuild: exit %d: %s", code, out)
	}
	if code, out := run("se", "verify", "--data", dir, "--element-id", "nope"); code != ExitNotFound {
		t.Fatalf("unknown element: exit %d: %s", code, out)
	}
	// Nothing else was written in the element's folder.
	var files int
	filepath.WalkDir(cfg.Elements[0].Path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 3 {
		t.Fatalf("element folder holds %d files", files)
	}
}

// TestMoreNote checks what search prints under a page that more follows:
// the total as a lower bound when the server did not count every match.
func TestMoreNote(t *testing.T) {
	page := make([]artstore.File, 2)
	for _, tc := range []struct {
		res  catalog.Result
		want string
	}{
		{catalog.Result{Items: page, Total: 7, TotalExact: true}, "(2 of 7; use --offset for more)"},
		{catalog.Result{Items: page, Total: 10000}, "(2 of at least 10000; use --offset for more)"},
	} {
		if got := moreNote(tc.res); got != tc.want {
			t.Errorf("moreNote = %q, want %q", got, tc.want)
		}
	}
}
