package mijnklantportaal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/inbound"
	mkpin "github.com/paylinks/paylinks/impl/inbound/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	mkp "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestWebhookConformance holds the sandbox's calls to what every sandbox that sends webhooks does,
// verified as paylinks verifies MijnKlantportaal's calls.
func TestWebhookConformance(t *testing.T) {
	sandboxtest.RunWebhookConformance(t, sandboxtest.WebhookHarness{
		SimHarness: harness,
		Subscribe: func(t *testing.T, baseURL, credential, target string) sandboxtest.Subscription {
			c := client(t, baseURL, credential)
			var sub sandboxtest.Subscription
			for _, typ := range []api.WebhookEventType{api.WebhookEventTypePaymentLinkPaid, api.WebhookEventTypePaymentLinkExpired} {
				sub.Secrets = append(sub.Secrets, createRecord(t, c, typ, target).Secret)
			}
			return sub
		},
		Verify: func(h http.Header, body []byte, secrets []string) error {
			if _, ok := mkpin.VerifySignature(h.Get(mkpin.Header), body, secrets); !ok {
				return errors.New("X-Webhook-Signature matches no secret")
			}
			return nil
		},
		Paid:    string(api.WebhookEventTypePaymentLinkPaid),
		Expired: string(api.WebhookEventTypePaymentLinkExpired),
	})
}

func client(t *testing.T, baseURL, credential string) *api.ClientWithResponses {
	t.Helper()
	c, err := api.NewClientWithResponses(baseURL, api.WithHTTPClient(sandboxtest.Client(t, baseURL, api.GetSpec)), api.WithRequestEditorFn(bearer(credential)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createRecord(t *testing.T, c *api.ClientWithResponses, typ api.WebhookEventType, url string) api.WebhookRecord {
	t.Helper()
	res, err := c.CreateWebhookRecordWithResponse(context.Background(), api.CreateWebhookRecordRequest{Url: url, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("create record: %d %s", res.StatusCode(), res.Body)
	}
	return *res.JSON201
}

// The webhook-record operations as documented: create one record per type (the secret in the
// answer), get it back with its secret, list in pages of 15; refusals in Laravel's shapes.
func TestWebhookRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	ctx := context.Background()
	rec := createRecord(t, e.client, api.WebhookEventTypePaymentLinkPaid, "https://paylinks.example.com/webhooks/mijnklantportaal/payment-link-paid")
	if !strings.HasPrefix(rec.Id, "wbh_") || len(rec.Id) != len("wbh_")+14 || len(rec.Secret) != 20 || rec.Type != "payment-link-paid" ||
		rec.Url != "https://paylinks.example.com/webhooks/mijnklantportaal/payment-link-paid" || rec.CreatedAt.Format(time.RFC3339) != "2024-04-29T21:00:00+02:00" {
		t.Errorf("record %+v", rec)
	}
	other := createRecord(t, e.client, api.WebhookEventTypePaymentLinkPaid, "https://paylinks.example.com/other")
	if other.Id == rec.Id || other.Secret == rec.Secret {
		t.Error("two records share an id or a secret")
	}
	got, err := e.client.GetWebhookRecordWithResponse(ctx, rec.Id)
	if err != nil || got.JSON200 == nil || *got.JSON200 != rec {
		t.Fatalf("get: %v %s", err, got.Body)
	}
	missing, err := e.client.GetWebhookRecordWithResponse(ctx, "wbh_abc12345def678")
	if err != nil || missing.JSON404 == nil || missing.JSON404.Message != "No Webhook can be found for the given ID" {
		t.Errorf("get unknown: %v %d %s", err, missing.StatusCode(), missing.Body)
	}

	for range 14 {
		createRecord(t, e.client, api.WebhookEventTypeInvoicePaid, "https://paylinks.example.com/invoices")
	}
	first, err := e.client.ListWebhookRecordsWithResponse(ctx, nil)
	if err != nil || first.JSON200 == nil {
		t.Fatal(err)
	}
	p := first.JSON200
	if len(p.Data) != mkp.PerPage || p.Data[0] != rec || p.NextPageUrl == nil || *p.From != 1 || *p.To != 15 || p.PerPage != 15 ||
		p.Path != e.srv.URL+mount+"/webhooks" || p.FirstPageUrl != e.srv.URL+mount+"/webhooks?page=1" {
		t.Errorf("page 1: %s", first.Body)
	}
	second, err := e.client.ListWebhookRecordsWithResponse(ctx, &api.ListWebhookRecordsParams{Page: ptr(2)})
	if err != nil || second.JSON200 == nil || len(second.JSON200.Data) != 1 || second.JSON200.NextPageUrl != nil || *second.JSON200.PrevPageUrl != e.srv.URL+mount+"/webhooks?page=1" {
		t.Errorf("page 2: %v %s", err, second.Body)
	}

	for _, tt := range []struct{ name, body, field string }{
		{"no url", `{"type":"payment-link-paid"}`, "url"},
		{"not a url", `{"url":"paylinks","type":"payment-link-paid"}`, "url"},
		{"not http", `{"url":"ftp://paylinks.example.com/x","type":"payment-link-paid"}`, "url"},
		{"unknown type", `{"url":"https://paylinks.example.com/x","type":"payment-link-closed"}`, "type"},
		{"no type", `{"url":"https://paylinks.example.com/x"}`, "type"},
	} {
		res, err := e.client.CreateWebhookRecordWithBodyWithResponse(ctx, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON422 == nil || res.JSON422.Errors == nil || len((*res.JSON422.Errors)[tt.field]) == 0 {
			t.Errorf("%s: %d %s, want 422 naming %s", tt.name, res.StatusCode(), res.Body, tt.field)
		}
	}
	res, err := e.client.ListWebhookRecordsWithResponse(ctx, nil, bearer("wrong"))
	if err != nil || res.StatusCode() != http.StatusUnauthorized {
		t.Errorf("list with a wrong token: %v %d", err, res.StatusCode())
	}
	if list, _ := e.client.ListWebhookRecordsWithResponse(ctx, &api.ListWebhookRecordsParams{Page: ptr(3)}); list.JSON200 == nil || len(list.JSON200.Data) != 0 {
		t.Errorf("page 3: %s", list.Body)
	}
}

// The calls as MKP-32 assumes them: JSON {id, type, data: the link as GET answers it}, signed in
// X-Webhook-Signature with the record's secret (the hex HMAC-SHA256 form), accepted by paylinks'
// verifier and free of drift from the curated WebhookDelivery; one call per record of the type,
// none for other types.
func TestWebhookCallFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 5)
	rcv := sandboxtest.NewReceiver(t)
	other := sandboxtest.NewReceiver(t)
	keys := inbound.Keyring{}
	for _, typ := range []api.WebhookEventType{api.WebhookEventTypePaymentLinkCreated, api.WebhookEventTypePaymentLinkPaid, api.WebhookEventTypePaymentLinkExpired} {
		keys.Add(string(typ), createRecord(t, e.client, typ, rcv.URL+"/"+string(typ)).Secret)
	}
	second := createRecord(t, e.client, api.WebhookEventTypePaymentLinkPaid, other.URL)
	createRecord(t, e.client, api.WebhookEventTypeInvoicePaid, other.URL)
	verifier, err := mkpin.New(inbound.Deps{})
	if err != nil {
		t.Fatal(err)
	}

	link := e.create(t, api.CreatePaymentLinkRequest{Description: "Contribution costs", Amount: "12.95", ExpiresAt: date("2024-05-14")})
	check := func(c sandboxtest.Call, typ api.WebhookEventType, status api.PaymentLinkStatus) {
		t.Helper()
		if ct := c.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", typ, ct)
		}
		call := inbound.Call{Kind: string(typ), Header: c.Header, Body: c.Body}
		acc, err := verifier.Verify(call, keys)
		if err != nil || acc.Signature != mkpin.FormHex {
			t.Errorf("%s: verified %+v %v, want the hex HMAC form", typ, acc, err)
		}
		if drift := verifier.Drift(call); drift != nil {
			t.Errorf("%s: drift from WebhookDelivery: %v", typ, drift)
		}
		var body struct {
			ID   string          `json:"id"`
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil || body.ID != link.Id || body.Type != string(typ) {
			t.Errorf("%s: body %s", typ, c.Body)
		}
		if ids := mkpin.ReadLinks(c.Body); len(ids) != 1 || ids[0] != paylink.NewID(mkp.Name, link.Id) {
			t.Errorf("%s: paylinks reads the links %v", typ, ids)
		}
		got := e.get(t, link.Id)
		if got.JSON200.Status != status || string(compact(t, body.Data)) != string(compact(t, got.Body)) {
			t.Errorf("%s: data\n%s\nwant the link as GET answers it\n%s", typ, body.Data, got.Body)
		}
	}
	check(rcv.Wait(t, 1)[0], api.WebhookEventTypePaymentLinkCreated, api.PaymentLinkStatusOpen)
	if err := e.sb.Pay(link.Id); err != nil {
		t.Fatal(err)
	}
	check(rcv.Wait(t, 2)[1], api.WebhookEventTypePaymentLinkPaid, api.PaymentLinkStatusPaid)
	// The other paid record is called with its own secret; the invoice record is not called.
	c := other.Wait(t, 1)[0]
	if _, ok := mkpin.VerifySignature(c.Header.Get(mkp.SignatureHeader), c.Body, []string{second.Secret}); !ok {
		t.Error("the second record's call is not signed with its secret")
	}
	if got := c.Header.Get(mkp.SignatureHeader); got != mkp.Sign(c.Body, second.Secret) {
		t.Errorf("signature %q", got)
	}

	expiring := e.create(t, api.CreatePaymentLinkRequest{Description: "Expiring", Amount: "1.00", ExpiresAt: date("2024-04-30")})
	link = expiring
	rcv.Wait(t, 3) // its created call, before the clock moves
	if err := e.clock.Advance(3 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	check(rcv.Wait(t, 4)[3], api.WebhookEventTypePaymentLinkExpired, api.PaymentLinkStatusExpired)
	e.sb.Webhooks().Wait()
	if n, m := len(rcv.Calls()), len(other.Calls()); n != 4 || m != 1 {
		t.Errorf("%d and %d calls, want created, paid, created, expired and one paid", n, m)
	}
}

// A reusable link stays open after a payment, and each payment calls payment-link-paid.
func TestWebhookReusablePaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 6)
	rcv := sandboxtest.NewReceiver(t)
	createRecord(t, e.client, api.WebhookEventTypePaymentLinkPaid, rcv.URL)
	link := e.create(t, api.CreatePaymentLinkRequest{Description: "Membership", Amount: "25.00", Reusable: ptr(true)})
	for i := range 2 {
		if err := e.sb.Pay(link.Id); err != nil {
			t.Fatal(err)
		}
		var body struct{ Data api.PaymentLink }
		if err := json.Unmarshal(rcv.Wait(t, i+1)[i].Body, &body); err != nil || body.Data.Status != api.PaymentLinkStatusOpen {
			t.Errorf("payment %d: %v %+v", i+1, err, body.Data)
		}
	}
	// Failed attempts show nowhere at MijnKlantportaal: no call.
	if err := e.sb.Fail(link.Id); err != nil {
		t.Fatal(err)
	}
	e.sb.Webhooks().Wait()
	if n := len(rcv.Calls()); n != 2 {
		t.Errorf("%d calls", n)
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, _ := json.Marshal(v)
	return out
}
