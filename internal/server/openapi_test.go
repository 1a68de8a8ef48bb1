package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/docs"
	"github.com/artstore/artstore/internal/testcluster"
)

// TestOpenAPICoversRoutes fails when a registered route is missing from the
// OpenAPI document, or when the document describes a route that does not
// exist.
func TestOpenAPICoversRoutes(t *testing.T) {
	c := testcluster.Start(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(docs.OpenAPIJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				documented[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	element := regexp.MustCompile(`^/elements/[^/{]+/`)
	registered := map[string]bool{}
	err := chi.Walk(c.Server.Handler().(chi.Router), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		route = element.ReplaceAllString(route, "/elements/{element_id}/")
		registered[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, stale []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from docs/openapi.yaml:\n%s", strings.Join(missing, "\n"))
	}
	if len(stale) > 0 {
		t.Errorf("docs/openapi.yaml describes routes that do not exist:\n%s", strings.Join(stale, "\n"))
	}
	r := c.Do("GET", "/api/v1/openapi.json", "", "", nil, nil)
	if r.StatusCode != 200 || !json.Valid(r.Body) {
		t.Fatalf("serving openapi.json: %d", r.StatusCode)
	}
}
