package api

import (
	"context"
	"encoding/json"
	"io"
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.refresh) {
		return c.token, nil
	}
	tok, ttl, err := RequestToken(ctx, c.HTTPClient, c.TokenURL, c.ClientID, c.ClientSecret)
	if err != nil {
		return "", err
	}
	c.token = tok
	// Renew when four fifths of the lifetime have passed.
	c.refresh = time.Now().Add(ttl * 4 / 5)
	return c.token, nil
}

// Invalidate implements Invalidator: a token a service refused is
// forgotten, so that the next request obtains a new one.
func (c *ClientCredentials) Invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// Invalidator is a TokenSource that can be told that a token it gave was
// refused (401), because it was revoked or its signing key retired before
// it expired. Caller then asks for a new token and tries once more.
type Invalidator interface {
	TokenSource
	Invalidate(tok string)
}

// RequestToken obtains a token from a token endpoint with the OAuth2
// client-credentials grant, and returns it with its lifetime.
func RequestToken(ctx context.Context, hc *http.Client, tokenURL, clientID, secret string) (string, time.Duration, error) {
	const op = "api.RequestToken"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	req, err := http.NewRequestWithContext(ctx, "POST", tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, errs.E(op, errs.Invalid, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, errs.E(op, errs.Unavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", 0, ReadError(op, resp)
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxJSONBody)).Decode(&t); err != nil || t.AccessToken == "" {
		return "", 0, errs.E(op, errs.Unavailable, errs.Msg("the token endpoint sent no token"))
	}
	return t.AccessToken, time.Duration(t.ExpiresIn) * time.Second, nil
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
