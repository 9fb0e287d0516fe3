package cli_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyTheUnifiedAPI holds the package's rule: the command line speaks the unified API
// through gen/paylinks like any other client, so it imports no server, provider adapter,
// sandbox, provider gen package, nor the events engine (which pulls the store); the pure signing
// code of impl/events/stdwebhook is fine.
func TestImportsOnlyTheUnifiedAPI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/paylinks/paylinks/impl/cli").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/paylinks/paylinks/"
	forbidden := []string{"impl/server", "impl/providers", "impl/sandbox", "impl/events", "gen/"}
	allowed := map[string]bool{"gen/paylinks": true, "impl/events/stdwebhook": true}
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, mod)
		if !ok || allowed[rel] {
			continue
		}
		for _, f := range forbidden {
			if rel == f || strings.HasPrefix(rel, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("impl/cli depends on %s", pkg)
			}
		}
	}
}
