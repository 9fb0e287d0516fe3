package mollie_test

import (
	"net/http"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/inbound"
	molliein "github.com/paylinks/paylinks/impl/inbound/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestWebhookConformance holds the sandbox's calls to what every sandbox that sends webhooks does.
// Mollie's links name their webhook URL, and its classic calls are not signed.
func TestWebhookConformance(t *testing.T) {
	sandboxtest.RunWebhookConformance(t, sandboxtest.WebhookHarness{
		SimHarness: harness,
		Subscribe: func(t *testing.T, _, _, target string) sandboxtest.Subscription {
			return sandboxtest.Subscription{Create: func(expiresAt time.Time) (string, any) {
				path, body := harness.Create(expiresAt)
				b := body.(api.CreatePaymentLinkRequest)
				b.WebhookUrl = &target
				return path, b
			}}
		},
		Paid: "payment." + string(api.PaymentStatusPaid),
	})
}

// Each call is what MOL-25 curates and paylinks' inbound side reads: a form with the payment's id
// and nothing else, free of drift from WebhookRequest.
func TestWebhookCallFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 3})
	rcv := sandboxtest.NewReceiver(t)
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Bicycle tires", Amount: eur("24.95"), WebhookUrl: &rcv.URL})
	if e.control(t, l.Id, "pay") != http.StatusOK {
		t.Fatal("pay refused")
	}
	c := rcv.Wait(t, 1)[0]
	in, _ := molliein.New(inbound.Deps{})
	call := inbound.Call{Header: c.Header, Body: c.Body}
	acc, err := in.Verify(call, inbound.Keyring{})
	payments := e.payments(t, l.Id)
	if err != nil || len(payments) != 1 || acc.DedupKey != "payment:"+payments[0].Id {
		t.Errorf("read %+v %v from %s", acc, err, c.Body)
	}
	if drift := in.Drift(call); drift != nil {
		t.Errorf("drift from WebhookRequest: %v", drift)
	}
	if string(c.Body) != "id="+payments[0].Id || c.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("call %q %v", c.Body, c.Header)
	}
}
