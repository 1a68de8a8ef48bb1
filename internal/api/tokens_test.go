package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artstore/artstore/internal/errs"
)

// TestRefusedTokenRenewed checks that a service token the server refuses
// before it expires (revoked, its key retired) is replaced at once: the
// request, body and all, is sent again with a new token, once; a body that
// cannot be sent again is not, and the next request gets a new token.
func TestRefusedTokenRenewed(t *testing.T) {
	var issued, revoked atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"access_token":"t%d","expires_in":3600}`, issued.Add(1))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("Authorization"); tok != fmt.Sprintf("Bearer t%d", issued.Load()) || revoked.Load() >= issued.Load() {
			WriteError(w, r, errs.E(errs.Unauthenticated, errs.Msg("token %s refused", tok)))
			return
		}
		io.Copy(w, r.Body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := Caller{Base: srv.URL, Tokens: &ClientCredentials{TokenURL: srv.URL + "/token", ClientID: "sa_x", ClientSecret: "s"}}
	ctx := context.Background()
	post := func(body io.Reader) (string, error) {
		resp, err := c.Do(ctx, "test", "POST", "/echo", nil, body)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if got, err := post(strings.NewReader("one")); got != "one" || err != nil || issued.Load() != 1 {
		t.Fatalf("first request: %q, %v, %d tokens", got, err, issued.Load())
	}
	revoked.Store(1) // t1 is refused from now on
	if got, err := post(strings.NewReader("two")); got != "two" || err != nil || issued.Load() != 2 {
		t.Fatalf("with a refused token: %q, %v, %d tokens", got, err, issued.Load())
	}
	revoked.Store(2)
	if _, err := post(io.MultiReader(strings.NewReader("three"))); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("a body that cannot be sent again: %v, want the refusal", err)
	}
	if got, err := post(nil); got != "" || err != nil || issued.Load() != 3 {
		t.Fatalf("the request after: %q, %v, %d tokens", got, err, issued.Load())
	}
	revoked.Store(100) // every token refused: one retry, then the refusal
	if _, err := post(nil); !errs.Is(errs.Unauthenticated, err) || issued.Load() != 4 {
		t.Fatalf("always refused: %v after %d tokens, want the refusal after 4", err, issued.Load())
	}
}
