package seregistry

import (
	"context"
	"net/http"
	"net/url"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// selfRegisterTimeout bounds each request to the admin service, which in
// turn asks the element for its info (bounded by infoTimeout).
const selfRegisterTimeout = 3 * infoTimeout

// SelfRegister registers the element serving at ownURL with the admin
// service at adminURL, for a standalone element process at start. tokens
// must yield an admin token. It is idempotent: when the element is already
// registered, under this URL or an earlier one, its registration is pointed
// at ownURL instead.
//
// The admin service may well start after the element; an Unavailable
// error says so, and the caller decides how long to keep retrying.
func SelfRegister(ctx context.Context, adminURL string, tokens api.TokenSource, ownURL string) error {
	const op = "seregistry.SelfRegister"
	base, err := normalizeURL(adminURL)
	if err != nil {
		return errs.E(op, errs.Msg("admin url: %v", err), errs.Invalid)
	}
	own, err := normalizeURL(ownURL)
	if err != nil {
		return errs.E(op, err)
	}
	c := api.Caller{Base: base, HTTP: &http.Client{Timeout: selfRegisterTimeout}, Tokens: tokens}
	err = c.Call(ctx, op, http.MethodPost, basePath, Registration{URL: own}, nil)
	if !errs.Is(errs.Exist, err) {
		return err
	}
	// The URL or the element's id is taken. Only the element's own answer
	// says which id it has, so ask the admin service to read it, then move
	// that registration here (a no-op when it is here already).
	var info artstore.ElementInfo
	if err := c.Call(ctx, op, http.MethodPost, basePath+"/discover", map[string]string{"url": own}, &info); err != nil {
		return err
	}
	err = c.Call(ctx, op, http.MethodPut, basePath+"/"+url.PathEscape(info.ElementID), Update{URL: &own}, nil)
	if errs.Is(errs.NotExist, err) {
		// The element's id is free, so the URL is what was taken: another
		// element was registered at this address before.
		return errs.E(op, errs.Exist, errs.Msg("%s is registered to another storage element; remove that registration first", own))
	}
	return err
}
