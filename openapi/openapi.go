// Package openapi embeds the curated specs in this folder: the truth about the wire, from which
// gen/ is generated. The server serves the specs from here as written (comments included), with
// only their servers and, for a provider, its security set for the deployment (impl/apidocs).
package openapi

import "embed"

// Files holds every spec of this folder: paylinks.yaml (the unified API) and one per provider.
//
//go:embed *.yaml
var Files embed.FS

// Paylinks is the unified API's spec, as served at /openapi.yaml.
//
//go:embed paylinks.yaml
var Paylinks []byte
