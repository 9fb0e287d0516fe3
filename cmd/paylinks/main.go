// Command paylinks runs the spec-validated payment-links proxy (`paylinks serve`) and talks to a
// running one from the terminal. It only wires impl/ together: the command line is impl/cli's,
// `serve` is impl/server's.
package main

import (
	"context"
	"os"

	"github.com/paylinks/paylinks/impl/cli"
	"github.com/paylinks/paylinks/impl/server"
)

func main() {
	root := cli.NewRoot(cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Server: new(server.Command)})
	os.Exit(cli.Execute(context.Background(), root, os.Args[1:]))
}
