package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/client"
	"github.com/artstore/artstore/internal/errs"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server     string
	json       bool
	noProgress bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", "", "server URL (env ARTSTORE_SERVER; default the one logged in to, else http://127.0.0.1:8080)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print machine-readable JSON")
	cmd.PersistentFlags().BoolVar(&f.noProgress, "no-progress", false, "never show progress bars")
}

// serverURL is the server to talk to: the flag, the environment, the
// server logged in to, or the default.
func (f *clientFlags) serverURL(c *credentials) string {
	switch {
	case f.server != "":
		return f.server
	case os.Getenv("ARTSTORE_SERVER") != "":
		return os.Getenv("ARTSTORE_SERVER")
	case c != nil && c.Server != "":
		return c.Server
	}
	return "http://127.0.0.1:8080"
}

// client returns a client of the server with the stored credentials.
func (f *clientFlags) client() (*client.Client, error) {
	c, err := loadCredentials()
	if err != nil {
		return nil, err
	}
	srv := f.serverURL(c)
	if c.Server != srv {
		// Tokens of one server are no good on another.
		c.Server, c.AccessToken = srv, ""
	}
	return client.New(srv, c), nil
}

// progress returns a writer that shows a progress bar on stderr when it is
// a terminal, and discards otherwise.
func (f *clientFlags) progress(stderr io.Writer, size int64, desc string) io.Writer {
	file, ok := stderr.(*os.File)
	if f.noProgress || f.json || !ok || !term.IsTerminal(int(file.Fd())) {
		return io.Discard
	}
	return progressbar.NewOptions64(size, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(desc), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100e6))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printFiles(w io.Writer, files []artstore.File) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE ID\tNAME\tSIZE\tPOLICY\tELEMENT\tUPLOADED")
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", f.FileID, f.OriginalFilename, f.Size, f.RetentionPolicy,
			f.StorageElementID, f.UploadedAt.Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
}

func newUpload(cf *clientFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		permanent   bool
		ttl         int
		tags        []string
		meta        []string
		description string
		compress    bool
	)
	cmd := &cobra.Command{
		Use:   "upload FILE...",
		Short: "Upload files (temporary by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if permanent && ttl != 0 {
				return usageError{fmt.Errorf("--ttl applies to temporary files only")}
			}
			md := map[string]any{}
			for _, kv := range meta {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--meta %q is not key=value", kv)}
				}
				md[k] = v
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out []artstore.File
			for _, path := range args {
				f, err := uploadOne(cmd, c, cf, stderr, path, client.UploadOptions{
					Permanent: permanent, TTLDays: ttl, Description: description, Tags: tags, Metadata: md, Compress: compress})
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				out = append(out, *f)
			}
			if cf.json {
				return printJSON(stdout, out)
			}
			printFiles(stdout, out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&permanent, "permanent", false, "store permanently (default: temporary)")
	fl.IntVar(&ttl, "ttl", 0, "days a temporary file is kept, 1-365 (default: the server's, 30)")
	fl.StringArrayVar(&tags, "tag", nil, "tag, repeatable")
	fl.StringArrayVar(&meta, "meta", nil, "metadata key=value, repeatable")
	fl.StringVar(&description, "description", "", "description")
	fl.BoolVar(&compress, "compress", false, "store compressed with zstd (downloads still return the original bytes)")
	return cmd
}

func uploadOne(cmd *cobra.Command, c *client.Client, cf *clientFlags, stderr io.Writer, path string, o client.UploadOptions) (*artstore.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, errs.E(errs.NotExist, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, errs.E(errs.Invalid, errs.Msg("not a regular file"))
	}
	bar := cf.progress(stderr, st.Size(), filepath.Base(path))
	return c.Upload(cmd.Context(), filepath.Base(path), io.TeeReader(file, bar), st.Size(), o)
}

func newGet(cf *clientFlags, stdout, stderr io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get FILE_ID",
		Short: "Download a file, resuming a partial download, and verify its checksum",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			f, err := c.Stat(ctx, args[0])
			if err != nil {
				return err
			}
			dst := output
			if dst == "" {
				dst = filepath.Base(f.OriginalFilename)
			}
			if err := download(ctx, c, cf, stderr, f, dst); err != nil {
				return err
			}
			if cf.json {
				return printJSON(stdout, map[string]any{"file": f, "path": dst})
			}
			fmt.Fprintf(stdout, "%s  %s (%d bytes, sha256 verified)\n", f.FileID, dst, f.Size)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "where to write the file (default: its original name)")
	return cmd
}

// download writes the file to dst through dst.part, continuing a part
// left by an earlier attempt with a Range request guarded by the file's
// ETag, and renames it into place only when the whole content matches the
// file's SHA-256. A part that does not match is removed, so that the next
// attempt starts afresh.
func download(ctx context.Context, c *client.Client, cf *clientFlags, stderr io.Writer, f *artstore.File, dst string) error {
	const op = "cli.get"
	part := dst + ".part"
	h, have, err := hashFile(part)
	if err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	if have > f.Size {
		os.Remove(part)
		h, have = sha256.New(), 0
	}
	out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	defer out.Close()
	bar := cf.progress(stderr, f.Size, filepath.Base(dst))
	if pb, ok := bar.(*progressbar.ProgressBar); ok {
		pb.Set64(have)
	}
	var body io.ReadCloser = io.NopCloser(strings.NewReader(""))
	start := have
	if have < f.Size || f.Size == 0 {
		if body, start, err = c.Download(ctx, f.FileID, have, `"`+f.Checksum+`"`); err != nil {
			return err
		}
	}
	defer body.Close()
	if start == 0 && have > 0 {
		// The server sends the whole file: the part was of another one.
		if err := out.Truncate(0); err != nil {
			return errs.E(op, errs.Invalid, err)
		}
		h, have = sha256.New(), 0
	}
	w := &offsetWriter{f: out, off: have, h: h, bar: bar}
	if _, err := io.Copy(w, body); err != nil {
		return errs.E(op, errs.Unavailable, errs.Msg("download interrupted after %d bytes (run again to resume): %v", w.off, err))
	}
	if err := out.Sync(); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	if got := hex.EncodeToString(w.h.Sum(nil)); got != f.Checksum || w.off != f.Size {
		os.Remove(part)
		return errs.E(op, errs.Internal, errs.Code("CHECKSUM_MISMATCH"), errs.Msg("downloaded %d bytes with SHA-256 %s; expected %d bytes with %s", w.off, got, f.Size, f.Checksum))
	}
	if err := out.Close(); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	return nil
}

// offsetWriter writes at the end of what the part already holds, hashing
// as it goes.
type offsetWriter struct {
	f   *os.File
	off int64
	h   hashState
	bar io.Writer
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	w.h.Write(p[:n])
	w.bar.Write(p[:n])
	return n, err
}

// moreNote tells how much of a search a page shows, when more follows.
func moreNote(res catalog.Result) string {
	total := strconv.FormatInt(res.Total, 10)
	if !res.TotalExact {
		total = "at least " + total
	}
	return fmt.Sprintf("(%d of %s; use --offset for more)", len(res.Items), total)
}

func newSearch(cf *clientFlags, stdout io.Writer) *cobra.Command {
	var q catalog.Query
	var meta []string
	cmd := &cobra.Command{
		Use:   "search [QUERY]",
		Short: "Search files by text and filters",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.Query = args[0]
			}
			for _, kv := range meta {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--meta %q is not key=value", kv)}
				}
				if q.Metadata == nil {
					q.Metadata = map[string]string{}
				}
				q.Metadata[k] = v
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			res, err := c.Search(cmd.Context(), q)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(stdout, res)
			}
			printFiles(stdout, res.Items)
			if res.HasMore {
				fmt.Fprintln(stdout, moreNote(res))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.Filename, "name", "", "file name contains")
	fl.StringVar(&q.FileExtension, "ext", "", "file extension")
	fl.StringArrayVar(&q.Tags, "tag", nil, "has tag, repeatable (all must match)")
	fl.StringVar(&q.UploadedBy, "uploaded-by", "", "uploader")
	fl.StringVar(&q.ContentType, "content-type", "", "content type, or a prefix such as image/")
	fl.StringVar(&q.RetentionPolicy, "policy", "", "temporary or permanent")
	fl.StringVar(&q.StorageElementID, "element", "", "storage element id")
	fl.StringArrayVar(&meta, "meta", nil, "metadata key=value, repeatable")
	fl.StringVar(&q.SortBy, "sort", "", "relevance, uploaded_at, filename or size")
	fl.StringVar(&q.SortOrder, "order", "", "asc or desc")
	fl.IntVar(&q.Limit, "limit", 0, "results per page (default 100)")
	fl.IntVar(&q.Offset, "offset", 0, "results to skip")
	return cmd
}

// eachFile runs fn for each file id argument and prints what it returns.
func eachFile(cf *clientFlags, stdout io.Writer, fn func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := cf.client()
		if err != nil {
			return err
		}
		var out []artstore.File
		for _, id := range args {
			f, err := fn(cmd, c, id)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if f != nil {
				out = append(out, *f)
			}
		}
		if cf.json {
			return printJSON(stdout, out)
		}
		if len(out) > 0 {
			printFiles(stdout, out)
		}
		return nil
	}
}

func newInfo(cf *clientFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "info FILE_ID...", Short: "Show files' metadata", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out []*artstore.File
			for _, id := range args {
				f, err := c.Stat(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				out = append(out, f)
			}
			if len(out) == 1 {
				return printJSON(stdout, out[0])
			}
			return printJSON(stdout, out)
		},
	}
}

func newRm(cf *clientFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "rm FILE_ID...", Short: "Delete temporary files", Args: cobra.MinimumNArgs(1),
		RunE: eachFile(cf, stdout, func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error) {
			return nil, c.Delete(cmd.Context(), id)
		}),
	}
}

func newFinalize(cf *clientFlags, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "finalize FILE_ID...", Short: "Make temporary files permanent", Args: cobra.MinimumNArgs(1),
		RunE: eachFile(cf, stdout, func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error) {
			return c.Finalize(cmd.Context(), id)
		}),
	}
}

// hashFile returns the SHA-256 state of a file's first bytes.
func hashFile(path string) (hashState, int64, error) {
	h := sha256.New()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return h, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	return h, n, err
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
}
