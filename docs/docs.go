// Package docs embeds the documents the server serves: the OpenAPI
// description of every route.
package docs

import (
	_ "embed"
	"sync"

	"sigs.k8s.io/yaml"
)

// OpenAPI is the OpenAPI 3 document of every route, in YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte

var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := yaml.YAMLToJSON(OpenAPI)
	if err != nil {
		panic("docs: openapi.yaml is not valid YAML: " + err.Error())
	}
	return b
})

// OpenAPIJSON returns the OpenAPI document as JSON.
func OpenAPIJSON() []byte { return openAPIJSON() }
