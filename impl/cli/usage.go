package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageError is a wrong command line: exit 2 with a one-line hint.
type usageError struct {
	msg  string
	hint string // what to do next; default: point at the command's --help
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) *usageError {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// print writes the error as "paylinks links get: missing the link ID" and the hint, on two lines.
func (e *usageError) print(cmd *cobra.Command) {
	name := cmd.CommandPath()
	hint := e.hint
	if hint == "" {
		hint = fmt.Sprintf("Run '%s --help' for usage and examples.", name)
	}
	cmd.PrintErrf("%s: %s\n%s\n", name, e.msg, hint)
}

// errShown is an error whose message was already written; it only decides the exit code.
var errShown = errors.New("shown")

// errUsageShown is a usage error whose message was already written.
var errUsageShown = errors.New("usage shown")

// flagError rewords pflag's errors (cobra's FlagErrorFunc) in the house format.
func flagError(cmd *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		noValue  *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedShortnames() != "":
		return &usageError{msg: "unknown flag -" + notExist.GetSpecifiedName()}
	case errors.As(err, &notExist):
		return &usageError{msg: "unknown flag --" + notExist.GetSpecifiedName()}
	case errors.As(err, &noValue):
		return &usageError{msg: "flag --" + noValue.GetFlag().Name + " needs a value"}
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return &usageError{msg: fmt.Sprintf("--%s %q: %s", f.Name, invalid.GetValue(), valueProblem(f, invalid.Unwrap()))}
	}
	return &usageError{msg: err.Error()}
}

// valueProblem says what a flag of this type takes, rather than what strconv could not parse.
func valueProblem(f *pflag.Flag, err error) string {
	var ne *strconv.NumError
	if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
		return "out of range"
	}
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64":
		return "give a whole number"
	case "duration":
		return "give a duration such as 30s, 2m or 1h30m"
	case "bool":
		return "give true or false"
	}
	return err.Error()
}

// group makes cmd a group of commands: run without a known command, it refuses the command line
// (cobra would print its help and exit 0).
func (c *cli) group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var known []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				known = append(known, sub.Name())
			}
		}
		name := cmd.CommandPath()
		switch {
		case len(args) == 0 && !cmd.HasParent():
			return &usageError{msg: "no command given",
				hint: fmt.Sprintf("Use one of: %s. Run '%s --help' for details.", strings.Join(known, ", "), name)}
		case len(args) == 0:
			return &usageError{msg: "missing subcommand",
				hint: fmt.Sprintf("Use one of: %s. Run '%s --help' for details.", strings.Join(known, ", "), name)}
		case args[0] == "help":
			return cmd.Help()
		}
		e := usagef("unknown command %q", args[0])
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only for its own message
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			for i := range s {
				s[i] = fmt.Sprintf("'%s %s'", name, s[i])
			}
			e.hint = fmt.Sprintf("Did you mean %s? Run '%s --help' for the commands.", orList(s), name)
		} else {
			e.hint = fmt.Sprintf("Run '%s --help' for the commands.", name)
		}
		return e
	}
	return cmd
}

// noArgs refuses positional arguments, for a command that takes flags only.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (values are given with flags)", args[0])
	}
	return nil
}

// oneID takes one link id.
var oneID = oneArg("link ID", "the paylinks id of a link", "mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4", "paylinks links list")

// oneArg takes exactly one id: what names it in messages ("link ID"), desc and example say what to
// give, list is the command that shows them.
func oneArg(what, desc, example, list string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch len(args) {
		case 0:
			return &usageError{msg: "missing the " + what,
				hint: fmt.Sprintf("Give %s, e.g. '%s %s'; '%s' shows them.", desc, cmd.CommandPath(), example, list)}
		case 1:
			return nil
		default:
			return usagef("expected one %s, got %d: %s", what, len(args), strings.Join(args, " "))
		}
	}
}

// orList writes "a", "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
