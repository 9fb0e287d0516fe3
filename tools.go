//go:build tools

// Package tools pins the code generators and linters this module runs with go generate and
// make lint, so that go.mod records their versions and `go run` uses exactly those.
package tools

import (
	_ "codeberg.org/polyfloyd/go-errorlint"
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
