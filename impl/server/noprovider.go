package server

import (
	"fmt"
	"strings"
)

// noProvider is a request for a provider this server does not serve: unknown, or known but
// disabled because the deployment is live and left it unconfigured.
type noProvider struct {
	name     string
	disabled bool
	enabled  []string
}

func (e *noProvider) Error() string {
	name := e.name
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	if e.disabled {
		return fmt.Sprintf("provider %q is not enabled in this deployment: it has no base URL while other providers are live (configure it, or name it in PAYLINKS_SANDBOX_PROVIDERS to run it on its sandbox)", name)
	}
	return fmt.Sprintf("no provider %q (providers: %s)", name, strings.Join(e.enabled, ", "))
}

// unknownProvider is the error of a request for a provider this server does not serve.
func (s *Server) unknownProvider(name string) error {
	return &noProvider{name: name, disabled: s.disabled[name], enabled: s.enabledNames()}
}

// enabledNames are the providers served, in the kits' order.
func (s *Server) enabledNames() []string {
	var out []string
	for _, k := range s.cfg.Kits {
		if _, ok := s.providers[k.Name]; ok {
			out = append(out, k.Name)
		}
	}
	return out
}
