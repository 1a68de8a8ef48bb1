package admin

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// rsaBits is the size of generated signing keys.
const rsaBits = 2048

// reloadEvery limits how often a lookup of an unknown kid rereads the key
// table, since anyone can present a token with a made-up kid.
const reloadEvery = 10 * time.Second

// signingKey is one row of signing_keys, parsed.
type signingKey struct {
	kid     string
	pub     *rsa.PublicKey
	priv    *rsa.PrivateKey // only for the current key
	created time.Time
}

// keystore holds the published signing keys in memory.
//
// A key in the table is published (in the JWKS, and accepted by verifiers)
// until its retired_at has passed; it signs new tokens while it is the
// newest published key without a not_after. Rotation sets not_after on the
// keys it replaces and retired_at when their last tokens expire.
type keystore struct {
	s *Service

	mu      sync.RWMutex
	current *signingKey
	keys    []*signingKey // published keys, newest first
	lastTry time.Time     // when the table was last read, or tried

	// reloading is held while refreshIfStale reads the table, so that a
	// burst of lookups of unknown kids causes one read, not one each.
	reloading sync.Mutex
}

// ensure loads the keys and creates the first one when there is none.
// Two processes starting together against one database may both create a
// key. Each rereads the table after its insert and signs with the newest
// key it sees, which is usually the same one; when the inserts interleave
// so that they pick different keys, both keys are published, so tokens
// signed by either still verify everywhere.
func (k *keystore) ensure(ctx context.Context) error {
	const op = "admin.keystore.ensure"
	if err := k.load(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	have := k.current != nil
	k.mu.RUnlock()
	if have {
		return nil
	}
	if err := k.create(ctx); err != nil {
		return err
	}
	if err := k.load(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current == nil {
		return errs.E(op, errs.Internal, errs.Msg("no signing key after creating one"))
	}
	return nil
}

// create generates a key and stores it.
func (k *keystore) create(ctx context.Context) error {
	const op = "admin.keystore.create"
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	kid := make([]byte, 16)
	rand.Read(kid)
	s := k.s
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO signing_keys
		(kid, algorithm, private_key_pem, public_key_pem, created_at) VALUES (?, ?, ?, ?, ?)`),
		hex.EncodeToString(kid), auth.Algorithm,
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		s.timeArg(s.clock()))
	if err != nil {
		return sqldb.Err(op, err)
	}
	return nil
}

// load reads the published keys and picks the current one.
func (k *keystore) load(ctx context.Context) error {
	const op = "admin.keystore.load"
	s := k.s
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT kid, algorithm, public_key_pem, created_at, not_after
		FROM signing_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC, kid DESC`), s.timeArg(s.clock()))
	if err != nil {
		return sqldb.Err(op, err)
	}
	defer rows.Close()
	var (
		keys       []*signingKey
		currentKID string
	)
	for rows.Next() {
		var (
			key             signingKey
			alg, pubPEM     string
			created, expiry dbTime
		)
		if err := rows.Scan(&key.kid, &alg, &pubPEM, &created, &expiry); err != nil {
			return sqldb.Err(op, err)
		}
		if alg != auth.Algorithm {
			continue // a future algorithm this version cannot use
		}
		key.pub, err = parsePublicKey(pubPEM)
		if err != nil {
			return errs.E(op, errs.Internal, errs.Msg("signing key %s: %v", key.kid, err))
		}
		key.created = created.Time
		if currentKID == "" && expiry.IsZero() {
			currentKID = key.kid
		}
		keys = append(keys, &key)
	}
	if err := rows.Err(); err != nil {
		return sqldb.Err(op, err)
	}

	var current *signingKey
	for _, key := range keys {
		if key.kid == currentKID {
			current = key
		}
	}
	if current != nil {
		// Only the current key's private half is kept in memory.
		var privPEM string
		err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT private_key_pem FROM signing_keys WHERE kid = ?`), current.kid).Scan(&privPEM)
		if err != nil {
			return sqldb.Err(op, err)
		}
		current.priv, err = parsePrivateKey(privPEM)
		if err != nil {
			return errs.E(op, errs.Internal, errs.Msg("signing key %s: %v", current.kid, err))
		}
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys, k.current, k.lastTry = keys, current, time.Now()
	return nil
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errs.Msg("no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errs.Msg("not an RSA public key")
	}
	return pub, nil
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errs.Msg("no PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, errs.Msg("not an RSA private key")
	}
	return priv, nil
}

// signer returns the current signing key.
func (k *keystore) signer() *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

func (k *keystore) find(kid string) *rsa.PublicKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.kid == kid {
			return key.pub
		}
	}
	return nil
}

// refreshIfStale rereads the table unless it was read within reloadEvery,
// so that keys another admin process created become known here. When the
// processes raced to create the first key, this is also how they come to
// sign with the same one.
func (k *keystore) refreshIfStale(ctx context.Context) {
	if !k.reloading.TryLock() {
		return // another goroutine is reading the table right now
	}
	defer k.reloading.Unlock()
	k.mu.Lock()
	stale := time.Since(k.lastTry) >= reloadEvery
	if stale {
		// Counting the attempt, not just a success, keeps a database
		// that is down from being asked again on every request.
		k.lastTry = time.Now()
	}
	k.mu.Unlock()
	if stale {
		// A failed reload leaves the keys as they were; the caller then
		// answers from memory, which is the best it can do.
		_ = k.load(ctx)
	}
}

// PublicKey returns the published public key with the given kid. It
// implements auth.LocalKeys, so an in-process verifier needs no HTTP.
func (s *Service) PublicKey(kid string) (crypto.PublicKey, error) {
	const op = "admin.PublicKey"
	if pub := s.keys.find(kid); pub != nil {
		return pub, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.keys.refreshIfStale(ctx)
	if pub := s.keys.find(kid); pub != nil {
		return pub, nil
	}
	return nil, errs.E(op, errs.NotExist, errs.Msg("unknown signing key"))
}

// JWK is one public key in a JSON Web Key Set (RFC 7517).
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKSet is a JSON Web Key Set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the published public keys, newest first.
func (s *Service) JWKS() JWKSet {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	set := JWKSet{Keys: make([]JWK, 0, len(s.keys.keys))}
	for _, key := range s.keys.keys {
		set.Keys = append(set.Keys, JWK{
			Kty: "RSA",
			Use: "sig",
			Alg: auth.Algorithm,
			Kid: key.kid,
			N:   base64.RawURLEncoding.EncodeToString(key.pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.pub.E)).Bytes()),
		})
	}
	return set
}
