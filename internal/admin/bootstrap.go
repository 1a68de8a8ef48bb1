package admin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// BootstrapAccount is the name of the admin service account created on a
// fresh installation.
const BootstrapAccount = "bootstrap-admin"

// BootstrapFile is the name, inside the data directory, of the file that
// holds the bootstrap account's credentials.
const BootstrapFile = "bootstrap-credentials.json"

// BootstrapCredentials is the content of BootstrapFile.
type BootstrapCredentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Bootstrap makes sure a fresh installation can be administered. On the
// first start it creates the admin service account BootstrapAccount,
// writes its credentials durably to dataDir/BootstrapFile with mode 0600,
// and reports created = true, so that the caller shows the file's path
// once. On every later start it does nothing and reports created = false,
// even if the file has since been deleted: the secret is not stored
// anywhere else, and issuing a new one silently would hand admin rights to
// whoever can next read the data directory.
func (s *Service) Bootstrap(ctx context.Context, dataDir string) (clientID string, created bool, err error) {
	const op = "admin.Bootstrap"
	a, err := s.ServiceAccountByName(ctx, BootstrapAccount)
	switch {
	case err == nil:
		return a.ClientID, false, nil
	case !errs.Is(errs.NotExist, err):
		return "", false, errs.E(op, err)
	}

	// The account is created before the file is written. If another
	// process bootstraps the same database at the same moment, exactly one
	// insert wins and only the winner writes the file, so the file always
	// matches the account.
	// The system's own processes call each other with this account, so
	// its rate is not what limits them.
	a, secret, err := s.CreateAccount(ctx, AccountSpec{Name: BootstrapAccount, Role: artstore.RoleAdmin,
		ClientID: s.cfg.BootstrapClientID, NeverExpires: true, RateLimit: MaxRateLimit})
	if errs.Is(errs.Exist, err) {
		a, err = s.ServiceAccountByName(ctx, BootstrapAccount)
		if err != nil {
			return "", false, errs.E(op, err)
		}
		return a.ClientID, false, nil
	}
	if err != nil {
		return "", false, errs.E(op, err)
	}
	body, err := json.MarshalIndent(BootstrapCredentials{ClientID: a.ClientID, ClientSecret: secret}, "", "  ")
	if err != nil {
		return "", false, errs.E(op, errs.Internal, err)
	}
	if err := WriteFileDurably(filepath.Join(dataDir, BootstrapFile), append(body, '\n'), 0o600); err != nil {
		// Without the file nobody knows the secret, so the account is
		// removed and the next start tries again. A crash between the
		// insert and this point leaves such an account behind; the
		// control plane's secret reset is the way out of that.
		if derr := s.deleteAccount(context.WithoutCancel(ctx), a.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return "", false, errs.E(op, err)
	}
	return a.ClientID, true, nil
}

// WriteFileDurably writes data to path so that after a crash the file is
// either absent or complete: it writes a temporary file in the same
// directory, syncs it, renames it over path and syncs the directory.
func WriteFileDurably(path string, data []byte, perm os.FileMode) (err error) {
	const op = "admin.writeFileDurably"
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	// CreateTemp makes the file with mode 0600, so the secret is never
	// readable by others, not even before the rename.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if _, err = f.Write(data); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if err = f.Sync(); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if err = f.Close(); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	return nil
}
