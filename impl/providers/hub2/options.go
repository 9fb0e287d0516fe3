package hub2

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// optionsField is where Hub2's options sit in the unified create body.
const optionsField = "/providerOptions/hub2"

// Options are the Hub2-specific parts of a create, passed as CreateInput.Options (as Options or
// *Options). The JSON names are those of the unified API's Hub2Options.
type Options struct {
	// Country is the ISO 3166-1 alpha-2 country the payer pays from (CI, SN, CM, …).
	Country string `json:"country,omitempty"`
	// CustomerPhoneNumber restricts the link to this payer's MSISDN.
	CustomerPhoneNumber string `json:"customerPhoneNumber,omitempty"`
	// MaximumPayments, for reusable links only, is the number of successful payments after which
	// the link completes; zero means unlimited.
	MaximumPayments int `json:"maximumPayments,omitempty"`
	// PaymentMethods offered at checkout (e.g. mobile_money); empty means Hub2's default.
	PaymentMethods []string `json:"paymentMethods,omitempty"`
	// Operators offered at checkout (Hub2 `providers`: Orange, MTN, Moov, Wave, …).
	Operators []string `json:"operators,omitempty"`
	// SuccessURL and FailureURL are where Hub2 sends the payer afterwards (absolute http(s) URLs).
	SuccessURL string `json:"successUrl,omitempty"`
	FailureURL string `json:"failureUrl,omitempty"`
}

// Validate checks the options for a link that is reusable or not, returning a
// *paylink.ValidationError with every violation, or nil.
func (o Options) Validate(reusable bool) error {
	if v := o.violations(reusable); len(v) > 0 {
		return &paylink.ValidationError{Violations: v}
	}
	return nil
}

func (o Options) violations(reusable bool) []paylink.Violation {
	var v []paylink.Violation
	add := func(field, reason string) {
		v = append(v, paylink.Violation{Field: optionsField + "/" + field, Reason: reason})
	}
	if o.Country != "" && !isCountryCode(o.Country) {
		add("country", "must be two upper-case letters (ISO 3166-1 alpha-2, e.g. CI)")
	}
	if p := o.CustomerPhoneNumber; p != "" && !isPhoneNumber(p) {
		add("customerPhoneNumber", "must be 4 to 20 digits, optionally after a leading +")
	}
	switch {
	case o.MaximumPayments < 0:
		add("maximumPayments", "must be at least 1 (leave it out for unlimited)")
	case o.MaximumPayments > 0 && !reusable:
		add("maximumPayments", "only for reusable links (Hub2 multi_use); a single-use link completes after one payment")
	}
	for i, m := range o.PaymentMethods {
		if strings.TrimSpace(m) == "" {
			add("paymentMethods/"+strconv.Itoa(i), "must not be empty")
		}
	}
	for i, op := range o.Operators {
		if strings.TrimSpace(op) == "" {
			add("operators/"+strconv.Itoa(i), "must not be empty")
		}
	}
	for field, u := range map[string]string{"successUrl": o.SuccessURL, "failureUrl": o.FailureURL} {
		if u != "" && !call.HTTPURL(u) {
			add(field, "must be an absolute http(s) URL")
		}
	}
	// Map order is random; violations are reported in field order.
	slices.SortStableFunc(v, func(a, b paylink.Violation) int { return cmp.Compare(a.Field, b.Field) })
	return v
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func isPhoneNumber(s string) bool {
	digits := strings.TrimPrefix(s, "+")
	if len(digits) < 4 || len(s) > 20 {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// DecodeOptions decodes the unified API's providerOptions.hub2 object. Unknown fields are
// refused, so a misspelt option is an error rather than silently ignored.
func (a *Adapter) DecodeOptions(data json.RawMessage) (any, error) {
	return call.DecodeOptions[Options](Name, optionsField, data)
}
