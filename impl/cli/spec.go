package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/spf13/cobra"

	"github.com/paylinks/paylinks/impl/validation"
)

func (c *cli) specCmd() *cobra.Command {
	spec := c.group(&cobra.Command{
		Use:   "spec",
		Short: "Work with OpenAPI documents offline",
		Long:  "Work with OpenAPI documents offline (no server needed).",
		Example: `  paylinks spec validate openapi/paylinks.yaml
  paylinks spec validate openapi/*.yaml`,
	})
	spec.AddCommand(c.specValidateCmd())
	return spec
}

// specVersion is the OpenAPI version the project curates its specs in (DESIGN.md).
const specVersion = "3.0.3"

// specResult is the outcome of validating one file (the JSON output of spec validate).
type specResult struct {
	File       string   `json:"file"`
	Valid      bool     `json:"valid"`
	Operations int      `json:"operations"`
	Errors     []string `json:"errors,omitempty"`
}

func (c *cli) specValidateCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate OpenAPI files with the project's rules (offline)",
		Long: `Validates OpenAPI files with the rules the project applies to its curated specs (the test in
openapi/openapi_test.go): the document loads with kin-openapi (no external references), it is
OpenAPI ` + specVersion + `, it validates with every example checked against its schema, and paylinks
can route requests with it. Prints "FILE: valid (N operations)" or every error found.

Exit codes: 0 all valid, 1 a file is invalid, 2 a file cannot be read.`,
		Example: `  paylinks spec validate openapi/paylinks.yaml
  paylinks spec validate openapi/*.yaml
  paylinks spec validate my-provider.yaml --output json | jq -r '.errors[]'`,
		Args: func(_ *cobra.Command, files []string) error {
			if len(files) == 0 {
				return &usageError{msg: "missing the FILE to validate",
					hint: "Name an OpenAPI file, e.g. 'paylinks spec validate openapi/paylinks.yaml'."}
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return c.specValidate(cmd.CommandPath(), files, output)
		},
	}
	// Only --output of the global flags: the other ones are about a server, and this works offline.
	outputFlag(cmd.Flags(), &output)
	completeWith(cmd, "output", "table", "json")
	return cmd
}

func (c *cli) specValidate(name string, files []string, output string) error {
	unreadable, invalid := false, false
	for _, file := range files {
		res, err := validateSpec(file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			fmt.Fprintf(c.stderr, "%s: cannot read %s: %v\n", name, file, err)
			unreadable = true
			continue
		}
		invalid = invalid || !res.Valid
		if output == "json" {
			out, err := json.Marshal(res)
			if err != nil {
				return err
			}
			c.printJSON(out)
			continue
		}
		if res.Valid {
			fmt.Fprintf(c.stdout, "%s: valid (%d operations)\n", file, res.Operations)
			continue
		}
		fmt.Fprintf(c.stdout, "%s: invalid\n", file)
		for _, e := range res.Errors {
			fmt.Fprintf(c.stdout, "  - %s\n", e)
		}
	}
	switch {
	case unreadable:
		return errUsageShown
	case invalid:
		return errShown
	}
	return nil
}

// validateSpec checks one file. The error is only for a file that cannot be read; what is wrong with
// its content is in the result.
func validateSpec(file string) (specResult, error) {
	res := specResult{File: file}
	data, err := os.ReadFile(file)
	if err != nil {
		return res, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: filepath.ToSlash(file)})
	if err != nil {
		res.Errors = []string{"cannot load: " + err.Error()}
		return res, nil
	}
	for _, item := range doc.Paths.Map() {
		res.Operations += len(item.Operations())
	}
	if doc.OpenAPI != specVersion {
		res.Errors = append(res.Errors, fmt.Sprintf("openapi version %q: the project's specs are OpenAPI %s", doc.OpenAPI, specVersion))
	}
	err = doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableMultiError())
	for _, e := range flatten(err) {
		res.Errors = append(res.Errors, e.Error())
	}
	if len(res.Errors) == 0 {
		// The server compiles a router from every spec it validates against; that must work too.
		if _, err := validation.New(doc); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	res.Valid = len(res.Errors) == 0
	return res, nil
}

// flatten lists the errors inside kin-openapi's MultiError (and other joined errors), one by one.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	var many []error
	switch e := any(err).(type) { // the error itself: what it wraps is not split
	case openapi3.MultiError:
		many = e
	case interface{ Unwrap() []error }:
		many = e.Unwrap()
	default:
		return []error{err}
	}
	var out []error
	for _, sub := range many {
		out = append(out, flatten(sub)...)
	}
	return out
}
