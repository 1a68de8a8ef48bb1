package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
)

// credentials is what `artstore login` keeps in the user's configuration
// directory (mode 0600): the client credentials and the cached token.
type credentials struct {
	Server       string    `json:"server"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
	AccessToken  string    `json:"access_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitempty"`
}

// credentialsPath is $XDG_CONFIG_HOME/artstore/credentials.json or the
// system's equivalent.
func credentialsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", errs.E("cli.credentials", errs.Invalid, err)
	}
	return filepath.Join(dir, "artstore", "credentials.json"), nil
}

func loadCredentials() (*credentials, error) {
	p, err := credentialsPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, errs.E("cli.credentials", errs.Unauthenticated, errs.Msg("not logged in: run `artstore login`"))
	}
	if err != nil {
		return nil, errs.E("cli.credentials", errs.Invalid, err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil || c.ClientID == "" {
		return nil, errs.E("cli.credentials", errs.Unauthenticated, errs.Msg("%s is damaged: run `artstore login` again", p))
	}
	return &c, nil
}

// save writes the credentials atomically with mode 0600.
func (c *credentials) save() error {
	p, err := credentialsPath()
	if err != nil {
		return err
	}
	// The directory is the program's own; whoever can write to it could
	// replace the file.
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return errs.E("cli.credentials", errs.Invalid, err)
	}
	if err := os.Chmod(filepath.Dir(p), 0o700); err != nil {
		return errs.E("cli.credentials", errs.Invalid, err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(p), ".credentials-*")
	if err != nil {
		return errs.E("cli.credentials", errs.Invalid, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return errs.E("cli.credentials", errs.Invalid, err)
	}
	return nil
}

// Token implements api.TokenSource: the cached token while it has more than
// a minute left, else a new one, which is cached.
func (c *credentials) Token(ctx context.Context) (string, error) {
	if c.AccessToken != "" && time.Until(c.ExpiresAt) > time.Minute {
		return c.AccessToken, nil
	}
	if err := c.refresh(ctx); err != nil {
		return "", err
	}
	if err := c.save(); err != nil {
		return "", err
	}
	return c.AccessToken, nil
}

// Invalidate implements api.Invalidator: a cached token the server refused
// is dropped, so that the next request, or the next command, obtains a new
// one with the client credentials.
func (c *credentials) Invalidate(tok string) {
	if c.AccessToken == tok {
		c.AccessToken, c.ExpiresAt = "", time.Time{}
		c.save() // at worst the next command is refused once more
	}
}

var _ api.Invalidator = (*credentials)(nil)

// refresh obtains a token with the client credentials.
func (c *credentials) refresh(ctx context.Context) error {
	tok, ttl, err := api.RequestToken(ctx, nil, strings.TrimSuffix(c.Server, "/")+"/api/v1/auth/token", c.ClientID, c.ClientSecret)
	if err != nil {
		return errs.E("cli.login", err)
	}
	c.AccessToken, c.ExpiresAt = tok, time.Now().Add(ttl)
	return nil
}
