package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/artstore/artstore/internal/errs"
)

// jwksServer serves a JWK set that a test can change, and counts fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []map[string]string
	fetches atomic.Int32
	down    atomic.Bool // answer 503, as an admin service not yet started
}

func (s *jwksServer) add(kid string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, map[string]string{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	})
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	if s.down.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	body := map[string]any{"keys": append([]map[string]string(nil), s.keys...)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(body); err != nil {
		http.Error(w, err.Error(), 500)
	}
}

func TestRemoteJWKSRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key1, key2 := rsaKey(t, "main"), rsaKey(t, "other")

	js := &jwksServer{}
	js.add("k1", &key1.PublicKey)
	srv := httptest.NewServer(js)
	defer srv.Close()

	keys, err := RemoteJWKS(ctx, srv.URL+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(keys, testIssuer, testAudience)

	// A token under the published key is accepted from the initial fetch.
	if _, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key1, "k1", goodClaims())); err != nil {
		t.Fatalf("token signed by the published key: %v", err)
	}
	initial := js.fetches.Load()
	if initial != 1 {
		t.Errorf("fetched the set %d times before any unknown kid, want 1", initial)
	}

	// The issuer rotates to a new key. The first token under it carries a
	// kid the verifier has not seen, which makes it fetch the set again.
	js.add("k2", &key2.PublicKey)
	p, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key2, "k2", goodClaims()))
	if err != nil {
		t.Fatalf("token signed by the rotated-in key: %v", err)
	}
	if p.Subject != "acc-1" {
		t.Errorf("subject = %q", p.Subject)
	}
	if got := js.fetches.Load(); got != initial+1 {
		t.Errorf("fetches after rotation = %d, want %d", got, initial+1)
	}
	// The old key still verifies; tokens it signed stay valid until they expire.
	if _, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key1, "k1", goodClaims())); err != nil {
		t.Fatalf("token signed by the old key after rotation: %v", err)
	}

	// Forged kids are rejected, and the refetch limiter keeps them from
	// turning into a stream of requests to the issuer.
	before := js.fetches.Load()
	for range 5 {
		_, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key2, "forged", goodClaims()))
		if !errs.Is(errs.Unauthenticated, err) {
			t.Fatalf("unknown kid: got %v, want unauthenticated", err)
		}
	}
	if got := js.fetches.Load(); got != before {
		t.Errorf("forged kids caused %d fetches", got-before)
	}

	// A token signed by the right key but a kid of another key fails.
	if _, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key2, "k1", goodClaims())); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("kid of another key: got %v", err)
	}
}

// TestRemoteJWKSRejectsEncryptionKeys checks that a key published for
// another use does not verify tokens.
func TestRemoteJWKSRejectsEncryptionKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := rsaKey(t, "main")
	js := &jwksServer{}
	js.add("k1", &key.PublicKey)
	js.keys[0]["use"] = "enc"
	srv := httptest.NewServer(js)
	defer srv.Close()

	keys, err := RemoteJWKS(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(keys, testIssuer, testAudience)
	if _, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key, "k1", goodClaims())); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("token under an encryption key: got %v", err)
	}
}

// TestRemoteJWKSIssuerStartsLater checks that a service may start before
// the admin service: the failed first fetch is retried on demand.
func TestRemoteJWKSIssuerStartsLater(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := rsaKey(t, "main")
	js := &jwksServer{}
	js.add("k1", &key.PublicKey)
	js.down.Store(true)
	srv := httptest.NewServer(js)
	defer srv.Close()

	keys, err := RemoteJWKS(ctx, srv.URL)
	if err != nil {
		t.Fatalf("RemoteJWKS with the issuer down: %v", err)
	}
	v := NewVerifier(keys, testIssuer, testAudience)
	js.down.Store(false)
	if _, err := v.Authenticate(ctx, sign(t, jwt.SigningMethodRS256, key, "k1", goodClaims())); err != nil {
		t.Fatalf("token after the issuer came up: %v", err)
	}
}
