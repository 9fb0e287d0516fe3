// Package cli is the terminal client of paylinks: the `links`, `providers` and `spec` commands of
// the paylinks binary. The links and providers commands talk to a running `paylinks serve`
// through the generated client of the unified API (gen/paylinks), never to a provider directly;
// spec validate works offline.
//
// It must not import the server, a provider adapter or a provider's gen package: it knows the
// unified API only, as any other client would.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// Exit codes scripts can test.
const (
	exitOK      = 0
	exitFailure = 1 // the server answered with a problem, or could not be reached
	exitUsage   = 2 // the command line is wrong
)

// Usage lists the client commands, for the binary's own help text.
const Usage = `  paylinks links list [flags]     list payment links across providers, following the cursor
  paylinks links get ID           show one payment link
  paylinks links create [flags]   create a payment link at a provider
  paylinks links close ID         close a payment link so it can no longer be paid
  paylinks providers              list the providers, their mode and capabilities
  paylinks spec validate FILE     validate an OpenAPI file with the project's rules (offline)

The links and providers commands talk to a running 'paylinks serve': --server (PAYLINKS_SERVER,
default http://127.0.0.1:8080), --api-key (PAYLINKS_API_KEY), --output table|json, --timeout.
Exit codes: 0 ok, 1 an error from the server or the network, 2 bad usage.
`

// Run runs one client command. args starts with the command ("links", "providers", "spec"), without
// the program name; getenv reads the environment (nil means os.Getenv). It returns the
// process exit code: 0 ok, 1 an error from the server or the network, 2 bad usage.
func Run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, "paylinks: no command given\n\nUsage:\n"+Usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "links":
		err = c.links(args[1:])
	case "providers":
		err = c.providers(args[1:])
	case "spec":
		err = c.spec(args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, "Usage:\n"+Usage)
		return exitOK
	default:
		err = unknownCommand("paylinks", args[0], []string{"links", "providers", "spec"})
	}
	return c.exit(err)
}

// cli carries what every command writes to and reads from.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a wrong command line: exit 2 with a one-line hint.
type usageError struct {
	cmd  string // "paylinks links create"
	msg  string
	hint string // what to do next; default: point at --help
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, a ...any) *usageError {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, a...)}
}

// errShown is an error whose message was already written; it only decides the exit code.
var errShown = errors.New("shown")

// errUsageShown is a usage error whose message was already written.
var errUsageShown = errors.New("usage shown")

// errHelp means --help was asked for and shown.
var errHelp = errors.New("help shown")

func (c *cli) exit(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "%s: %s\n", ue.cmd, ue.msg)
		hint := ue.hint
		if hint == "" {
			hint = fmt.Sprintf("Run '%s --help' for usage and examples.", ue.cmd)
		}
		fmt.Fprintln(c.stderr, hint)
		return exitUsage
	case errors.Is(err, errUsageShown):
		return exitUsage
	case errors.Is(err, errShown):
		return exitFailure
	default:
		fmt.Fprintln(c.stderr, "paylinks:", err)
		return exitFailure
	}
}

// unknownCommand refuses a command name, suggesting the closest known one.
func unknownCommand(parent, name string, known []string) error {
	e := usagef(parent, "unknown command %q", name)
	if strings.HasPrefix(name, "-") {
		e.msg = fmt.Sprintf("expected a command before the flag %q", name)
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := distance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		e.hint = fmt.Sprintf("Did you mean '%s %s'? Run '%s --help' for the commands.", parent, best, parent)
	} else {
		e.hint = fmt.Sprintf("Run '%s --help' for the commands.", parent)
	}
	return e
}

// distance is the Levenshtein distance, for "did you mean" hints.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// command is one leaf command's flag set and help text.
type command struct {
	name     string // "paylinks links list"
	synopsis string // "[flags]", "ID [flags]"
	help     string // description and examples
	fs       *flag.FlagSet
	global   map[string]bool // names of the global flags, listed apart in --help
}

func newCommand(name, synopsis, help string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by exit; help goes to stdout
	fs.Usage = func() {}
	return &command{name: name, synopsis: synopsis, help: help, fs: fs, global: map[string]bool{}}
}

// parse parses flags placed before, between or after the positional arguments ("links get ID
// --output json" works as well as "links get --output json ID"); after "--" all are positional.
func (c *cli) parse(cmd *command, args []string) ([]string, error) {
	var positional []string
	for {
		if err := cmd.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd.printHelp(c.stdout)
				return nil, errHelp
			}
			return nil, usagef(cmd.name, "%s", flagError(err))
		}
		rest := cmd.fs.Args()
		consumed := len(args) - len(rest)
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagError rewords the flag package's errors with the double dashes the help uses.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + name + " needs a value"
	}
	return strings.ReplaceAll(msg, "flag -", "flag --")
}

func (cmd *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s %s\n\n%s", cmd.name, cmd.synopsis, cmd.help)
	var own, global strings.Builder
	cmd.fs.VisitAll(func(f *flag.Flag) {
		b := &own
		if cmd.global[f.Name] {
			b = &global
		}
		typ, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(b, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(b, " %s", typ)
		}
		fmt.Fprintf(b, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if own.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", own.String())
	}
	if global.Len() > 0 {
		fmt.Fprintf(w, "\nGlobal flags:\n%s", global.String())
	}
}

// group dispatches the subcommands of "links" and "spec".
func (c *cli) group(name, help string, args []string, subs map[string]func([]string) error) error {
	known := slices.Sorted(maps.Keys(subs))
	if len(args) == 0 {
		return &usageError{cmd: name, msg: "missing subcommand",
			hint: fmt.Sprintf("Use one of: %s. Run '%s --help' for details.", strings.Join(known, ", "), name)}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, help)
		return errHelp
	}
	run, ok := subs[args[0]]
	if !ok {
		return unknownCommand(name, args[0], known)
	}
	return run(args[1:])
}
