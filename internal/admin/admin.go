// Package admin is ArtStore's admin service: the control plane that owns
// identities and the tokens that prove them. This part is its token core:
// service accounts with OAuth2 client credentials, the RSA keys that sign
// access tokens, the token endpoint, the JWKS endpoint from which other
// services learn the public keys, and the bootstrap admin account of a
// fresh installation.
//
// The service keeps its state in one SQL database (SQLite or PostgreSQL,
// through package sqldb) with its own embedded migrations, so several admin
// processes may share a PostgreSQL database.
package admin

import (
	"context"
	"crypto/rand"
	"embed"
	"io/fs"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/ratelimit"
	"github.com/artstore/artstore/internal/sqldb"
)

// migrations holds one directory of goose files per dialect under
// migrations/.
//
//go:embed migrations
var migrations embed.FS

// versionTable is the goose version table of the admin schema, separate
// from other components' so each migrates on its own.
const versionTable = "admin_schema_version"

// Config is the configuration of the admin service. The zero value of each
// field means its default.
type Config struct {
	// Issuer is the iss claim of issued tokens. Default "artstore".
	Issuer string
	// Audience is the aud claim of issued tokens. Default "artstore".
	Audience string
	// TokenTTL is the lifetime of an access token. Default 30 minutes.
	TokenTTL time.Duration
	// BcryptCost is the cost of hashing client secrets. Default
	// bcrypt.DefaultCost; tests use bcrypt.MinCost to run fast.
	BcryptCost int
	// SecretTTL is how long a client secret works after it is issued.
	// Default 90 days; negative: secrets never expire.
	SecretTTL time.Duration
	// BootstrapClientID, when set, is the client id of the bootstrap
	// service account, so that split deployments can be provisioned
	// without copying a random id around.
	BootstrapClientID string
	// KeyRotation is the age at which the signing key is replaced.
	// Default 30 days; negative: only on demand.
	KeyRotation time.Duration
}

// The defaults of Config.
const (
	DefaultIssuer      = "artstore"
	DefaultAudience    = "artstore"
	DefaultTokenTTL    = 30 * time.Minute
	DefaultSecretTTL   = 90 * 24 * time.Hour
	DefaultKeyRotation = 30 * 24 * time.Hour
	DefaultRateLimit   = 100 // requests per minute
)

func (c Config) withDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.SecretTTL == 0 {
		c.SecretTTL = DefaultSecretTTL
	}
	if c.KeyRotation == 0 {
		c.KeyRotation = DefaultKeyRotation
	}
	return c
}

// Service is the admin service. It is safe for concurrent use.
type Service struct {
	db   *sqldb.DB
	cfg  Config
	keys *keystore
	// dummyHash is compared against when a client id is unknown, so that
	// answering "no such client" takes as long as "wrong secret" and the
	// timing does not reveal which client ids exist.
	dummyHash []byte
	verifier  *auth.Verifier
	now       func() time.Time
	auditor   api.Auditor
	guard     *ratelimit.Guard
}

// Open migrates the admin schema in db and returns the service. It loads
// the current signing key, creating one on the first start.
func Open(ctx context.Context, db *sqldb.DB, cfg Config) (*Service, error) {
	const op = "admin.Open"
	cfg = cfg.withDefaults()
	if cfg.BcryptCost < bcrypt.MinCost || cfg.BcryptCost > bcrypt.MaxCost {
		return nil, errs.E(op, errs.Invalid, errs.Msg("bcrypt cost %d outside %d..%d", cfg.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost))
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, versionTable); err != nil {
		return nil, errs.E(op, err)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cfg.BcryptCost)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	s := &Service{db: db, cfg: cfg, dummyHash: dummy, now: time.Now}
	s.keys = &keystore{s: s}
	s.verifier = auth.NewVerifier(auth.Local(s), cfg.Issuer, cfg.Audience)
	if err := s.keys.ensure(ctx); err != nil {
		return nil, errs.E(op, err)
	}
	return s, nil
}

// Config returns the configuration in effect, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// timeFormat is how SQLite stores times: UTC, fixed width, so that text
// order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// clock returns the current time at the precision both databases keep
// (PostgreSQL keeps microseconds), so a value reads back as it was written.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// timeArg converts t into a query argument for the dialect: PostgreSQL
// takes a time.Time for a TIMESTAMPTZ column; SQLite stores text.
func (s *Service) timeArg(t time.Time) any {
	if s.db.Dialect == sqldb.Postgres {
		return t.UTC()
	}
	return t.UTC().Format(timeFormat)
}

// dbTime scans a timestamp column of either dialect.
type dbTime struct{ time.Time }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		t.Time = time.Time{}
	default:
		return errs.Msg("cannot scan %T as a time", src)
	}
	return nil
}

func (t *dbTime) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}
