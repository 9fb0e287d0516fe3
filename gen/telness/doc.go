// Package telness is the typed client, Echo strict server interface and embedded spec of the Telness
// Tech Connect payment-links API, generated from openapi/telness.yaml.
//
// Everything but this file is generated: change the spec or config.yaml, then run go generate.
package telness

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config config.yaml ../../openapi/telness.yaml
