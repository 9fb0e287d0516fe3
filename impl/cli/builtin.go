package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// This file adapts cobra's own commands (help, completion) to the house rules: examples in their
// help, and a wrong command line refused with exit 2 and a one-line hint.

// helpCmd adds cobra's `help [command]`, refusing an unknown topic (cobra's prints the usage of the
// whole tree and exits 0).
func (c *cli) helpCmd(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, help := range root.Commands() {
		if help.Name() != "help" {
			continue
		}
		show := help.Run
		help.Example = "  paylinks help links create"
		help.RunE = func(cmd *cobra.Command, args []string) error {
			if target, rest, err := cmd.Root().Find(args); err != nil || target == nil || len(rest) > 0 {
				return &usageError{msg: fmt.Sprintf("unknown help topic %q", strings.Join(args, " ")),
					hint: fmt.Sprintf("Run '%s --help' for the commands.", cmd.Root().Name())}
			}
			show(cmd, args)
			return nil
		}
	}
}

// completionExamples are the install lines of each shell, shown by `paylinks completion <shell> --help`.
var completionExamples = map[string]string{
	"bash": `  source <(paylinks completion bash)                              # this shell
  paylinks completion bash > /etc/bash_completion.d/paylinks      # every new shell (bash-completion)`,
	"zsh": `  source <(paylinks completion zsh)                               # this shell
  paylinks completion zsh > "${fpath[1]}/_paylinks"               # every new shell`,
	"fish": `  paylinks completion fish | source                               # this shell
  paylinks completion fish > ~/.config/fish/completions/paylinks.fish   # every new shell`,
	"powershell": `  paylinks completion powershell | Out-String | Invoke-Expression   # this shell; add it to $PROFILE for every new one`,
}

// completionCmd adds cobra's `completion bash|zsh|fish|powershell` to root, with examples, and
// refusing a missing or unknown shell or a stray argument as a usage error like every other
// command (cobra's own would print its help and exit 0, or exit 1).
func (c *cli) completionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() != "completion" {
			continue
		}
		c.group(cmd)
		cmd.Example = `  source <(paylinks completion bash)
  paylinks completion zsh > "${fpath[1]}/_paylinks"`
		for _, shell := range cmd.Commands() {
			shell.Args = noArgs
			shell.Example = completionExamples[shell.Name()]
		}
	}
}

// completeWith makes the shell complete the flag's value from a fixed list.
func completeWith(cmd *cobra.Command, flag string, values ...string) {
	err := cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	if err != nil {
		panic(err) // a flag name mistyped in this package: caught by every test run
	}
}
