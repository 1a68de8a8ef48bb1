package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/server"
)

func newSE(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "se",
		Short: "Operate on storage elements offline (the server must not be using them)",
	}
	cmd.AddCommand(
		seCommand("rebuild", "Rebuild an element's index and journal from its sidecars", stdout, stderr,
			func(cmd *cobra.Command, el artstore.Element, asJSON bool) error {
				rep, err := el.Rebuild(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(stdout).Encode(rep)
				}
				fmt.Fprintf(stdout, "rebuilt: %d sidecars, %d indexed, %d unreadable; journal %s at seq %d\n",
					rep.Sidecars, rep.Indexed, len(rep.Invalid), rep.JournalID, rep.LastSeq)
				for _, k := range rep.Invalid {
					fmt.Fprintf(stdout, "unreadable sidecar: %s\n", k)
				}
				return nil
			}),
		seCommand("verify", "Recompute every checksum and report missing, orphaned and corrupt files", stdout, stderr,
			func(cmd *cobra.Command, el artstore.Element, asJSON bool) error {
				rep, err := el.Verify(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					if err := json.NewEncoder(stdout).Encode(rep); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(stdout, "checked %d files, %d bytes: %d missing, %d corrupt, %d orphaned\n",
						rep.Checked, rep.Bytes, len(rep.Missing), len(rep.Corrupt), len(rep.Orphaned))
					for _, s := range rep.Missing {
						fmt.Fprintln(stdout, "missing:", s)
					}
					for _, s := range rep.Corrupt {
						fmt.Fprintln(stdout, "corrupt:", s)
					}
					for _, s := range rep.Orphaned {
						fmt.Fprintln(stdout, "orphaned:", s)
					}
				}
				if !rep.OK() {
					return errProblems
				}
				return nil
			}),
	)
	return cmd
}

// seCommand builds a command that opens one configured element offline and
// runs fn on it.
func seCommand(name, short string, stdout, stderr io.Writer, fn func(*cobra.Command, artstore.Element, bool) error) *cobra.Command {
	var (
		f      serverFlags
		id     string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   name + " --element-id ID",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usageError{fmt.Errorf("--element-id is required")}
			}
			cfg, err := f.load()
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log, stderr)
			slog.SetDefault(log)
			el, closeFn, err := server.OpenElement(cmd.Context(), cfg, id, log)
			if err != nil {
				return err
			}
			defer closeFn()
			return fn(cmd, el, asJSON)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&id, "element-id", "", "id of the element (as configured)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
