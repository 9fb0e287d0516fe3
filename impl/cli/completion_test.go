package cli_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCompletionScripts checks that each shell gets a script that completes paylinks by asking the
// binary itself (cobra's __complete), so a new command or flag is completed without regenerating it.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		shell string
		has   []string // what registers the script with the shell
	}{
		{"bash", []string{"complete -o default -F __start_paylinks paylinks"}},
		{"zsh", []string{"#compdef paylinks", "compdef _paylinks paylinks"}},
		{"fish", []string{"complete -c paylinks"}},
		{"powershell", []string{"Register-ArgumentCompleter", "-CommandName 'paylinks'"}},
	}
	for _, tt := range tests {
		for _, flags := range [][]string{nil, {"--no-descriptions"}} {
			t.Run(strings.Join(append([]string{tt.shell}, flags...), " "), func(t *testing.T) {
				t.Parallel()
				r := run(nil, append([]string{"completion", tt.shell}, flags...)...)
				r.check(t, 0, append(tt.has, "__complete"), nil)
				if r.stderr != "" {
					t.Errorf("stderr %q, want nothing", r.stderr)
				}
				if tt.shell != "bash" {
					return
				}
				bash, err := exec.LookPath("bash")
				if err != nil {
					t.Skip("no bash to check the script's syntax")
				}
				cmd := exec.Command(bash, "-n")
				cmd.Stdin = strings.NewReader(r.stdout)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("bash -n: %v\n%s", err, out)
				}
			})
		}
	}
}

// TestComplete checks what the scripts get from the binary: the commands, subcommands and the
// values of the flags that take a fixed set.
func TestComplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string // after "__complete"; the last one is the word being completed
		want []string
	}{
		{[]string{""}, []string{"completion", "events", "help", "links", "listen", "providers", "spec", "version", "webhooks"}},
		{[]string{"li"}, []string{"links", "listen"}},
		{[]string{"we"}, []string{"webhooks"}},
		{[]string{"links", ""}, []string{"close", "create", "get", "list"}},
		{[]string{"links", "list", "--status", ""}, []string{"active", "completed", "expired", "closed", "unknown"}},
		{[]string{"links", "get", "--output", ""}, []string{"table", "json"}},
		{[]string{"version", "--output", ""}, []string{"table", "json"}},
		{[]string{"spec", ""}, []string{"validate"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"help", "links", ""}, []string{"close", "create", "get", "list"}},
		{[]string{"events", ""}, []string{"deliveries", "get", "list", "redeliver"}},
		{[]string{"events", "list", "--type", ""}, []string{"payment_link.created", "payment_link.completed", "payment_link.expired", "payment_link.closed", "webhook_endpoint.test"}},
		{[]string{"webhooks", ""}, []string{"endpoints", "register"}},
		{[]string{"webhooks", "endpoints", ""}, []string{"create", "delete", "deliveries", "get", "list", "recover", "rotate", "test", "update"}},
		{[]string{"webhooks", "endpoints", "deliveries", "we_1", "--status", ""}, []string{"pending", "delivered", "failed", "canceled"}},
		{[]string{"listen", "--events", ""}, []string{"payment_link.created", "payment_link.completed", "payment_link.expired", "payment_link.closed", "webhook_endpoint.test"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := run(nil, append([]string{"__complete"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			// One candidate a line ("name<TAB>description"), then ":<directive>".
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if name, _, _ := strings.Cut(line, "\t"); !strings.HasPrefix(name, ":") {
					got = append(got, name)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("candidates %q, want %q", got, tt.want)
			}
		})
	}
}
