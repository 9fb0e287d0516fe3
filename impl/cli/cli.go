// Package cli is the command line of paylinks: the cobra command tree of the paylinks binary. The
// links, events, webhooks, listen and providers commands talk to a running `paylinks serve`
// through the generated client of the unified API (gen/paylinks), never to a provider directly;
// spec validate, version and completion work offline. `serve` itself is given by the binary
// (Env.Server).
//
// It must not import the server, a provider adapter, a sandbox, a provider's gen package or the
// events engine (TestImportsOnlyTheUnifiedAPI holds it): it knows the unified API only, as any
// other client would. listen signs its forwards with impl/events/stdwebhook, pure signing code.
//
// Adding a command is one small file: a method of *cli returning a *cobra.Command, added to the
// tree in NewRoot (a group, such as `webhooks endpoints`, wraps its command in c.group, which
// refuses a missing or unknown subcommand). A command that talks to a server, or a group of them,
// calls c.clientFlags on itself: it and every command under it take --server, --api-key, --output
// and --timeout, resolved against the environment by the root before it runs (c.g; so no command
// sets a PersistentPreRun of its own, which cobra would run instead). A command returns a
// *usageError for a wrong command line (exit 2, a one-line hint), errShown after printing its own
// failure, or any other error (exit 1, printed after the command's name).
package cli

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes scripts can test.
const (
	exitOK      = 0
	exitFailure = 1 // the server answered with a problem, or could not be reached
	exitUsage   = 2 // the command line is wrong
)

// Env is what the command line runs in: the process's streams and environment, or a test's.
type Env struct {
	Stdout, Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Server runs `paylinks serve`; nil leaves the command out. The binary passes the server's,
	// so that this package does not import it.
	Server Server
}

// cli is one run of the command line: where it writes, what it reads, and the resolved values of
// the client flags.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	server         Server
	g              globals
}

// Run runs the command line without `serve`. args are the arguments after the program name;
// getenv reads the environment (nil means os.Getenv). It returns the process exit code: 0 ok, 1 an
// error from the server or the network, 2 bad usage.
func Run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return Execute(context.Background(), NewRoot(Env{Stdout: stdout, Stderr: stderr, Getenv: getenv}), args)
}

// NewRoot builds the command tree of the paylinks binary.
func NewRoot(env Env) *cobra.Command {
	c := &cli{stdout: env.Stdout, stderr: env.Stderr, getenv: env.Getenv, server: env.Server}
	if c.getenv == nil {
		c.getenv = os.Getenv
	}
	root := c.group(&cobra.Command{
		Use:   "paylinks",
		Short: "One payment-links API over MijnKlantportaal, Hub2 and Telness",
		Long: `paylinks — one payment-links API over MijnKlantportaal, Hub2 and Telness.

'paylinks serve' runs the proxy (embedded sandboxes when no provider is configured); the links,
events, webhooks, listen and providers commands talk to a running one: --server (PAYLINKS_SERVER,
default ` + defaultServer + `), --api-key (PAYLINKS_API_KEY), --output table|json, --timeout.
Exit codes: 0 ok, 1 an error from the server or the network, 2 bad usage.`,
		Example: `  paylinks serve
  export PAYLINKS_API_KEY=sk_sandbox_demo
  paylinks links create --provider mijnklantportaal --amount 12.95 --currency EUR --description "Contribution"
  paylinks links list --output json | jq -r '.data[].id'
  paylinks listen --forward-to http://localhost:3000/hooks
  source <(paylinks completion bash)`,
		Version: buildVersion().short(),
		// The client flags are resolved once for every command that has them, before it runs.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Lookup("server") == nil || cmd.HasAvailableSubCommands() {
				return nil
			}
			return c.g.resolve(cmd, c.getenv)
		},
		SilenceErrors: true, // exit reports errors, in the house format
		SilenceUsage:  true, // a wrong command line gets a one-line hint, not the whole usage
	})
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetVersionTemplate("paylinks {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	if c.server != nil {
		root.AddCommand(c.serveCmd())
	}
	root.AddCommand(c.linksCmd(), c.eventsCmd(), c.webhooksCmd(), c.listenCmd(), c.providersCmd(), c.specCmd(), c.versionCmd())
	c.completionCmd(root)
	c.helpCmd(root)
	return root
}

// Execute runs the command line args (without the program name) and returns the exit code.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if cmd == nil {
		cmd = root
	}
	return exit(cmd, err)
}

// exit prints err the house way and returns the exit code it means.
func exit(cmd *cobra.Command, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		ue.print(cmd)
		return exitUsage
	case errors.Is(err, errUsageShown):
		return exitUsage
	case errors.Is(err, errShown):
		return exitFailure
	default:
		cmd.PrintErrf("%s: %v\n", cmd.CommandPath(), err)
		return exitFailure
	}
}

// usageTemplate is cobra's, except that a group of commands shows no "paylinks links [flags]" line:
// it runs only to refuse a missing or unknown subcommand.
const usageTemplate = `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} <command> [flags]{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.CommandPath}} <command> --help' for the flags and examples of a command.{{end}}
`
