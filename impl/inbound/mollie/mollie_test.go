package mollie_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/inbound/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	mollieadapter "github.com/paylinks/paylinks/impl/providers/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
)

func TestReadPaymentID(t *testing.T) {
	for _, tt := range []struct {
		body string
		want string // "" = malformed
	}{
		{"id=tr_7UhSN1zuXS", "tr_7UhSN1zuXS"},
		{"id=tr_7UhSN1zuXS&testmode=true", "tr_7UhSN1zuXS"},
		{"", ""},
		{"id=", ""},
		{"id=pl_1", ""},
		{"id=tr_1&id=tr_2", ""},
		{"id=tr_1%00", ""},
		{`{"id":"tr_1"}`, ""},
		{"id=%zz", ""},
	} {
		got, err := mollie.ReadPaymentID([]byte(tt.body))
		var r *inbound.Refusal
		if tt.want == "" && (!errors.As(err, &r) || r.Status != http.StatusBadRequest) || tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("%q: %q, %v", tt.body, got, err)
		}
	}
}

func TestVerifyAndDrift(t *testing.T) {
	p, _ := mollie.New(inbound.Deps{})
	acc, err := p.Verify(inbound.Call{Body: []byte("id=tr_7UhSN1zuXS")}, inbound.Keyring{})
	if err != nil || acc.DedupKey != "payment:tr_7UhSN1zuXS" || !acc.Repeatable || acc.Signature != "none" {
		t.Fatalf("%+v, %v", acc, err)
	}
	if d := p.Drift(inbound.Call{Body: []byte("id=tr_7UhSN1zuXS")}); d != nil {
		t.Errorf("drift of a documented body: %v", d)
	}
	if d := p.Drift(inbound.Call{Body: []byte("id=tr_1&id=tr_2")}); len(d) == 0 {
		t.Error("no drift for a repeated id")
	}
	if _, err := p.Verify(inbound.Call{Kind: "x", Body: []byte("id=tr_1")}, inbound.Keyring{}); err == nil {
		t.Error("a path below /webhooks/mollie was accepted")
	}
}

// FuzzReadPaymentID: any body gives an id of the documented form or a malformed refusal.
func FuzzReadPaymentID(f *testing.F) {
	for _, s := range []string{"id=tr_7UhSN1zuXS", "id=tr_1&id=tr_2", "id=%", "a=b;c", "id=tr_" + strings.Repeat("x", 70)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := mollie.ReadPaymentID(b)
		if err == nil && (!strings.HasPrefix(id, "tr_") || len(id) > 67 || strings.ContainsAny(id, "&=% ")) {
			t.Fatalf("read %q from %q", id, b)
		}
		var r *inbound.Refusal
		if err != nil && (!errors.As(err, &r) || r.Status != http.StatusBadRequest) {
			t.Fatalf("error %v", err)
		}
	})
}

const apiKey = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"

// End to end on loopback: a link created with paylinks' inbound URL as its webhookUrl, paid at the
// Mollie sandbox, which posts id=tr_… to paylinks: the link is re-read and its completion becomes
// one event of source provider_webhook; a forged id makes no event.
func TestMollieWebhookEndToEnd(t *testing.T) {
	sb := molliesandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 7, CheckoutBase: "http://127.0.0.1/checkout", Credentials: []string{apiKey}})
	upstream := httptest.NewServer(sb.Handler())
	t.Cleanup(upstream.Close)
	adapter, err := mollieadapter.New(mollieadapter.Config{BaseURL: upstream.URL, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	client, err := paylink.NewClient([]paylink.Provider{adapter})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := mollie.New(inbound.Deps{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := events.Open(context.Background(), events.Config{
		DataDir: t.TempDir(), Getter: client, Logger: log, PollSchedule: "1h",
		RenderLink: func(l paylink.Link) (json.RawMessage, error) {
			return json.Marshal(map[string]any{"id": l.ID, "status": l.Status})
		},
		Resolvers: inbound.Resolvers([]inbound.Provider{in}),
		Inbox:     events.InboxConfig{Idle: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(func() { svc.Close() })
	recv, err := inbound.New(inbound.Config{Events: svc, All: []inbound.ProviderInfo{{Name: "mollie", Live: true}}, Providers: []inbound.Provider{in}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := recv.Receive(r.Context(), "mollie", "", r.Header, r.Body); err != nil {
			var ref *inbound.Refusal
			if errors.As(err, &ref) {
				http.Error(w, ref.Reason, ref.Status)
				return
			}
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	t.Cleanup(hook.Close)

	ctx := context.Background()
	l, err := client.Create(ctx, paylink.CreateInput{Provider: "mollie", Description: "Bicycle tires", Amount: &paylink.Amount{Currency: "EUR", Minor: 2495},
		Options: mollieadapter.Options{WebhookURL: hook.URL + "/webhooks/mollie"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Observe(ctx, events.Observation{Link: l, Source: events.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	// A forged id: the links are re-read, nothing changed, no event.
	res, err := http.PostForm(hook.URL+"/webhooks/mollie", map[string][]string{"id": {"tr_forged1"}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("forged: %v %v", res, err)
	}
	res.Body.Close()
	if err := sb.Pay(l.ProviderLinkID); err != nil {
		t.Fatal(err)
	}
	sb.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		page, err := svc.ListEvents(ctx, events.EventFilter{LinkID: string(l.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 2 {
			if e := page.Items[0]; e.Type != events.LinkCompleted || e.Data.Source != events.SourceProviderWebhook {
				t.Fatalf("newest event %s from %s", e.Type, e.Data.Source)
			}
			break
		}
		if len(page.Items) > 2 || time.Now().After(deadline) {
			t.Fatalf("%d events for the link", len(page.Items))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
