// Package hub2 is the typed client, Echo strict server interface and embedded spec of the Hub2
// payment-links API, generated from openapi/hub2.yaml.
//
// Everything but this file is generated: change the spec or config.yaml, then run go generate.
package hub2

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config config.yaml ../../openapi/hub2.yaml
