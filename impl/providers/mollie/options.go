package mollie

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// optionsField is where Mollie's options sit in the unified create body.
const optionsField = "/providerOptions/mollie"

// Options are the Mollie-specific parts of a create, passed as CreateInput.Options (as Options or
// *Options). The JSON names are Mollie's own.
type Options struct {
	// RedirectURL is where the customer goes after paying (absolute http(s) URL); without it Mollie
	// shows a generic message.
	RedirectURL string `json:"redirectUrl,omitempty"`
	// WebhookURL is where Mollie POSTs id=<payment id> when a payment made through the link
	// changes status (absolute http(s) URL, reachable from Mollie).
	WebhookURL string `json:"webhookUrl,omitempty"`
	// AllowedMethods limits the payment methods offered (ideal, creditcard, …); empty means every
	// method enabled on the website profile.
	AllowedMethods []string `json:"allowedMethods,omitempty"`
	// MinimumAmount, for links without an amount only, is the least the customer may pay.
	MinimumAmount *Money `json:"minimumAmount,omitempty"`
	// SequenceType "first" makes a payment on the link also set up a mandate for recurring
	// payments; "oneoff" (the default) is a regular payment.
	SequenceType string `json:"sequenceType,omitempty"`
	// CustomerID, only with SequenceType "first", is the customer (cst_…) the mandate is for.
	CustomerID string `json:"customerId,omitempty"`
}

// Money is an amount as Mollie writes it: a currency and a decimal string with exactly the
// currency's decimals ("10.00" EUR, "1000" JPY).
type Money struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// optionFields are the JSON names of Options, for error messages and field mapping.
var optionFields = map[string]struct{}{
	"redirectUrl": {}, "webhookUrl": {}, "allowedMethods": {}, "minimumAmount": {}, "sequenceType": {}, "customerId": {},
}

var customerID = regexp.MustCompile(`^cst_[A-Za-z0-9]+$`)

// Validate checks the options for a link with or without an amount, returning a
// *paylink.ValidationError with every violation, or nil.
func (o Options) Validate(hasAmount bool) error {
	if v := o.violations(hasAmount); len(v) > 0 {
		return &paylink.ValidationError{Violations: v}
	}
	return nil
}

func (o Options) violations(hasAmount bool) []paylink.Violation {
	var v []paylink.Violation
	add := func(field, reason string) {
		v = append(v, paylink.Violation{Field: optionsField + "/" + field, Reason: reason})
	}
	if o.RedirectURL != "" && !call.HTTPURL(o.RedirectURL) {
		add("redirectUrl", "must be an absolute http(s) URL")
	}
	if o.WebhookURL != "" && !call.HTTPURL(o.WebhookURL) {
		add("webhookUrl", "must be an absolute http(s) URL")
	}
	for i, m := range o.AllowedMethods {
		if !api.PaymentLinkMethod(m).Valid() {
			add("allowedMethods/"+strconv.Itoa(i), fmt.Sprintf("%q is not a payment method of Mollie payment links (e.g. ideal, creditcard, bancontact, paypal)", m))
		}
	}
	if m := o.MinimumAmount; m != nil {
		switch a, err := paylink.ParseAmount(m.Currency, m.Value); {
		case hasAmount:
			add("minimumAmount", "only for links without an amount (the customer then chooses at least this much)")
		case err != nil:
			add("minimumAmount", err.Error())
		default:
			v = append(v, amountViolations(optionsField+"/minimumAmount", a)...)
		}
	}
	switch o.SequenceType {
	case "", string(api.SequenceTypeOneoff), string(api.SequenceTypeFirst):
	default:
		add("sequenceType", "must be oneoff or first")
	}
	switch {
	case o.CustomerID != "" && o.SequenceType != string(api.SequenceTypeFirst):
		add("customerId", "only with sequenceType first")
	case o.CustomerID != "" && !customerID.MatchString(o.CustomerID):
		add("customerId", "must be a Mollie customer id (cst_…)")
	}
	return v
}

// DecodeOptions decodes the unified API's providerOptions.mollie object into Options. Unknown
// fields are refused, so a misspelt option is an error rather than silently ignored; the values
// are checked at create, where it is known whether the link has an amount.
func (a *Adapter) DecodeOptions(data json.RawMessage) (any, error) {
	return call.DecodeOptions[Options](Name, optionsField, data)
}
