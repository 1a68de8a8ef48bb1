// Package cli implements the artstore command line: the server command and
// the operator tools. Every command returns an error instead of exiting, and
// Main maps errors to exit codes that scripts can rely on.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/errs"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitError    = 1 // an operation failed
	ExitUsage    = 2 // bad flags or arguments
	ExitProblems = 3 // a check ran and found problems (se verify, audit verify)
	ExitNotFound = 4 // no such file (or element)
	ExitAuth     = 5 // not logged in, bad credentials, or the role may not do this
	ExitChecksum = 6 // content does not match its SHA-256
)

// errProblems is returned by a check that found problems.
var errProblems = errors.New("problems found")

type usageError struct{ error }

// Main runs the command line with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errProblems):
		return ExitProblems
	case errors.As(err, new(usageError)), strings.HasPrefix(err.Error(), "unknown command"),
		errs.Is(errs.Invalid, err) && opIn(err, "config.", "client."):
		fmt.Fprintln(stderr, "artstore:", err)
		return ExitUsage
	case errs.CodeOf(err) == "CHECKSUM_MISMATCH":
		fmt.Fprintln(stderr, "artstore:", err)
		return ExitChecksum
	case errs.Is(errs.NotExist, err):
		fmt.Fprintln(stderr, "artstore:", err)
		return ExitNotFound
	case errs.Is(errs.Unauthenticated, err), errs.Is(errs.Permission, err):
		fmt.Fprintln(stderr, "artstore:", err)
		return ExitAuth
	default:
		fmt.Fprintln(stderr, "artstore:", err)
		return ExitError
	}
}

// opIn reports whether err was raised by an operation with one of the
// prefixes: a configuration that does not hold, or a value the server
// refused (400), is a bad argument.
func opIn(err error, prefixes ...string) bool {
	var e *errs.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(e.Op, p) {
			return true
		}
	}
	return false
}

// usageArgs makes the argument checks of cmd and its subcommands usage
// errors, as flag errors are.
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "artstore",
		Short:         "ArtStore: a long-term document archive for applications",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       artstore.Version,
	}
	root.AddCommand(newServe(stdout, stderr), newSE(stdout, stderr), newAudit(stdout, stderr))
	cf := &clientFlags{}
	for _, c := range []*cobra.Command{
		newLogin(cf, stdout), newUpload(cf, stdout, stderr), newGet(cf, stdout, stderr),
		newSearch(cf, stdout), newInfo(cf, stdout, stderr), newRm(cf, stdout, stderr), newFinalize(cf, stdout, stderr),
	} {
		cf.register(c)
		root.AddCommand(c)
	}
	usageArgs(root)
	return root
}

// serverFlags are the flags that shape the configuration of a process.
type serverFlags struct {
	configFile  string
	listen      string
	dataDir     string
	roles       string
	databaseURL string
	jwksURL     string
	elements    []string
	logFormat   string
	logLevel    string
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.configFile, "config", "", "YAML configuration file (env ARTSTORE_CONFIG)")
	fs.StringVar(&f.listen, "listen", "", "address to serve on (env ARTSTORE_LISTEN; default 127.0.0.1:8080)")
	fs.StringVar(&f.dataDir, "data", "", "data directory (env ARTSTORE_DATA_DIR; default ./artstore-data)")
	fs.StringVar(&f.roles, "roles", "", "comma-separated roles to run: admin, storage, ingest, query (env ARTSTORE_ROLES; default all)")
	fs.StringVar(&f.databaseURL, "database-url", "", "admin database: a postgres:// URL or a SQLite path (env ARTSTORE_DATABASE_URL)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "JWKS URL of the admin service, when it runs elsewhere (env ARTSTORE_JWKS_URL)")
	fs.StringArrayVar(&f.elements, "element", nil, "storage element, repeatable: id=ID,mode=MODE[,priority=N][,capacity=SIZE][,path=DIR][,s3-endpoint=URL,s3-bucket=B,s3-prefix=P][,database-url=DSN], or id=ID,url=URL for an element another process runs; replaces the default elements")
	fs.StringVar(&f.logFormat, "log-format", "", "log format: auto, text or json (env ARTSTORE_LOG_FORMAT)")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn, error (env ARTSTORE_LOG_LEVEL)")
}

// load builds the configuration: defaults, then the file, then the
// environment, then the flags.
func (f *serverFlags) load() (config.Config, error) {
	cfg := config.Default()
	file := f.configFile
	if file == "" {
		file = os.Getenv("ARTSTORE_CONFIG")
	}
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return cfg, err
		}
	}
	if len(f.elements) > 0 {
		cfg.Elements = nil
		for _, s := range f.elements {
			e, err := config.ParseElement(s)
			if err != nil {
				return cfg, err
			}
			cfg.Elements = append(cfg.Elements, e)
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return cfg, err
	}
	set := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	set(f.listen, &cfg.Listen)
	set(f.dataDir, &cfg.DataDir)
	set(f.databaseURL, &cfg.DatabaseURL)
	set(f.jwksURL, &cfg.Auth.JWKSURL)
	set(f.logFormat, &cfg.Log.Format)
	set(f.logLevel, &cfg.Log.Level)
	if f.roles != "" {
		cfg.Roles = config.SplitList(f.roles)
	}
	return cfg, cfg.Validate()
}

// newLogger returns the process logger: JSON, or text on a terminal.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
