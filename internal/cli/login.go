package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artstore/artstore/internal/errs"
)

func newLogin(cf *clientFlags, stdout io.Writer) *cobra.Command {
	var id, secret string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with a service account's client credentials",
		Long: "Obtains a token with the client credentials and keeps both in the user's\n" +
			"configuration directory (artstore/credentials.json, mode 0600); later commands\n" +
			"refresh the token from there. The secret comes from --client-secret,\n" +
			"ARTSTORE_CLIENT_SECRET or, failing both, the first line of standard input.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = os.Getenv("ARTSTORE_CLIENT_ID")
			}
			if secret == "" {
				secret = os.Getenv("ARTSTORE_CLIENT_SECRET")
			}
			if secret == "" {
				line, err := readLine(cmd.Context(), cmd.InOrStdin())
				if cmd.Context().Err() != nil {
					return errs.E("cli.login", errs.Msg("interrupted"))
				}
				if err != nil && line == "" {
					return usageError{fmt.Errorf("no client secret: give --client-secret, ARTSTORE_CLIENT_SECRET or a line on standard input")}
				}
				secret = strings.TrimSpace(line)
			}
			if id == "" || secret == "" {
				return usageError{fmt.Errorf("--client-id and a client secret are required")}
			}
			prev, _ := loadCredentials()
			c := &credentials{Server: cf.serverURL(prev), ClientID: id, ClientSecret: secret}
			if err := c.refresh(cmd.Context()); err != nil {
				return err
			}
			if err := c.save(); err != nil {
				return err
			}
			if cf.json {
				return printJSON(stdout, map[string]any{"server": c.Server, "client_id": c.ClientID, "expires_at": c.ExpiresAt})
			}
			fmt.Fprintf(stdout, "logged in to %s as %s\n", c.Server, c.ClientID)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "client-id", "", "client id (env ARTSTORE_CLIENT_ID)")
	cmd.Flags().StringVar(&secret, "client-secret", "", "client secret (env ARTSTORE_CLIENT_SECRET; prefer the environment or standard input)")
	return cmd
}

// readLine reads the first line of r, or returns early when ctx ends (an
// interrupt while waiting at a terminal); the read then goes on unseen
// until the process exits.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		done <- result{line, err}
	}()
	select {
	case res := <-done:
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
