package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/server"
)

func newServe(stdout, stderr io.Writer) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the ArtStore server (every role by default)",
		Long: `Run the ArtStore server. With no configuration it runs every role in one
process on 127.0.0.1:8080 with its data under ./artstore-data: SQLite
databases, an edit and an rw storage element, and a bootstrap admin service
account whose credentials are written to DATA/bootstrap-credentials.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, stderr)
			slog.SetDefault(log)
			ctx := cmd.Context()
			srv, err := server.Open(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return errs.E("serve", errs.Unavailable, err)
			}
			if b := srv.Bootstrap; b != nil {
				creds, err := os.ReadFile(b.Path)
				if err != nil {
					return errs.E("serve", errs.Internal, err)
				}
				fmt.Fprintf(stdout, "Created the bootstrap admin service account. Its credentials, shown once, are in %s:\n%s\n", b.Path, creds)
			}
			if p := srv.BootstrapAdmin; p != "" {
				creds, err := os.ReadFile(p)
				if err != nil {
					return errs.E("serve", errs.Internal, err)
				}
				fmt.Fprintf(stdout, "Created the bootstrap system administrator (super_admin). Its login, shown once, is in %s:\n%s\n", p, creds)
			}
			log.Info("artstore serving", "url", server.BaseURL(ln), "roles", cfg.Roles, "data", cfg.DataDir, "elements", len(srv.Elements()))
			return srv.Serve(ctx, ln)
		},
	}
	f.register(cmd.Flags())
	return cmd
}
