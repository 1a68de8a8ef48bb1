package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

const (
	testIssuer   = "artstore-test"
	testAudience = "artstore-api"
)

// testKeys is an in-memory LocalKeys for tests.
type testKeys struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

func (k *testKeys) PublicKey(kid string) (crypto.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pub, ok := k.keys[kid]; ok {
		return pub, nil
	}
	return nil, errs.E("testKeys.PublicKey", errs.NotExist, errs.Msg("no key"))
}

// rsaKey generates a key once per name and test binary, since RSA key
// generation is slow under the race detector.
var (
	keyMu    sync.Mutex
	keyCache = map[string]*rsa.PrivateKey{}
)

func rsaKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

// goodClaims returns claims that the test verifier accepts.
func goodClaims() Claims {
	now := time.Now()
	return Claims{
		Role:     artstore.RoleUser,
		ClientID: "sa_0123",
		Name:     "billing",
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Audience:  jwt.ClaimStrings{testAudience},
			Subject:   "acc-1",
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			ID:        "jti-1",
		},
	}
}

// sign signs c with key under kid using method; an empty kid leaves the
// header without one.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifier(t *testing.T) {
	key := rsaKey(t, "main")
	other := rsaKey(t, "other")
	keys := &testKeys{keys: map[string]*rsa.PublicKey{"k1": &key.PublicKey}}
	v := NewVerifier(Local(keys), testIssuer, testAudience)

	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	with := func(f func(*Claims)) Claims {
		c := goodClaims()
		f(&c)
		return c
	}
	rs := jwt.SigningMethodRS256
	good := sign(t, rs, key, "k1", goodClaims())
	parts := strings.Split(good, ".")

	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", good, true},
		{"expired within leeway", sign(t, rs, key, "k1", with(func(c *Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-10 * time.Second))
		})), true},
		{"not before within leeway", sign(t, rs, key, "k1", with(func(c *Claims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(10 * time.Second))
		})), true},
		{"empty", "", false},
		{"garbage", "not-a-jwt", false},
		{"too long", strings.Repeat("a", maxTokenLen+1), false},
		{"alg none", b64(t, map[string]string{"alg": "none", "typ": "JWT", "kid": "k1"}) + "." +
			b64(t, with(func(c *Claims) { c.Role = artstore.RoleAdmin })) + ".", false},
		{"alg none signed by jwt", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", goodClaims()), false},
		{"HS256 with public key as secret", sign(t, jwt.SigningMethodHS256, pubPEM, "k1", goodClaims()), false},
		{"HS256 with public key DER as secret", sign(t, jwt.SigningMethodHS256, pubDER, "k1", goodClaims()), false},
		{"RS512", sign(t, jwt.SigningMethodRS512, key, "k1", goodClaims()), false},
		{"PS256", sign(t, jwt.SigningMethodPS256, key, "k1", goodClaims()), false},
		{"wrong audience", sign(t, rs, key, "k1", with(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other"} })), false},
		{"no audience", sign(t, rs, key, "k1", with(func(c *Claims) { c.Audience = nil })), false},
		{"wrong issuer", sign(t, rs, key, "k1", with(func(c *Claims) { c.Issuer = "evil" })), false},
		{"expired", sign(t, rs, key, "k1", with(func(c *Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})), false},
		{"no expiry", sign(t, rs, key, "k1", with(func(c *Claims) { c.ExpiresAt = nil })), false},
		{"not yet valid", sign(t, rs, key, "k1", with(func(c *Claims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Minute))
		})), false},
		{"issued in the future", sign(t, rs, key, "k1", with(func(c *Claims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		})), false},
		{"missing kid", sign(t, rs, key, "", goodClaims()), false},
		{"unknown kid", sign(t, rs, key, "k2", goodClaims()), false},
		{"signed by another key", sign(t, rs, other, "k1", goodClaims()), false},
		{"tampered payload", parts[0] + "." + b64(t, with(func(c *Claims) { c.Role = artstore.RoleAdmin })) + "." + parts[2], false},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), false},
		{"signature removed", parts[0] + "." + parts[1] + ".", false},
		{"missing sub", sign(t, rs, key, "k1", with(func(c *Claims) { c.Subject = "" })), false},
		{"missing role", sign(t, rs, key, "k1", with(func(c *Claims) { c.Role = "" })), false},
		{"unknown role", sign(t, rs, key, "k1", with(func(c *Claims) { c.Role = "root" })), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Authenticate(context.Background(), tc.token)
			if tc.ok {
				if err != nil {
					t.Fatalf("rejected a valid token: %v", err)
				}
				want := artstore.Principal{Subject: "acc-1", ClientID: "sa_0123", Name: "billing", Role: artstore.RoleUser, TokenID: "jti-1"}
				if d := time.Since(p.IssuedAt); d < -time.Minute || d > time.Hour {
					t.Fatalf("issued at %v", p.IssuedAt)
				}
				p.IssuedAt = time.Time{}
				if p != want {
					t.Fatalf("principal = %+v, want %+v", p, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted a bad token as %+v", p)
			}
			if !errs.Is(errs.Unauthenticated, err) {
				t.Errorf("kind = %v, want unauthenticated (%v)", errs.KindOf(err), err)
			}
			if len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[len(tc.token)-20:]) {
				t.Errorf("error echoes the token: %v", err)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// flip changes the first character of a base64url string, so that it
// still decodes but to different bytes.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}
