package openapi_test

import (
	"slices"
	"testing"
)

// The webhook facts of the providers' documentation that paylinks' inbound side relies on: a
// change to one of them must be a deliberate, logged curation (MKP-29.., HUB2-36.., MOL-25).
func TestWebhookFacts(t *testing.T) {
	t.Run("mijnklantportaal records", func(t *testing.T) {
		doc := load(t, "mijnklantportaal.yaml")
		types := doc.Components.Schemas["WebhookEventType"].Value.Enum
		if len(types) != 23 {
			t.Errorf("%d documented event types, want the 23 of the create page", len(types))
		}
		for _, want := range []string{"payment-link-created", "payment-link-expired", "payment-link-paid"} {
			if !slices.Contains(types, any(want)) {
				t.Errorf("event type %s missing", want)
			}
		}
		req := doc.Components.Schemas["CreateWebhookRecordRequest"].Value
		if !slices.Equal(slices.Sorted(slices.Values(req.Required)), []string{"type", "url"}) {
			t.Errorf("create requires %v, want url and type", req.Required)
		}
		rec := doc.Components.Schemas["WebhookRecord"].Value
		if !slices.Contains(rec.Required, "secret") || rec.Properties["id"].Value.Pattern != "^wbh_" {
			t.Errorf("a record carries its secret and a wbh_ id: required %v", rec.Required)
		}
		for _, p := range []string{"/webhooks", "/webhooks/{webhookId}"} {
			if doc.Paths.Value(p) == nil {
				t.Errorf("path %s missing", p)
			}
		}
		// GET answers carry the secret too (so a restart recovers it): list items are records.
		list := doc.Paths.Value("/webhooks").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if list.Properties["data"].Value.Items.Ref != "#/components/schemas/WebhookRecord" {
			t.Error("list items are not WebhookRecord")
		}
		if h := doc.Components.Headers["XWebhookSignature"]; h == nil || !h.Value.Required {
			t.Error("X-Webhook-Signature header not modelled")
		}
		// Nothing of the delivery body is documented: nothing may be required of it.
		if d := doc.Components.Schemas["WebhookDelivery"].Value; len(d.Required) != 0 {
			t.Errorf("WebhookDelivery requires %v of an undocumented body", d.Required)
		}
	})
	t.Run("hub2 subscription", func(t *testing.T) {
		doc := load(t, "hub2.yaml")
		op := doc.Paths.Value("/webhooks").Post
		if op == nil || op.OperationID != "CreateWebhook" {
			t.Fatal("POST /webhooks missing")
		}
		if got := doc.Components.Schemas["Webhook"].Value.Required; !slices.Equal(got, []string{"secret"}) {
			t.Errorf("Webhook requires %v, want only the documented secret", got)
		}
		req := doc.Components.Schemas["CreateWebhookRequest"].Value
		if !slices.Equal(req.Required, []string{"url", "events"}) {
			t.Errorf("create requires %v", req.Required)
		}
		h := doc.Components.Headers["Hub2-Signature"]
		if h == nil {
			h = doc.Components.Headers["Hub2Signature"]
		}
		if h == nil || h.Value.Schema.Value.Pattern != "^s1=[0-9A-Fa-f]+(,s0=[0-9A-Fa-f]+)?$" {
			t.Error("Hub2-Signature header not modelled as s1=…[,s0=…]")
		}
		for _, name := range []string{"WebhookEvent", "WebhookEventData"} {
			if s := doc.Components.Schemas[name].Value; len(s.Required) != 0 {
				t.Errorf("%s requires %v of an undocumented body", name, s.Required)
			}
		}
	})
	t.Run("mollie classic webhook", func(t *testing.T) {
		doc := load(t, "mollie.yaml")
		w := doc.Components.Schemas["WebhookRequest"].Value
		if !slices.Equal(w.Required, []string{"id"}) || w.Properties["id"].Value.Pattern != "^tr_[A-Za-z0-9]+$" {
			t.Errorf("WebhookRequest %+v, want a required tr_ id", w)
		}
	})
}
