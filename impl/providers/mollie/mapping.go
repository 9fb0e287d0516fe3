package mollie

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// maxDescription is the longest description Mollie takes (documented maxLength).
const maxDescription = 255

// linkState is what the unified status of a Mollie link is derived from: Mollie reports no status.
type linkState struct {
	paid     bool  // paidAt is set: the link has had a successful payment
	reusable *bool // nil when Mollie does not say
	archived bool
	expired  bool // expiresAt is set and not after Mollie's now
}

// statusOf is the status table, read top to bottom; the first matching row wins.
//
//	paidAt  reusable  archived  expiresAt ≤ now  unified
//	set     false     any       any              completed  a single-use link took its payment
//	set     null      any       any              unknown    catch-all: completed if single-use,
//	                                                        active if reusable; never taken for paid
//	any     any       true      any              closed     archived by the merchant
//	any     any       false     yes              expired
//	any     any       false     no               active     reusable links stay active when paid
//
// A paid single-use link stays completed when archived later: the payment is the fact that matters.
func statusOf(s linkState) paylink.Status {
	switch {
	case s.paid && s.reusable != nil && !*s.reusable:
		return paylink.StatusCompleted
	case s.paid && s.reusable == nil:
		return paylink.StatusUnknown
	case s.archived:
		return paylink.StatusClosed
	case s.expired:
		return paylink.StatusExpired
	default:
		return paylink.StatusActive
	}
}

// providerStatus spells out the facts the status was derived from, as Link.ProviderStatus:
// "open", or those of "paid", "archived", "expired" that hold, joined by commas.
func providerStatus(s linkState) string {
	var facts []string
	if s.paid {
		facts = append(facts, "paid")
	}
	if s.archived {
		facts = append(facts, "archived")
	}
	if s.expired {
		facts = append(facts, "expired")
	}
	if len(facts) == 0 {
		return "open"
	}
	return strings.Join(facts, ",")
}

// stateOf reads the state of a link at Mollie's time now.
func stateOf(l api.PaymentLink, now time.Time) linkState {
	return linkState{
		paid:     l.PaidAt != nil,
		reusable: l.Reusable,
		archived: l.Archived,
		expired:  l.ExpiresAt != nil && !now.Before(*l.ExpiresAt),
	}
}

// toLink maps a Mollie link to the unified one; raw is Mollie's object as received and now the
// time Mollie answered. An amount the domain cannot hold is a contract violation, not a rounding.
func toLink(status int, l api.PaymentLink, raw []byte, now time.Time) (paylink.Link, error) {
	state := stateOf(l, now)
	out := paylink.Link{
		ID:             paylink.NewID(Name, l.Id),
		Provider:       Name,
		ProviderLinkID: l.Id,
		Status:         statusOf(state),
		ProviderStatus: providerStatus(state),
		Description:    l.Description,
		Reusable:       l.Reusable != nil && *l.Reusable,
		CreatedAt:      l.CreatedAt.UTC(),
		Raw:            slices.Clone(raw),
	}
	if l.Amount != nil { // nil: the customer chooses the amount
		a, err := paylink.ParseAmount(l.Amount.Currency, l.Amount.Value)
		if err != nil {
			return paylink.Link{}, paylink.DecodeError(Name, status, fmt.Errorf("link %s: amount: %w", l.Id, err))
		}
		out.Amount = &a
	}
	// Mollie keeps the page of an ended link; the unified URL is only where a payer can still pay.
	if out.Status == paylink.StatusActive {
		out.URL = l.UnderscoreLinks.PaymentLink.Href
	}
	if l.ExpiresAt != nil {
		out.ExpiresAt = l.ExpiresAt.UTC()
	}
	if l.UpdatedAt != nil {
		out.UpdatedAt = l.UpdatedAt.UTC()
	}
	if out.Status == paylink.StatusCompleted {
		out.CompletedAt = l.PaidAt.UTC()
	}
	return out, nil
}

// nextPage is the page token of the next page: the from parameter of _links.next, empty when there
// is no next page. A next link without a usable from breaks the documented pagination.
func nextPage(next *api.UrlNullable) (string, error) {
	if next == nil {
		return "", nil
	}
	u, err := url.Parse(next.Href)
	if err != nil {
		return "", fmt.Errorf("_links.next: %w", err)
	}
	from := u.Query().Get("from")
	if !strings.HasPrefix(from, "pl_") {
		return "", fmt.Errorf("_links.next %q has no from=pl_… cursor", next.Href)
	}
	return from, nil
}

// createRequest checks what only Mollie asks of a create (the Client has checked the amount
// against the capabilities) and builds its body, with every violation found. Fields Mollie has no
// place for are ErrUnsupported rather than dropped.
func createRequest(in paylink.CreateInput) (api.CreatePaymentLinkRequest, error) {
	switch {
	case in.Reference != "":
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/reference", "Mollie payment links have no reference; put it in the description")
	case len(in.Metadata) > 0:
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/metadata", "Mollie payment links have no metadata")
	}
	opts, err := call.OptionsOf[Options](Name, optionsField, in.Options)
	if err != nil {
		return api.CreatePaymentLinkRequest{}, err
	}
	var v []paylink.Violation
	switch {
	case strings.TrimSpace(in.Description) == "":
		v = append(v, paylink.Violation{Field: "/description", Reason: "required by mollie"})
	case utf8.RuneCountInString(in.Description) > maxDescription:
		v = append(v, paylink.Violation{Field: "/description", Reason: fmt.Sprintf("at most %d characters at mollie", maxDescription)})
	}
	v = append(v, opts.violations(in.Amount != nil)...)
	if len(v) > 0 {
		return api.CreatePaymentLinkRequest{}, &paylink.ValidationError{Violations: v}
	}

	body := api.CreatePaymentLinkRequest{
		Description: in.Description,
		Reusable:    ptr(in.Reusable),
		RedirectUrl: nonEmpty(opts.RedirectURL),
		WebhookUrl:  nonEmpty(opts.WebhookURL),
		CustomerId:  nonEmpty(opts.CustomerID),
	}
	if in.Amount != nil {
		body.Amount = &api.AmountNullable{Currency: in.Amount.Currency, Value: in.Amount.Value()}
	}
	if m := opts.MinimumAmount; m != nil {
		// Validated above; sent with exactly the currency's decimals, as Mollie requires.
		a, _ := paylink.ParseAmount(m.Currency, m.Value)
		body.MinimumAmount = &api.AmountNullable{Currency: a.Currency, Value: a.Value()}
	}
	if !in.ExpiresAt.IsZero() {
		// Mollie keeps whole seconds: round up, so the link is payable at least until asked.
		t := in.ExpiresAt.UTC()
		if r := t.Truncate(time.Second); !r.Equal(t) {
			t = r.Add(time.Second)
		}
		body.ExpiresAt = &t
	}
	if len(opts.AllowedMethods) > 0 {
		methods := make([]api.PaymentLinkMethod, len(opts.AllowedMethods))
		for i, m := range opts.AllowedMethods {
			methods[i] = api.PaymentLinkMethod(m)
		}
		body.AllowedMethods = &methods
	}
	if opts.SequenceType != "" {
		body.SequenceType = ptr(api.SequenceType(opts.SequenceType))
	}
	return body, nil
}

// amountViolations checks an amount of the options (minimumAmount): a currency Mollie takes, more
// than zero.
func amountViolations(field string, a paylink.Amount) []paylink.Violation {
	var v []paylink.Violation
	if !slices.Contains(Currencies, a.Currency) {
		v = append(v, paylink.Violation{Field: field + "/currency", Reason: fmt.Sprintf("mollie does not take %q (takes %v)", a.Currency, Currencies)})
	}
	if a.Minor <= 0 {
		v = append(v, paylink.Violation{Field: field + "/value", Reason: "must be greater than zero"})
	}
	return v
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// providerError reads Mollie's error body; a body that is not the documented JSON leaves it empty.
func providerError(body []byte) api.Error {
	var e api.Error
	if json.Unmarshal(body, &e) != nil {
		return api.Error{}
	}
	return e
}

// errorBody reads the message of Mollie's error: its detail, with the field it names, if any.
func errorBody(body []byte) (code, message string) {
	e := providerError(body)
	if e.Field != "" {
		return "", fmt.Sprintf("%s (field %s)", e.Detail, e.Field)
	}
	return "", e.Detail
}

// refine reads what Mollie's error body says beyond its status: a 400 about the list cursor
// points at the unified cursor, and a refused create (422) names the unified field.
func refine(ans call.Answer, pe *paylink.ProviderError) {
	e := providerError(ans.Body)
	switch {
	case ans.Status == http.StatusBadRequest && e.Field == "from":
		pe.Err = paylink.Invalid("query.cursor", "mollie no longer knows the page it points to; start again without a cursor")
	case ans.Status == http.StatusUnprocessableEntity:
		pe.Err = paylink.Invalid(unifiedField(e.Field), e.Detail)
	}
}

// createFields maps the fields of Mollie's create body to the unified create body.
var createFields = map[string]string{
	"description":     "/description",
	"amount":          "/amount",
	"amount.value":    "/amount/value",
	"amount.currency": "/amount/currency",
	"expiresAt":       "/expiresAt",
	"reusable":        "/reusable",
}

// unifiedField points a Mollie request field at the unified create body: the common fields at
// their place, the others under the Mollie options, "" for the body as a whole.
func unifiedField(mollieField string) string {
	if f, ok := createFields[mollieField]; ok {
		return f
	}
	name, _, _ := strings.Cut(mollieField, ".")
	if _, ok := optionFields[name]; ok {
		return optionsField + "/" + strings.ReplaceAll(mollieField, ".", "/")
	}
	return ""
}
