package cli_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/inbound/inboundtest"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/server"
)

// startLive runs a live-mode server on Hub2 and MijnKlantportaal sandboxes served on their own
// (behind fakes of their registration APIs), and returns its URL and the fakes.
func startLive(t *testing.T, allowPrivate bool) (string, *inboundtest.MKP, *inboundtest.Hub2) {
	t.Helper()
	mkp := &inboundtest.MKP{Fallback: mkpsandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 1}).Handler()}
	hub2 := &inboundtest.Hub2{Fallback: hub2sandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 2}).Handler()}
	m, h := httptest.NewServer(mkp), httptest.NewServer(hub2)
	t.Cleanup(m.Close)
	t.Cleanup(h.Close)
	// The other providers stay on their sandboxes, as a live deployment must ask for.
	url := startServerWith(t, server.Config{APIKeys: []string{"k"}, Events: server.EventsConfig{AllowPrivate: allowPrivate}, SandboxProviders: []string{"all"},
		Providers: map[string]server.ProviderConfig{
			"mijnklantportaal": {BaseURL: m.URL, Credentials: map[string]string{"token": "t"}},
			"hub2":             {BaseURL: h.URL, Credentials: map[string]string{"api_key": "a", "merchant_id": "m", "environment": "sandbox"}},
		}})
	return url, mkp, hub2
}

// startServerWith runs a real paylinks server made from cfg on a loopback port until the test
// ends, and returns its URL.
func startServerWith(t *testing.T, cfg server.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Logger = ln.Addr().String(), server.NewLogger(io.Discard, 0)
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestWebhooksRegister(t *testing.T) {
	t.Parallel()
	url, mkp, hub2 := startLive(t, true)
	env := map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": "k"}
	run(env, "webhooks", "register").check(t, 0, []string{
		"PROVIDER", "REGISTRATION", "SECRETS", "OUTCOME",
		"mijnklantportaal", "payment-link-paid", "created", url + "/webhooks/mijnklantportaal/payment-link-paid",
		"hub2", "payment.succeeded,payment.failed,payment_intent.succeeded", url + "/webhooks/hub2",
		"telness", "sends no webhooks",
	}, nil)
	if mkp.Creates() != 3 || len(hub2.Webhooks()) != 1 {
		t.Fatalf("%d records, %d hub2 subscriptions", mkp.Creates(), len(hub2.Webhooks()))
	}
	// Again, one provider, as JSON: nothing new, no secret shown.
	r := run(env, "webhooks", "register", "--providers", "mijnklantportaal", "--output", "json")
	list := decode[api.ProviderWebhooksList](t, r)
	if len(list.Data) != 1 || len(list.Data[0].Subscriptions) != 3 || *list.Data[0].Subscriptions[0].Outcome != "existing" || list.Data[0].SecretSource != "stored" {
		t.Fatalf("second run: %s", r.stdout)
	}
	for _, rec := range mkp.Records() {
		if strings.Contains(r.stdout, rec.Secret) {
			t.Fatalf("a secret is shown: %s", r.stdout)
		}
	}
	if mkp.Creates() != 3 {
		t.Fatalf("the second run created records (%d)", mkp.Creates())
	}
	run(env, "webhooks", "register", "extra").check(t, 2, nil, []string{"register"})
	run(env, "webhooks", "register", "--providers", "stripe").check(t, 1, nil, []string{"stripe"})
}

func TestWebhooksRegisterRefusesAPrivateURL(t *testing.T) {
	t.Parallel()
	url, mkp, _ := startLive(t, false)
	run(map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": "k"}, "webhooks", "register").check(t, 1, nil, []string{"PAYLINKS_PUBLIC_URL"})
	if mkp.Creates() != 0 {
		t.Fatal("registered with a loopback public URL")
	}
}

// On the sandboxes there is nothing to register: the command says so and succeeds.
func TestWebhooksRegisterSandbox(t *testing.T) {
	t.Parallel()
	run(sandboxEnv(startServer(t)), "webhooks", "register").check(t, 0, []string{"hub2", "none", "embedded sandbox"}, nil)
}
