// Command paylinks runs the spec-validated payment-links proxy (`paylinks serve`) and talks to a
// running one from the terminal. It only parses configuration and wires impl/ together.
package main

import (
	"fmt"
	"os"

	"github.com/paylinks/paylinks/impl/cli"
)

const usage = `paylinks — one payment-links API over MijnKlantportaal, Hub2 and Telness.

Usage:
  paylinks serve [flags]          run the proxy (embedded sandboxes when no provider is configured)
` + cli.Usage + `
Run 'paylinks <command> --help' for the flags and examples of a command.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], os.Getenv)
	case "links", "providers", "spec":
		return cli.Run(args, os.Stdout, os.Stderr, os.Getenv)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "paylinks: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
