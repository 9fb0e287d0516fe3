package events

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Provider webhook secrets are sealed at rest under the secrets key, bound to their subscription,
// and a replaced secret stays accepted for the time given.
func TestProviderWebhookSecrets(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(c *Config) { c.DataDir = dir; c.SecretsKey = "test key" })
	ctx := context.Background()
	w := ProviderWebhook{Provider: "hub2", Name: "default", RemoteID: "wh_1", URL: "https://p.example/webhooks/hub2", Events: []string{"payment.succeeded"}, Secret: "s3cr3t-one"}
	must(t, e.svc.SaveProviderWebhook(ctx, w, 24*time.Hour))
	raw, err := e.svc.Store().ProviderWebhooks(ctx, "hub2")
	must(t, err)
	if len(raw) != 1 || strings.Contains(raw[0].Secret, "s3cr3t") || !strings.HasPrefix(raw[0].Secret, "aesgcm1:") {
		t.Fatalf("stored secret %q is not sealed", raw[0].Secret)
	}
	got, err := e.svc.ProviderWebhooks(ctx, "hub2")
	must(t, err)
	if len(got) != 1 || got[0].Secret != "s3cr3t-one" || got[0].PreviousSecret != "" || got[0].RemoteID != "wh_1" {
		t.Fatalf("read back %+v", got)
	}
	// A new secret: the old one stays accepted for 24 h.
	e.clock.Advance(time.Hour)
	w.Secret = "s3cr3t-two"
	must(t, e.svc.SaveProviderWebhook(ctx, w, 24*time.Hour))
	got, _ = e.svc.ProviderWebhooks(ctx, "hub2")
	if got[0].Secret != "s3cr3t-two" || got[0].PreviousSecret != "s3cr3t-one" || !got[0].PreviousSecretUntil.Equal(t0.Add(25*time.Hour)) || !got[0].CreatedAt.Equal(t0) {
		t.Fatalf("after rotation %+v", got[0])
	}
	e.clock.Advance(24 * time.Hour)
	if got, _ = e.svc.ProviderWebhooks(ctx, ""); got[0].PreviousSecret != "" {
		t.Fatal("the previous secret outlived its time")
	}
	// A sealed secret copied to another subscription does not open there.
	raw, _ = e.svc.Store().ProviderWebhooks(ctx, "hub2")
	raw[0].Name = "other"
	must(t, e.svc.Store().PutProviderWebhook(ctx, raw[0]))
	if _, err := e.svc.ProviderWebhooks(ctx, "hub2"); err == nil {
		t.Fatal("a secret moved to another subscription opened")
	}
	if err := e.svc.SaveProviderWebhook(ctx, ProviderWebhook{Provider: "hub2", Name: "x"}, 0); err == nil {
		t.Fatal("saved without a secret")
	}
}
