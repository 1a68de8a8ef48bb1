package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/artstore/artstore/internal/naming"
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

// client returns a client of the server logged in to, with the stored
// credentials. A --server or ARTSTORE_SERVER naming another server is
// refused: the stored secret goes to the server it was issued by and to no
// other.
func (f *clientFlags) client() (*client.Client, error) {
	c, err := loadCredentials()
	if err != nil {
		return nil, err
	}
	if srv := f.serverURL(c); strings.TrimSuffix(srv, "/") != strings.TrimSuffix(c.Server, "/") {
		return nil, errs.E("cli.credentials", errs.Unauthenticated,
			errs.Msg("logged in to %s, not %s: run `artstore login --server %s` first", c.Server, srv, srv))
	}
	return client.New(c.Server, c), nil
}

// each runs fn for every argument in turn and returns the results of those
// that succeed. When more than one is given, each failure is reported on
// stderr as it happens and the others still run; the error returned then
// counts the failures and carries the first, whose kind sets the exit
// code. An interruption stops at once.
func each[T any](ctx context.Context, stderr io.Writer, args []string, fn func(arg string) (T, error)) ([]T, error) {
	out := []T{}
	var (
		first  error
		failed int
	)
	for _, arg := range args {
		v, err := fn(arg)
		if err == nil {
			out = append(out, v)
			continue
		}
		err = fmt.Errorf("%s: %w", arg, err)
		if len(args) == 1 || ctx.Err() != nil {
			return out, err
		}
		fmt.Fprintln(stderr, "artstore:", err)
		if failed++; first == nil {
			first = err
		}
	}
	if first != nil {
		return out, failedError{first: first, failed: failed, of: len(args)}
	}
	return out, nil
}

// failedError is the error of a command some of whose arguments failed.
type failedError struct {
	first      error
	failed, of int
}

func (e failedError) Error() string {
	return fmt.Sprintf("%d of %d failed (the first: %v)", e.failed, e.of, e.first)
}

func (e failedError) Unwrap() error { return e.first }

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

// printDone prints the files a command dealt with, even when some of its
// arguments failed (err): a table, or a JSON array (files is never nil). It
// returns err, or else the error of printing.
func (f *clientFlags) printDone(stdout io.Writer, files []artstore.File, err error) error {
	if f.json {
		if perr := printJSON(stdout, files); err == nil {
			err = perr
		}
		return err
	}
	if len(files) > 0 {
		printFiles(stdout, files)
	}
	return err
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
			if permanent && cmd.Flags().Changed("ttl") {
				return usageError{fmt.Errorf("--ttl applies to temporary files only")}
			}
			if cmd.Flags().Changed("ttl") && (ttl < 1 || ttl > 365) {
				return usageError{fmt.Errorf("--ttl must be from 1 to 365 days, not %d", ttl)}
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
			opts := client.UploadOptions{Permanent: permanent, TTLDays: ttl, Description: description,
				Tags: tags, Metadata: md, Compress: compress}
			out, err := each(cmd.Context(), stderr, args, func(path string) (artstore.File, error) {
				return uploadOne(cmd, c, cf, stderr, path, opts)
			})
			return cf.printDone(stdout, out, err)
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

func uploadOne(cmd *cobra.Command, c *client.Client, cf *clientFlags, stderr io.Writer, path string, o client.UploadOptions) (artstore.File, error) {
	name := filepath.Base(path)
	// The server's own rule, checked before the file is opened and sent.
	if err := naming.CheckOriginalName(name); err != nil {
		return artstore.File{}, usageError{fmt.Errorf("%w; rename the file", err)}
	}
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return artstore.File{}, errs.E(errs.NotExist, err)
	}
	if err != nil {
		return artstore.File{}, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return artstore.File{}, err
	}
	if !st.Mode().IsRegular() {
		return artstore.File{}, errs.E(errs.Invalid, errs.Msg("not a regular file"))
	}
	bar := cf.progress(stderr, st.Size(), name)
	f, err := c.Upload(cmd.Context(), name, io.TeeReader(file, bar), st.Size(), o)
	if err != nil {
		return artstore.File{}, err
	}
	return *f, nil
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
			if st, err := os.Stat(dst); dst == "" || (err == nil && st.IsDir()) {
				// Into a directory, the file goes under its own name.
				dst = filepath.Join(dst, filepath.Base(f.OriginalFilename))
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
	var body io.ReadCloser = io.NopCloser(strings.NewReader(""))
	start := have
	if have < f.Size || f.Size == 0 {
		if body, start, err = c.Download(ctx, f.FileID, have, `"`+f.Checksum+`"`); err != nil {
			return err
		}
	}
	defer body.Close()
	// The part is created once the server has answered, so that a refused
	// download leaves nothing behind.
	out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	defer out.Close()
	bar := cf.progress(stderr, f.Size, filepath.Base(dst))
	if pb, ok := bar.(*progressbar.ProgressBar); ok {
		pb.Set64(have)
	}
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

// eachFile runs fn for each file id argument, as each does, and prints
// the files it returns.
func eachFile(cf *clientFlags, stdout, stderr io.Writer, fn func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := cf.client()
		if err != nil {
			return err
		}
		done, err := each(cmd.Context(), stderr, args, func(id string) (*artstore.File, error) {
			return fn(cmd, c, id)
		})
		files := []artstore.File{} // printed as [] when none
		for _, f := range done {
			if f != nil { // rm returns none
				files = append(files, *f)
			}
		}
		return cf.printDone(stdout, files, err)
	}
}

func newInfo(cf *clientFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "info FILE_ID...", Short: "Show files' metadata", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			out, err := each(cmd.Context(), stderr, args, func(id string) (*artstore.File, error) {
				return c.Stat(cmd.Context(), id)
			})
			// One file is printed as an object, several as an array.
			switch {
			case len(args) == 1 && err == nil:
				return printJSON(stdout, out[0])
			case len(args) > 1:
				if perr := printJSON(stdout, out); err == nil {
					err = perr
				}
			}
			return err
		},
	}
}

func newRm(cf *clientFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "rm FILE_ID...", Short: "Delete temporary files", Args: cobra.MinimumNArgs(1),
		RunE: eachFile(cf, stdout, stderr, func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error) {
			return nil, c.Delete(cmd.Context(), id)
		}),
	}
}

func newFinalize(cf *clientFlags, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "finalize FILE_ID...", Short: "Make temporary files permanent", Args: cobra.MinimumNArgs(1),
		RunE: eachFile(cf, stdout, stderr, func(cmd *cobra.Command, c *client.Client, id string) (*artstore.File, error) {
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
