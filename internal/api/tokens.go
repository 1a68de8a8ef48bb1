package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// TokenSource supplies bearer tokens to HTTP clients.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource that always returns the same token.
type StaticToken string

// Token implements TokenSource.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// ClientCredentials is a TokenSource that obtains tokens from a token
// endpoint with the OAuth2 client-credentials grant and reuses each until
// shortly before it expires.
type ClientCredentials struct {
	TokenURL     string // e.g. http://127.0.0.1:8080/api/v1/auth/token
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client

	mu      sync.Mutex
	token   string
	refresh time.Time
}

// Token implements TokenSource.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	const op = "api.ClientCredentials"
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.refresh) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", errs.E(op, errs.Invalid, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", errs.E(op, errs.Unavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", ReadError(op, resp)
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return "", errs.E(op, errs.Unavailable, errs.Msg("token endpoint gave no token"))
	}
	c.token = t.AccessToken
	// Renew when four fifths of the lifetime have passed.
	c.refresh = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second * 4 / 5)
	return c.token, nil
}

type forwardKey struct{}

// WithForwardedToken returns a context in which HTTP clients of other
// services send tok, the caller's own token, instead of their service
// token: the other service then checks the caller's rights and records
// the caller, not the service in between.
func WithForwardedToken(ctx context.Context, tok string) context.Context {
	return context.WithValue(ctx, forwardKey{}, tok)
}

// ForwardedToken returns the token set by WithForwardedToken.
func ForwardedToken(ctx context.Context) (string, bool) {
	tok, ok := ctx.Value(forwardKey{}).(string)
	return tok, ok && tok != ""
}
