package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/paylinks/paylinks/impl/events/netguard"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// The embedded sandboxes call paylinks' own inbound endpoints (/webhooks/<provider>), in process:
// at start paylinks subscribes on each sandbox with a registration API, and links it creates on a
// sandbox whose links name their webhook URL (Mollie) name its inbound URL. A payment on a checkout
// page then reaches the events engine at once; the poller stays the safety net.

// sandboxRegistrationTimeout bounds the registration at start; the sandboxes answer in process.
const sandboxRegistrationTimeout = 30 * time.Second

// sandboxWebhookClient is the client the sandboxes make their webhook calls with: calls to this
// server's public URL are served in process (the URL need not be reachable from the server
// itself, behind a proxy say); calls elsewhere (a URL subscribed through the passthrough) go out
// over the network, without following redirects, under the policy of paylinks' own deliveries:
// in a live deployment, public addresses only unless PAYLINKS_WEBHOOK_ALLOW_PRIVATE, so that an
// API key cannot have a sandbox call into paylinks' own network.
func (s *Server) sandboxWebhookClient() *http.Client {
	public, _ := url.Parse(s.cfg.PublicURL)
	guard := netguard.Policy{AllowPrivate: s.cfg.Events.AllowPrivate || !s.live}
	return &http.Client{
		Timeout:       sandbox.DefaultWebhookTimeout,
		Transport:     selfOrNetwork{s: s, self: public, network: guard.Transport()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// selfOrNetwork sends requests to the server's own origin to its handler, others to the network.
type selfOrNetwork struct {
	s       *Server
	self    *url.URL
	network http.RoundTripper
}

func (t selfOrNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.self != nil && r.URL.Scheme == t.self.Scheme && r.URL.Host == t.self.Host && t.s.echo != nil {
		return inProcess{t.s.echo}.RoundTrip(r)
	}
	return t.network.RoundTrip(r)
}

// registerSandboxes subscribes paylinks on the sandboxes that have a registration API. A failure
// is logged: the poller still sees every change, only later.
func (s *Server) registerSandboxes() {
	ctx, cancel := context.WithTimeout(context.Background(), sandboxRegistrationTimeout)
	defer cancel()
	st, err := s.inbound.RegisterSandboxes(ctx)
	if err != nil {
		s.log.Error("sandbox webhooks not subscribed; the poller still sees every change", "error", err.Error())
		return
	}
	for _, x := range st {
		s.log.Debug("sandbox webhooks subscribed", "provider", x.Provider, "subscriptions", len(x.Subs))
	}
}

// linkWebhooks are the unified API's setters of a link's webhook URL, for the providers on their
// sandbox whose links name the URL they call.
func (s *Server) linkWebhooks() map[string]func(any) any {
	out := map[string]func(any) any{}
	for _, kit := range s.cfg.Kits {
		p := s.providers[kit.Name]
		if kit.LinkWebhook == nil || p == nil || p.sim == nil {
			continue
		}
		hook, set := s.cfg.PublicURL+"/webhooks/"+kit.Name, kit.LinkWebhook
		out[kit.Name] = func(options any) any { return set(options, hook) }
	}
	return out
}
