package telness

import (
	"encoding/json"
	"net/url"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// optionsField is where Telness options live in the unified create body.
const optionsField = "/providerOptions/telness"

// Options are the Telness-specific parts of a create: the order or invoice the link collects for
// (exactly one), and the optional payment-profile and redirect settings. The JSON names are those
// of the unified API's TelnessOptions.
type Options struct {
	// OrderID is the order to collect payment for. Exactly one of OrderID and InvoiceID is set.
	OrderID string `json:"orderId,omitempty"`
	// InvoiceID is the invoice to collect payment for.
	InvoiceID string `json:"invoiceId,omitempty"`
	// PaymentProfileID is a saved payment profile of the customer to prefill on the payment page.
	PaymentProfileID string `json:"paymentProfileId,omitempty"`
	// SavePaymentProfile saves the payment method used as a payment profile of the customer.
	SavePaymentProfile bool `json:"savePaymentProfile,omitempty"`
	// SuccessURL is where the payer would be sent after paying. Refused by Create as unsupported:
	// Telness does not document the field's name and its links do not echo it (TEL-10).
	SuccessURL string `json:"successUrl,omitempty"`
	// CancelURL is where the payer would be sent on cancelling; refused like SuccessURL.
	CancelURL string `json:"cancelUrl,omitempty"`
}

// Validate checks what Telness would refuse, with violations pointing into the unified create
// body (/providerOptions/telness/…).
func (o Options) Validate() error {
	var v []paylink.Violation
	if (o.OrderID == "") == (o.InvoiceID == "") {
		v = append(v, paylink.Violation{Field: optionsField + "/orderId", Reason: "exactly one of orderId and invoiceId must be set: the link collects for that order or invoice"})
	}
	for _, u := range []struct{ name, value string }{{"successUrl", o.SuccessURL}, {"cancelUrl", o.CancelURL}} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || p.Scheme == "" || p.Host == "" {
			v = append(v, paylink.Violation{Field: optionsField + "/" + u.name, Reason: "must be an absolute URL such as https://shop.example.com/done"})
		}
	}
	if len(v) > 0 {
		return &paylink.ValidationError{Violations: v}
	}
	return nil
}

// DecodeOptions decodes the JSON of providerOptions.telness into Options and validates them.
// Unknown fields are refused rather than ignored, so a misspelt option is never silently lost.
func (a *Adapter) DecodeOptions(data json.RawMessage) (any, error) {
	return call.DecodeOptions[Options](Name, optionsField, data, Options.Validate)
}

// options reads CreateInput.Options, which the caller may give as Options or *Options, validated.
func options(v any) (Options, error) {
	o, err := call.OptionsOf[Options](Name, optionsField, v)
	if err != nil {
		return o, err
	}
	return o, o.Validate()
}
