package telness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/paylinks/paylinks/impl/paylink"
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
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Options{}.Validate()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var o Options
	if err := dec.Decode(&o); err != nil {
		return nil, decodeViolation(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, paylink.Invalid(optionsField, "must be one JSON object")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// decodeViolation points a JSON decoding error at the option it is about.
func decodeViolation(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return paylink.Invalid(optionsField+"/"+strings.ReplaceAll(te.Field, ".", "/"), fmt.Sprintf("must be a JSON %s", jsonKind(te.Type.Kind().String())))
	}
	if te != nil {
		return paylink.Invalid(optionsField, "must be a JSON object")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return paylink.Invalid(optionsField, "is not valid JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return paylink.Invalid(optionsField+"/"+name, "is not a Telness option (known: orderId, invoiceId, paymentProfileId, savePaymentProfile, successUrl, cancelUrl)")
	}
	return paylink.Invalid(optionsField, err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	default:
		return goKind
	}
}

// options reads CreateInput.Options, which the caller may give as Options or *Options.
func options(v any) (Options, error) {
	switch o := v.(type) {
	case Options:
		return o, o.Validate()
	case *Options:
		if o == nil {
			return Options{}, Options{}.Validate()
		}
		return *o, o.Validate()
	case nil:
		return Options{}, Options{}.Validate()
	default:
		return Options{}, paylink.Invalid(optionsField, fmt.Sprintf("options for telness must be telness.Options, not %T", v))
	}
}
