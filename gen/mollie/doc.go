// Package mollie is the typed client, Echo strict server interface and embedded spec of the Mollie
// Payment Links API, generated from openapi/mollie.yaml.
//
// Everything but this file is generated: change the spec or config.yaml, then run go generate.
package mollie

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config config.yaml ../../openapi/mollie.yaml
