package kits_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paylinks/paylinks/impl/kits"
)

const module = "github.com/paylinks/paylinks/"

// root is the module's root directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLayering holds the imports to the design, over `go list -deps` (tests excluded): the domain
// depends on no provider code; an adapter on no other provider's code, no sandbox, no server, no
// CLI; the CLI speaks the unified API only; the validator and the sandboxes know no adapter.
func TestLayering(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		var own []string
		for _, d := range fields[1:] {
			if rest, ok := strings.CutPrefix(d, module); ok {
				own = append(own, rest)
			}
		}
		deps[strings.TrimPrefix(fields[0], module)] = own
	}
	checked := 0
	for pkg, ds := range deps {
		for _, d := range ds {
			if why := forbidden(pkg, d); why != "" {
				t.Errorf("%s imports %s: %s", pkg, d, why)
			}
		}
		checked++
	}
	if deps["impl/paylink"] == nil && deps["impl/server"] == nil || checked < 10 {
		t.Fatalf("go list found %d packages; is this the module root?", checked)
	}
}

// forbidden says why pkg must not depend on dep, or "" when it may. Paths are relative to the
// module.
func forbidden(pkg, dep string) string {
	adapter := func(p string) (string, bool) {
		name, ok := strings.CutPrefix(p, "impl/providers/")
		return name, ok && !strings.HasPrefix(name, "internal") && !strings.Contains(name, "/")
	}
	providerGen := func(p string) (string, bool) {
		name, ok := strings.CutPrefix(p, "gen/")
		return name, ok && name != "paylinks"
	}
	sandbox := strings.HasPrefix(dep, "impl/sandbox")
	server := dep == "impl/server" || dep == "impl/kits" || dep == "impl/cli"
	switch {
	case pkg == "impl/paylink":
		if _, ok := adapter(dep); ok || strings.HasPrefix(dep, "gen/") || strings.HasPrefix(dep, "impl/providers") ||
			dep == "impl/validation" || sandbox || server {
			return "the domain imports no gen package, adapter, validation, sandbox or server"
		}
	case strings.HasPrefix(pkg, "impl/providers/"):
		own, isAdapter := adapter(pkg)
		if other, ok := adapter(dep); ok && other != own {
			return "an adapter imports no other adapter (code adapters share lives in impl/providers/internal)"
		}
		if g, ok := providerGen(dep); ok && isAdapter && g != own {
			return "an adapter imports its own gen package only"
		}
		if sandbox || server {
			return "an adapter imports no sandbox, server or CLI"
		}
	case pkg == "impl/cli":
		if _, ok := adapter(dep); ok || strings.HasPrefix(dep, "impl/providers") || sandbox || dep == "impl/server" || dep == "impl/kits" {
			return "the CLI speaks the unified API only: no server, adapter or sandbox"
		}
		if _, ok := providerGen(dep); ok {
			return "the CLI imports no provider's gen package, only gen/paylinks"
		}
	case pkg == "impl/validation":
		if dep == "impl/paylink" || strings.HasPrefix(dep, "impl/providers") || sandbox || server {
			return "the validator knows no domain, adapter, sandbox or server"
		}
	case strings.HasPrefix(pkg, "impl/sandbox"):
		if _, ok := adapter(dep); ok || server {
			return "a sandbox imports no adapter, registry or server"
		}
	}
	return ""
}

// TestForbidden checks the rules of TestLayering on edges the tree does not (and must not) have.
func TestForbidden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pkg, dep string
		ok       bool
	}{
		{"impl/paylink", "gen/hub2", false},
		{"impl/paylink", "impl/validation", false},
		{"impl/paylink", "impl/sandbox", false},
		{"impl/paylink", "impl/server", false},
		{"impl/paylink", "impl/providers/hub2", false},
		{"impl/providers/hub2", "impl/providers/telness", false},
		{"impl/providers/hub2", "gen/telness", false},
		{"impl/providers/hub2", "impl/sandbox/hub2", false},
		{"impl/providers/hub2", "impl/server", false},
		{"impl/providers/hub2", "impl/cli", false},
		{"impl/providers/hub2", "impl/kits", false},
		{"impl/cli", "impl/server", false},
		{"impl/cli", "impl/providers/hub2", false},
		{"impl/cli", "impl/sandbox/hub2", false},
		{"impl/cli", "gen/hub2", false},
		{"impl/validation", "impl/paylink", false},
		{"impl/sandbox/hub2", "impl/providers/hub2", false},
		{"impl/providers/hub2", "gen/hub2", true},
		{"impl/providers/hub2", "impl/providers/internal/call", true},
		{"impl/providers/hub2", "impl/paylink", true},
		{"impl/cli", "gen/paylinks", true},
		{"impl/kits", "impl/sandbox/hub2", true},
		{"impl/server", "impl/kits", true},
	} {
		if got := forbidden(tt.pkg, tt.dep) == ""; got != tt.ok {
			t.Errorf("%s → %s allowed %v, want %v", tt.pkg, tt.dep, got, tt.ok)
		}
	}
}

// TestREADMEListsEveryProvider: the README's configuration table has each provider's base URL and
// credentials, and its provider-mapping table a column for each provider.
func TestREADMEListsEveryProvider(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	config := section(t, readme, "## Configuration of `paylinks serve`")
	mapping := section(t, readme, "### How providers map")
	header := ""
	for _, line := range strings.Split(mapping, "\n") {
		if strings.HasPrefix(line, "|") {
			header = line
			break
		}
	}
	for _, k := range kits.All {
		vars := []string{k.Env("base_url")}
		for _, c := range k.Credentials {
			vars = append(vars, k.Env(c.Name))
		}
		for _, v := range vars {
			if !strings.Contains(config, "`"+v+"`") {
				t.Errorf("the configuration table does not list %s", v)
			}
		}
		if !strings.Contains(header, "| "+k.Title+" |") && !strings.HasSuffix(strings.TrimSpace(header), "| "+k.Title+" |") {
			t.Errorf("the provider-mapping table has no column for %s (header %q)", k.Title, header)
		}
	}
}

// section is the text of the README section under heading, to the next heading of its level.
func section(t *testing.T, readme, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("the README has no %q section", heading)
	}
	level := heading[:strings.Index(heading, " ")+1]
	if end := strings.Index(rest, "\n"+level); end >= 0 {
		rest = rest[:end]
	}
	return rest
}
