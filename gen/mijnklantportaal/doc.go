// Package mijnklantportaal is the typed client, Echo strict server interface and embedded spec of the
// MijnKlantportaal API v1 payment links, generated from openapi/mijnklantportaal.yaml.
//
// Everything but this file is generated: change the spec or config.yaml, then run go generate.
package mijnklantportaal

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config config.yaml ../../openapi/mijnklantportaal.yaml
