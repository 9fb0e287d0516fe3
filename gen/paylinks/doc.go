// Package paylinks is the typed client, Echo strict server interface and embedded spec of the unified
// paylinks API, generated from openapi/paylinks.yaml.
//
// Everything but this file is generated: change the spec or config.yaml, then run go generate.
package paylinks

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config config.yaml ../../openapi/paylinks.yaml
