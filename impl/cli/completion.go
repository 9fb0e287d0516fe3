package cli

import (
	"github.com/spf13/cobra"
)

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
