package cli_test

import (
	"strings"
	"testing"
)

// TestUsageErrors checks the usage errors cobra detects, as the house words them: exit 2, nothing
// on stdout, and on stderr exactly two lines, "<command>: <what is wrong>" and a hint, never the
// whole usage.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		first     string // the first line of stderr
		hintHas   string // in the second
		hintHasnt string // not in the second
	}{
		{"no command", nil, "paylinks: no command given", "Use one of: completion, events, links, listen, providers, spec, version, webhooks", ""},
		{"unknown command", []string{"lnks"}, `paylinks: unknown command "lnks"`, "Did you mean 'paylinks links'?", ""},
		{"unknown command, nothing close", []string{"deploy"}, `paylinks: unknown command "deploy"`, "Run 'paylinks --help' for the commands.", "Did you mean"},
		{"unknown subcommand", []string{"links", "delete"}, `paylinks links: unknown command "delete"`, "Run 'paylinks links --help'", ""},
		{"unknown subcommand, two close", []string{"links", "lst"}, `paylinks links: unknown command "lst"`, "'paylinks links get' or 'paylinks links list'", ""},
		{"unknown shell", []string{"completion", "tcsh"}, `paylinks completion: unknown command "tcsh"`, "paylinks completion --help", ""},
		{"unknown help topic", []string{"help", "links", "delete"}, `paylinks help: unknown help topic "links delete"`, "paylinks --help", ""},
		{"missing subcommand", []string{"spec"}, "paylinks spec: missing subcommand", "Use one of: validate.", ""},
		{"missing shell", []string{"completion"}, "paylinks completion: missing subcommand", "bash, fish, powershell, zsh", ""},
		{"unknown flag at the root", []string{"--verbose"}, "paylinks: unknown flag --verbose", "paylinks --help", ""},
		{"unknown flag of a group", []string{"links", "--bogus", "list"}, "paylinks links: unknown flag --bogus", "paylinks links --help", ""},
		{"unknown flag of a command", []string{"providers", "--bogus"}, "paylinks providers: unknown flag --bogus", "Run 'paylinks providers --help' for usage and examples.", ""},
		{"unknown shorthand", []string{"links", "get", "-x", "id"}, "paylinks links get: unknown flag -x", "paylinks links get --help", ""},
		{"a global flag where there is none", []string{"spec", "validate", "--server", "http://x", "f.yaml"}, "paylinks spec validate: unknown flag --server", "", ""},
		{"flag without value", []string{"links", "close", "id", "--idempotency-key"}, "paylinks links close: flag --idempotency-key needs a value", "", ""},
		{"whole number", []string{"links", "list", "--page-size", "ten"}, `paylinks links list: --page-size "ten": give a whole number`, "", ""},
		{"number out of range", []string{"links", "list", "--limit", "99999999999999999999"}, `--limit "99999999999999999999": out of range`, "", ""},
		{"duration", []string{"providers", "--timeout", "5"}, `paylinks providers: --timeout "5": give a duration such as 30s`, "", ""},
		{"boolean", []string{"links", "create", "--provider", "hub2", "--reusable=maybe"}, `paylinks links create: --reusable "maybe": give true or false`, "", ""},
		{"key=value given twice", []string{"links", "create", "--provider", "hub2", "--metadata", "a=1", "--metadata", "a=2"}, `--metadata "a=2": key a given twice`, "", ""},
		{"missing argument", []string{"links", "close"}, "paylinks links close: missing the link ID", "'paylinks links close mijnklantportaal_", ""},
		{"argument where none is taken", []string{"version", "now"}, `paylinks version: unexpected argument "now"`, "paylinks version --help", ""},
		{"argument to a shell", []string{"completion", "zsh", "extra"}, `paylinks completion zsh: unexpected argument "extra"`, "", ""},
		{"bad output of version", []string{"version", "--output", "yaml"}, `paylinks version: --output "yaml": use table or json`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(map[string]string{}, tt.args...)
			if r.code != 2 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing on stdout", r.code, r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("stderr has %d lines, want the error and a hint:\n%s", len(lines), r.stderr)
			}
			if !strings.Contains(lines[0], tt.first) || !strings.Contains(lines[1], tt.hintHas) {
				t.Errorf("stderr\n%s\nwant %q, then a hint with %q", r.stderr, tt.first, tt.hintHas)
			}
			if tt.hintHasnt != "" && strings.Contains(lines[1], tt.hintHasnt) {
				t.Errorf("hint %q has %q", lines[1], tt.hintHasnt)
			}
		})
	}
}

// TestHelpEverywhere checks that every command of the tree, cobra's own included, explains itself
// with examples, on stdout, with exit 0.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"help"},
		{"help", "links", "create"},
		{"completion", "--help"},
		{"completion", "bash", "--help"},
		{"completion", "zsh", "--help"},
		{"completion", "fish", "--help"},
		{"completion", "powershell", "--help"},
		{"version", "--help"},
		{"help", "--help"},
		{"links", "help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := run(nil, args...)
			r.check(t, 0, []string{"Usage:", "Examples:\n  "}, nil)
			if r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
		})
	}
}
