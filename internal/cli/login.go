package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
			"ARTSTORE_CLIENT_SECRET or, failing both, the first line of standard input\n" +
			"(asked for without echo when standard input is a terminal).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = os.Getenv("ARTSTORE_CLIENT_ID")
			}
			if secret == "" {
				secret = os.Getenv("ARTSTORE_CLIENT_SECRET")
			}
			if secret == "" {
				line, err := readSecret(cmd.Context(), cmd.InOrStdin(), cmd.ErrOrStderr())
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

// readSecret reads the secret from the first line of in. At a terminal it
// asks for it on errOut and reads it without echo, and puts the terminal
// back as it was even when ctx ends first.
func readSecret(ctx context.Context, in io.Reader, errOut io.Writer) (string, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readLine(ctx, in)
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	fmt.Fprint(errOut, "Client secret: ")
	defer fmt.Fprintln(errOut)
	line, err := untilDone(ctx, func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	})
	if ctx.Err() != nil {
		_ = term.Restore(fd, state)
	}
	return line, err
}

// readLine reads the first line of r, or returns early when ctx ends (an
// interrupt while waiting at a terminal).
func readLine(ctx context.Context, r io.Reader) (string, error) {
	return untilDone(ctx, func() (string, error) { return bufio.NewReader(r).ReadString('\n') })
}

// untilDone returns what read returns, or ctx's error as soon as ctx ends;
// the read then goes on unseen until the process exits.
func untilDone(ctx context.Context, read func() (string, error)) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := read()
		done <- result{line, err}
	}()
	select {
	case res := <-done:
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
