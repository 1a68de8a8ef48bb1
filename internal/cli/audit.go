package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/artstore/artstore/internal/server"
)

func newAudit(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Operate on the audit log"}
	var (
		f      serverFlags
		asJSON bool
	)
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain; exit 3 and name the first broken record when it is broken",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			l, closeFn, err := server.OpenAuditLog(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			rep, err := l.Verify(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if err := json.NewEncoder(stdout).Encode(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(stdout, "audit log intact: %d records checked\n", rep.Checked)
			} else {
				fmt.Fprintf(stdout, "audit log BROKEN at record %d (%d records intact before it): %s\n", rep.FirstBroken, rep.Checked, rep.Problem)
			}
			if !rep.OK {
				return errProblems
			}
			return nil
		},
	}
	f.register(verify.Flags())
	verify.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.AddCommand(verify)
	return cmd
}
