// Package config defines ArtStore's typed configuration and loads it from,
// in increasing precedence, built-in defaults, an optional YAML file,
// ARTSTORE_* environment variables and command-line flags. Every setting
// is documented in docs/configuration.md; a test keeps the two in step.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Config is the configuration of one artstore process.
type Config struct {
	Listen      string   `json:"listen"`       // address to serve on
	DataDir     string   `json:"data_dir"`     // where embedded databases and local elements live
	Roles       []string `json:"roles"`        // roles this process runs
	DatabaseURL string   `json:"database_url"` // the admin database; empty: SQLite in DataDir
	// CatalogURL holds the file catalog (registry and search index) of a
	// process running admin, ingest or query; empty means DatabaseURL when
	// that is PostgreSQL, else SQLite in DataDir/catalog.db.
	CatalogURL string    `json:"catalog_database_url"`
	Auth       Auth      `json:"auth"`
	Log        Log       `json:"log"`
	Elements   []Element `json:"elements"`
	Shutdown   Duration  `json:"shutdown_timeout"`
	GC         GC        `json:"gc"`
	Bus        Bus       `json:"bus"`
	// ReconcileInterval is how often a catalog is compared with the
	// elements and repaired; 0 runs it only on demand.
	ReconcileInterval Duration `json:"reconcile_interval"`
	// FinalizeMargin is how long a finalized file's temporary copy is kept.
	FinalizeMargin Duration   `json:"finalize_margin"`
	Limits         HTTPLimits `json:"http"`
	// PublicURL is how other processes reach this one; empty means
	// http://LISTEN.
	PublicURL string `json:"public_url"`
	// AdminURL is the admin service a standalone storage process
	// registers its elements with (using auth.client_id/client_secret).
	AdminURL string `json:"admin_url"`
	// RegistryPoll is how often the admin role reads every registered
	// element's info.
	RegistryPoll Duration `json:"registry_poll_interval"`
}

// Auth configures token issuing and checking.
type Auth struct {
	Issuer   string   `json:"issuer"`
	Audience string   `json:"audience"`
	TokenTTL Duration `json:"token_ttl"`
	// JWKSURL is where a process without the admin role fetches the
	// signing keys, e.g. http://admin:8080/.well-known/jwks.json.
	JWKSURL string `json:"jwks_url"`
	// TokenURL, ClientID and ClientSecret are this process's own service
	// account, with which it calls storage elements in other processes.
	TokenURL     string `json:"token_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// SecretTTL is how long a service account's secret works; negative:
	// forever. KeyRotation is the age at which the signing key is
	// replaced; negative: only on demand.
	SecretTTL   Duration `json:"secret_ttl"`
	KeyRotation Duration `json:"key_rotation"`
	// BootstrapClientID fixes the bootstrap service account's client id.
	BootstrapClientID string `json:"bootstrap_client_id"`
	// GuardPerClient and GuardPerSource bound token requests per minute
	// for one client id and from one source address.
	GuardPerClient int `json:"guard_per_client"`
	GuardPerSource int `json:"guard_per_source"`
	// AuditKey is the secret (hex, at least 32 bytes) keying the audit
	// log's hash chain; empty: DATA/audit.key, created on first start.
	AuditKey string `json:"audit_key"`
}

// Bus configures the event bus. Without a Redis URL there is none: every
// catalog long-polls the elements' journals.
type Bus struct {
	RedisURL string `json:"redis_url"` // e.g. redis://127.0.0.1:6379/0
	// Consumer names this process's consumer group on the bus; every
	// process with a catalog needs its own. Default: the host name and
	// the listen address, HOST/LISTEN.
	Consumer string `json:"consumer"`
}

// GC configures the garbage collector of the admin role.
type GC struct {
	Interval Duration `json:"interval"` // between collections; 0 turns periodic runs off
}

// Log configures logging.
type Log struct {
	Format string `json:"format"` // "text", "json" or "auto" (text on a terminal)
	Level  string `json:"level"`  // debug, info, warn, error
}

// HTTPLimits bounds what a client can make the server hold.
type HTTPLimits struct {
	MaxHeaderBytes    int      `json:"max_header_bytes"`
	ReadHeaderTimeout Duration `json:"read_header_timeout"`
	IdleTimeout       Duration `json:"idle_timeout"`
	// BodyIdleTimeout is how long a request body may send nothing
	// before it is cut off (408); 0 disables it.
	BodyIdleTimeout Duration `json:"body_idle_timeout"`
}

// Element configures one storage element.
type Element struct {
	ID       string        `json:"id"`
	Mode     artstore.Mode `json:"mode"`
	Priority int           `json:"priority"`
	Capacity ByteSize      `json:"capacity"` // 0: unlimited
	// Path is the directory of a local element; empty with no S3 means
	// DataDir/elements/ID/files.
	Path string `json:"path"`
	S3   *S3    `json:"s3,omitempty"`
	// DatabaseURL holds the element's index and journal; empty means the
	// process's DatabaseURL when that is PostgreSQL, else SQLite in
	// DataDir/elements/ID/index.db.
	DatabaseURL string `json:"database_url"`
	// URL, when set, is the base URL of an element that another process
	// runs (e.g. http://host:8080/elements/rw-01); this process reaches it
	// over HTTP and opens nothing of it.
	URL string `json:"url"`
}

// Remote tells whether another process runs the element.
func (e *Element) Remote() bool { return e.URL != "" }

// S3 locates an element in an S3-compatible bucket.
type S3 struct {
	Endpoint  string `json:"endpoint"` // e.g. http://127.0.0.1:7070
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix"`
	Region    string `json:"region"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// The roles a process can run.
const (
	RoleAdmin   = "admin"
	RoleStorage = "storage"
	RoleIngest  = "ingest"
	RoleQuery   = "query"
)

// AllRoles are the roles run by default.
var AllRoles = []string{RoleAdmin, RoleStorage, RoleIngest, RoleQuery}

// Default returns the built-in configuration: every role on 127.0.0.1:8080,
// data under ./artstore-data, one edit and one rw element.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./artstore-data",
		Roles:   slices.Clone(AllRoles),
		Auth: Auth{Issuer: "artstore", Audience: "artstore", TokenTTL: Duration(30 * time.Minute),
			SecretTTL: Duration(90 * 24 * time.Hour), KeyRotation: Duration(30 * 24 * time.Hour),
			GuardPerClient: 10, GuardPerSource: 30},
		Log: Log{Format: "auto", Level: "info"},
		Elements: []Element{
			{ID: "edit-01", Mode: artstore.ModeEdit, Priority: 100},
			{ID: "rw-01", Mode: artstore.ModeRW, Priority: 100},
		},
		Shutdown: Duration(30 * time.Second),
		GC:       GC{Interval: Duration(time.Hour)},

		ReconcileInterval: Duration(15 * time.Minute),
		FinalizeMargin:    Duration(24 * time.Hour),
		RegistryPoll:      Duration(30 * time.Second),
		Limits: HTTPLimits{
			MaxHeaderBytes:    64 << 10,
			ReadHeaderTimeout: Duration(10 * time.Second),
			IdleTimeout:       Duration(2 * time.Minute),
			BodyIdleTimeout:   Duration(time.Minute),
		},
	}
}

// LoadFile merges the YAML (or JSON) file at path into c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errs.E("config.LoadFile", errs.Invalid, err)
	}
	// Elements given in a file replace the defaults rather than merge
	// with them by position.
	c.Elements = nil
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return errs.E("config.LoadFile", errs.Invalid, fmt.Errorf("%s: %w", path, err))
	}
	return nil
}

// Env lists the environment variables read by LoadEnv, with the setting
// each one sets.
var Env = []struct{ Name, Setting string }{
	{"ARTSTORE_CONFIG", "path of a YAML configuration file"},
	{"ARTSTORE_LISTEN", "listen"},
	{"ARTSTORE_DATA_DIR", "data_dir"},
	{"ARTSTORE_ROLES", "roles (comma-separated)"},
	{"ARTSTORE_DATABASE_URL", "database_url"},
	{"ARTSTORE_CATALOG_DATABASE_URL", "catalog_database_url"},
	{"ARTSTORE_TOKEN_URL", "auth.token_url"},
	{"ARTSTORE_CLIENT_ID", "auth.client_id"},
	{"ARTSTORE_CLIENT_SECRET", "auth.client_secret"},
	{"ARTSTORE_JWKS_URL", "auth.jwks_url"},
	{"ARTSTORE_TOKEN_TTL", "auth.token_ttl"},
	{"ARTSTORE_GC_INTERVAL", "gc.interval"},
	{"ARTSTORE_SECRET_TTL", "auth.secret_ttl"},
	{"ARTSTORE_KEY_ROTATION", "auth.key_rotation"},
	{"ARTSTORE_BOOTSTRAP_CLIENT_ID", "auth.bootstrap_client_id"},
	{"ARTSTORE_AUDIT_KEY", "auth.audit_key"},
	{"ARTSTORE_RECONCILE_INTERVAL", "reconcile_interval"},
	{"ARTSTORE_FINALIZE_MARGIN", "finalize_margin"},
	{"ARTSTORE_PUBLIC_URL", "public_url"},
	{"ARTSTORE_ADMIN_URL", "admin_url"},
	{"ARTSTORE_REGISTRY_POLL_INTERVAL", "registry_poll_interval"},
	{"ARTSTORE_REDIS_URL", "bus.redis_url"},
	{"ARTSTORE_BUS_CONSUMER", "bus.consumer"},
	{"ARTSTORE_LOG_FORMAT", "log.format"},
	{"ARTSTORE_LOG_LEVEL", "log.level"},
	{"ARTSTORE_S3_ACCESS_KEY", "elements[].s3.access_key, where the element leaves it empty"},
	{"ARTSTORE_S3_SECRET_KEY", "elements[].s3.secret_key, where the element leaves it empty"},
}

// LoadEnv applies ARTSTORE_* variables from getenv to c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("ARTSTORE_LISTEN", &c.Listen)
	set("ARTSTORE_DATA_DIR", &c.DataDir)
	set("ARTSTORE_DATABASE_URL", &c.DatabaseURL)
	set("ARTSTORE_CATALOG_DATABASE_URL", &c.CatalogURL)
	set("ARTSTORE_TOKEN_URL", &c.Auth.TokenURL)
	set("ARTSTORE_CLIENT_ID", &c.Auth.ClientID)
	set("ARTSTORE_CLIENT_SECRET", &c.Auth.ClientSecret)
	set("ARTSTORE_REDIS_URL", &c.Bus.RedisURL)
	set("ARTSTORE_PUBLIC_URL", &c.PublicURL)
	set("ARTSTORE_ADMIN_URL", &c.AdminURL)
	set("ARTSTORE_BOOTSTRAP_CLIENT_ID", &c.Auth.BootstrapClientID)
	set("ARTSTORE_AUDIT_KEY", &c.Auth.AuditKey)
	set("ARTSTORE_BUS_CONSUMER", &c.Bus.Consumer)
	set("ARTSTORE_JWKS_URL", &c.Auth.JWKSURL)
	set("ARTSTORE_LOG_FORMAT", &c.Log.Format)
	set("ARTSTORE_LOG_LEVEL", &c.Log.Level)
	if v := getenv("ARTSTORE_ROLES"); v != "" {
		c.Roles = SplitList(v)
	}
	for _, d := range []struct {
		name string
		dst  *Duration
	}{{"ARTSTORE_GC_INTERVAL", &c.GC.Interval}, {"ARTSTORE_RECONCILE_INTERVAL", &c.ReconcileInterval}, {"ARTSTORE_FINALIZE_MARGIN", &c.FinalizeMargin}, {"ARTSTORE_REGISTRY_POLL_INTERVAL", &c.RegistryPoll},
		{"ARTSTORE_SECRET_TTL", &c.Auth.SecretTTL}, {"ARTSTORE_KEY_ROTATION", &c.Auth.KeyRotation}} {
		if v := getenv(d.name); v != "" {
			n, err := time.ParseDuration(v)
			if err != nil || (n < 0 && d.dst != &c.Auth.SecretTTL && d.dst != &c.Auth.KeyRotation) {
				return errs.E("config.LoadEnv", errs.Invalid, errs.Msg("%s: not a duration: %q", d.name, v))
			}
			*d.dst = Duration(n)
		}
	}
	if v := getenv("ARTSTORE_TOKEN_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errs.E("config.LoadEnv", errs.Invalid, errs.Msg("ARTSTORE_TOKEN_TTL: %v", err))
		}
		c.Auth.TokenTTL = Duration(d)
	}
	ak, sk := getenv("ARTSTORE_S3_ACCESS_KEY"), getenv("ARTSTORE_S3_SECRET_KEY")
	for i := range c.Elements {
		if s := c.Elements[i].S3; s != nil {
			if s.AccessKey == "" {
				s.AccessKey = ak
			}
			if s.SecretKey == "" {
				s.SecretKey = sk
			}
		}
	}
	return nil
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Has reports whether the process runs role.
func (c *Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Validate checks the configuration and fills in derived defaults.
func (c *Config) Validate() error {
	const op = "config.Validate"
	bad := func(format string, args ...any) error { return errs.E(op, errs.Invalid, errs.Msg(format, args...)) }
	if c.Listen == "" {
		return bad("listen must be set")
	}
	if c.DataDir == "" {
		return bad("data_dir must be set")
	}
	if len(c.Roles) == 1 && c.Roles[0] == "all" {
		c.Roles = slices.Clone(AllRoles)
	}
	if len(c.Roles) == 0 {
		return bad("at least one role must be set")
	}
	for _, r := range c.Roles {
		if !slices.Contains(AllRoles, r) {
			return bad("unknown role %q (known: %s)", r, strings.Join(AllRoles, ", "))
		}
	}
	if !c.Has(RoleAdmin) && c.Auth.JWKSURL == "" {
		return bad("auth.jwks_url (ARTSTORE_JWKS_URL) must be set when the admin role runs elsewhere")
	}
	if c.Auth.TokenTTL <= 0 {
		return bad("auth.token_ttl must be positive")
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		return bad("log.format must be auto, text or json")
	}
	local, remote := 0, 0
	for _, e := range c.Elements {
		if e.Remote() {
			remote++
		} else {
			local++
		}
	}
	if c.Has(RoleStorage) && local == 0 {
		return bad("the storage role needs at least one element")
	}
	if c.AdminURL != "" && (c.Auth.ClientID == "" || c.Auth.ClientSecret == "") {
		return bad("admin_url (ARTSTORE_ADMIN_URL) needs this process's service account: auth.client_id and auth.client_secret")
	}
	if remote > 0 && (c.Auth.TokenURL == "" || c.Auth.ClientID == "" || c.Auth.ClientSecret == "") {
		return bad("elements reached over HTTP need this process's service account: auth.token_url, auth.client_id and auth.client_secret (ARTSTORE_TOKEN_URL, ARTSTORE_CLIENT_ID, ARTSTORE_CLIENT_SECRET)")
	}
	seen := map[string]bool{}
	for i := range c.Elements {
		e := &c.Elements[i]
		if e.ID == "" || strings.ContainsAny(e.ID, "/\\ \t\n?#%") || len(e.ID) > 64 {
			return bad("elements[%d]: invalid id %q", i, e.ID)
		}
		if seen[e.ID] {
			return bad("element id %q appears twice", e.ID)
		}
		seen[e.ID] = true
		if e.Remote() {
			if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
				return bad("element %s: url must start with http:// or https://", e.ID)
			}
			if e.S3 != nil || e.Path != "" || e.DatabaseURL != "" {
				return bad("element %s: an element reached by url has no path, s3 or database_url here", e.ID)
			}
			continue
		}
		if !e.Mode.Valid() {
			return bad("element %s: invalid mode %q", e.ID, e.Mode)
		}
		if e.Capacity < 0 {
			return bad("element %s: capacity must not be negative", e.ID)
		}
		if e.S3 != nil {
			if e.Path != "" {
				return bad("element %s: give a path or s3, not both", e.ID)
			}
			if e.S3.Endpoint == "" || e.S3.Bucket == "" {
				return bad("element %s: s3 needs endpoint and bucket", e.ID)
			}
		} else if e.Path == "" {
			e.Path = filepath.Join(c.DataDir, "elements", e.ID, "files")
		}
		if e.DatabaseURL == "" {
			if sqldb.IsPostgresDSN(c.DatabaseURL) {
				e.DatabaseURL = c.DatabaseURL
			} else {
				e.DatabaseURL = filepath.Join(c.DataDir, "elements", e.ID, "index.db")
			}
		}
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "admin.db")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.Bus.Consumer == "" {
		// Processes on one host listen on different addresses, so the
		// host with the address names each process apart: two catalogs
		// sharing a group would each get only some of the events.
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "artstore"
		}
		c.Bus.Consumer = host + "/" + c.Listen
	}
	if c.CatalogURL == "" {
		if sqldb.IsPostgresDSN(c.DatabaseURL) {
			c.CatalogURL = c.DatabaseURL
		} else {
			c.CatalogURL = filepath.Join(c.DataDir, "catalog.db")
		}
	}
	return nil
}

// ParseElement parses the --element flag form:
// id=ID,mode=MODE[,priority=N][,capacity=SIZE][,path=DIR]
// [,s3-endpoint=URL,s3-bucket=B[,s3-prefix=P][,s3-region=R]][,database-url=DSN],
// or id=ID,url=URL for an element that another process runs.
// S3 credentials come from the environment or a file, never a flag.
func ParseElement(s string) (Element, error) {
	e := Element{Priority: 100}
	for _, kv := range SplitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return e, errs.E("config.ParseElement", errs.Invalid, errs.Msg("%q is not key=value", kv))
		}
		s3 := func() *S3 {
			if e.S3 == nil {
				e.S3 = &S3{}
			}
			return e.S3
		}
		var err error
		switch k {
		case "id":
			e.ID = v
		case "mode":
			e.Mode = artstore.Mode(v)
		case "priority":
			e.Priority, err = strconv.Atoi(v)
		case "capacity":
			err = e.Capacity.UnmarshalText([]byte(v))
		case "path":
			e.Path = v
		case "database-url":
			e.DatabaseURL = v
		case "s3-endpoint":
			s3().Endpoint = v
		case "s3-bucket":
			s3().Bucket = v
		case "s3-prefix":
			s3().Prefix = v
		case "s3-region":
			s3().Region = v
		case "url":
			e.URL = v
		default:
			err = errs.Msg("unknown key %q", k)
		}
		if err != nil {
			return e, errs.E("config.ParseElement", errs.Invalid, errs.Msg("%s: %v", k, err))
		}
	}
	return e, nil
}
