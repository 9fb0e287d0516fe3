// Package hub2 is the paylinks adapter for Hub2 payment links (West and Central African mobile
// money, XOF and XAF). It maps the unified domain of impl/paylink onto the generated Hub2 client
// of gen/hub2: amounts in minor units, the active/completed/expired/closed status table, the
// single_use/multi_use link types, PATCH …/close and the unpaginated list.
//
// It imports only the domain, its own generated package and libraries; never another adapter,
// the sandbox or the server.
package hub2

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// Name is the provider id of Hub2.
const Name = "hub2"

// DefaultBaseURL is Hub2's API host, for live and sandbox alike (the Environment header selects).
const DefaultBaseURL = "https://api.hub2.io"

// Environments Hub2 accepts in its Environment header.
const (
	EnvironmentLive    = "live"
	EnvironmentSandbox = "sandbox"
)

// Currencies are the currencies Hub2 payment links take; both have no decimals, so the unified
// "1000" XOF is 1000 on Hub2's wire.
var Currencies = []string{"XOF", "XAF"}

// Config configures an Adapter.
type Config struct {
	// BaseURL of the API; empty means DefaultBaseURL.
	BaseURL string
	// APIKey, MerchantID and Environment are Hub2's three auth headers, sent on every request.
	// A key is bound to one environment at Hub2, so Environment is required: "live" or "sandbox".
	APIKey      string `paylinks:"secret"`
	MerchantID  string
	Environment string
	// HTTPClient does the requests; nil means an http.Client with a 30 second timeout. Wrap it to
	// validate answers against the curated spec.
	HTTPClient api.HttpRequestDoer
}

// String describes the config without the API key, so a logged or printed Config does not leak it.
func (c Config) String() string { return call.Describe(c) }

// GoString keeps the API key out of %#v.
func (c Config) GoString() string { return call.Describe(c) }

// LogValue keeps the API key out of structured logs.
func (c Config) LogValue() slog.Value { return call.LogValue(c) }

// Adapter is the Hub2 paylink.Provider. It is safe for concurrent use.
type Adapter struct {
	client    *api.Client
	call.Auth // its Authorize sets the credentials, on the client's requests and the passthrough's
}

// wire reads Hub2's answers.
var wire = call.Provider{Name: Name, ErrorBody: errorBody}

var (
	_ paylink.Provider       = (*Adapter)(nil)
	_ paylink.OptionsDecoder = (*Adapter)(nil)
)

// New returns an adapter for the configured merchant and environment. It refuses a config
// without credentials or with an environment other than live or sandbox, so a typo fails at
// start-up rather than as a 400 on the first call.
func New(cfg Config) (*Adapter, error) {
	var missing []string
	if cfg.APIKey == "" {
		missing = append(missing, "APIKey")
	}
	if cfg.MerchantID == "" {
		missing = append(missing, "MerchantID")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("hub2: %v required", missing)
	}
	if cfg.Environment != EnvironmentLive && cfg.Environment != EnvironmentSandbox {
		return nil, fmt.Errorf("hub2: Environment must be %q or %q, not %q", EnvironmentLive, EnvironmentSandbox, cfg.Environment)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := call.BaseURL(Name, base); err != nil {
		return nil, err
	}
	a := &Adapter{Auth: call.Headers(map[string]string{"ApiKey": cfg.APIKey, "MerchantId": cfg.MerchantID, "Environment": cfg.Environment})}
	c, err := api.NewClient(base, api.WithHTTPClient(call.HTTPClient(cfg.HTTPClient)), api.WithRequestEditorFn(a.Authorize))
	if err != nil {
		return nil, fmt.Errorf("hub2: %w", err)
	}
	a.client = c
	return a, nil
}

// Name returns "hub2".
func (a *Adapter) Name() string { return Name }

// Capabilities reports what Hub2 links support through this adapter.
func (a *Adapter) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{
		Operations:    []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpList, paylink.OpClose},
		Amounts:       true,
		ReusableLinks: true,
		// Hub2 reports open-amount links but documents no way to create one.
		OpenAmount:        false,
		Currencies:        slices.Clone(Currencies),
		NativeIdempotency: false,
		Notes: []string{
			"reference is required (Hub2 purchaseReference).",
			"metadata is not supported: Hub2 links have no metadata field.",
			"Without expiresAt, Hub2 expires the link 15 minutes after creation.",
			"Reusable links (Hub2 multi_use) complete after providerOptions.hub2.maximumPayments successful payments, and never without it.",
			"providerOptions.hub2.maximumPayments and customerPhoneNumber are not in Hub2's documented create body (their names are inferred from its answer): paylinks sends them and checks the created link shows them; if it does not, the link is closed at once and the create fails with provider_error.",
			"Links read from Hub2 may have no amount (open-amount links made elsewhere, e.g. in the Hub2 dashboard).",
			"Hub2 returns the description only when a link is created; get and list do not carry it.",
			"The list is one unpaginated array; Hub2 may truncate it, so narrow it with the status filter.",
			"Create is not idempotent at Hub2: a retried create can make a second link.",
		},
	}
}

// Create creates a link. Hub2 needs a reference (purchaseReference) and a fixed amount in XOF or
// XAF; metadata has no place at Hub2 and is refused rather than dropped.
func (a *Adapter) Create(ctx context.Context, in paylink.CreateInput) (paylink.Link, error) {
	body, err := createBody(in)
	if err != nil {
		return paylink.Link{}, err
	}
	ans, err := wire.Expect(http.StatusCreated, http.StatusOK).Of(a.client.CreatePaymentLink(ctx, body))
	if err != nil {
		return paylink.Link{}, err
	}
	created, err := call.Decode[api.CreatedPaymentLink](wire, ans)
	if err != nil {
		return paylink.Link{}, err
	}
	l, err := toLink(ans.Status, fromCreated(created), ans.Body)
	if err != nil {
		return paylink.Link{}, err
	}
	if missing := unhonoured(body, created); len(missing) > 0 {
		return paylink.Link{}, paylink.NotHonoured(ctx, a, ans.Status, created.Id, missing)
	}
	return l, nil
}

// unhonoured lists what of the request the created link does not show. maximumPayments and
// customerPhoneNumber are not in Hub2's documented create body (HUB2-18, HUB2-19: names inferred
// from the answer), so they are sent and then checked in the answer, which does carry them.
func unhonoured(sent api.CreatePaymentLinkRequest, got api.CreatedPaymentLink) []string {
	var out []string
	if want := sent.MaximumPayments; want != nil && (got.MaximumPayments == nil || *got.MaximumPayments != *want) {
		out = append(out, fmt.Sprintf("%s/maximumPayments: asked %d, the link reports %s", optionsField, *want, orNone(got.MaximumPayments)))
	}
	if want := sent.CustomerPhoneNumber; want != nil && (got.CustomerPhoneNumber == nil || !samePhone(*want, *got.CustomerPhoneNumber)) {
		// The numbers themselves stay out of the message, which may be logged.
		reported := "none"
		if got.CustomerPhoneNumber != nil {
			reported = "another number"
		}
		out = append(out, fmt.Sprintf("%s/customerPhoneNumber: the link is restricted to %s", optionsField, reported))
	}
	return out
}

func orNone(v *int) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

// samePhone reports whether two MSISDNs are the same number, allowing Hub2 to write it in full
// international form (+225 0707070707 for 0707070707): the digits of one end with the other's.
func samePhone(a, b string) bool {
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	a, b = digits(a), digits(b)
	if len(a) < len(b) {
		a, b = b, a
	}
	return b != "" && strings.HasSuffix(a, b)
}

// createBody maps the unified input to Hub2's create request, with every violation found of what
// only Hub2 asks (the Client has checked the amount against the capabilities).
func createBody(in paylink.CreateInput) (api.CreatePaymentLinkRequest, error) {
	if len(in.Metadata) > 0 {
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/metadata", "Hub2 payment links have no metadata; keep it on your side keyed by the reference")
	}
	opts, err := call.OptionsOf[Options](Name, optionsField, in.Options)
	if err != nil {
		return api.CreatePaymentLinkRequest{}, err
	}
	var v []paylink.Violation
	if in.Reference == "" {
		v = append(v, paylink.Violation{Field: "/reference", Reason: "required by hub2 (its purchaseReference)"})
	}
	v = append(v, opts.violations(in.Reusable)...)
	if len(v) > 0 {
		return api.CreatePaymentLinkRequest{}, &paylink.ValidationError{Violations: v}
	}

	typ := api.PaymentLinkTypeSingleUse
	if in.Reusable {
		typ = api.PaymentLinkTypeMultiUse
	}
	body := api.CreatePaymentLinkRequest{
		PurchaseReference:   in.Reference,
		Type:                &typ,
		Description:         nonEmpty(in.Description),
		Country:             nonEmpty(opts.Country),
		CustomerPhoneNumber: nonEmpty(opts.CustomerPhoneNumber),
		SuccessUrl:          nonEmpty(opts.SuccessURL),
		FailureUrl:          nonEmpty(opts.FailureURL),
	}
	if in.Amount != nil {
		body.Amount, body.Currency = in.Amount.Minor, in.Amount.Currency // Hub2 amounts are minor units
	}
	if !in.ExpiresAt.IsZero() {
		// Hub2 keeps milliseconds; sending more would make the echoed expiry differ from ours.
		t := in.ExpiresAt.UTC().Truncate(time.Millisecond)
		body.ExpirationDate = &t
	}
	if opts.MaximumPayments > 0 {
		body.MaximumPayments = &opts.MaximumPayments
	}
	if len(opts.PaymentMethods) > 0 {
		body.PaymentMethods = &opts.PaymentMethods
	}
	if len(opts.Operators) > 0 {
		body.Providers = &opts.Operators
	}
	return body, nil
}

// Get returns the link with its current status.
func (a *Adapter) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	return decodeLink(wire.Expect(http.StatusOK).Of(a.client.GetPaymentLink(ctx, linkID)))
}

// List returns all of the merchant's links in one page, newest first: Hub2 does not paginate. A
// status filter is passed to Hub2; StatusUnknown has no Hub2 value, so it lists everything and
// the caller's own filtering drops what does not match.
func (a *Adapter) List(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
	if q.Page != "" {
		return paylink.PageResult{}, paylink.Invalid("query.cursor", "hub2 lists have a single page; the page token must be empty")
	}
	params := &api.ListPaymentLinksParams{}
	if s, ok := statuses.Provider(q.Status); ok {
		params.Status = &s
	}
	ans, err := wire.Expect(http.StatusOK).Of(a.client.ListPaymentLinks(ctx, params))
	if err != nil {
		return paylink.PageResult{}, err
	}
	items, raws, err := call.Items[api.PaymentLink](wire, ans)
	if err != nil {
		return paylink.PageResult{}, err
	}
	out := paylink.PageResult{Links: make([]paylink.Link, 0, len(items))}
	for i, p := range items {
		l, err := toLink(ans.Status, fromPaymentLink(p), raws[i])
		if err != nil {
			return paylink.PageResult{}, err
		}
		out.Links = append(out.Links, l)
	}
	// Hub2 does not document its order; the page contract is newest first.
	slices.SortStableFunc(out.Links, func(x, y paylink.Link) int { return y.CreatedAt.Compare(x.CreatedAt) })
	return out, nil
}

// Close closes an active link. Hub2 answers 409 for any link that is not active (HUB2-24: the 409
// is inferred from Hub2's global table and its codes are not documented): ErrNotClosable, which the
// Client refines by the link's status.
func (a *Adapter) Close(ctx context.Context, linkID string, _ paylink.CloseInput) (paylink.Link, error) {
	return decodeLink(wire.Expect(http.StatusOK).Or(http.StatusConflict, paylink.ErrNotClosable).Of(a.client.ClosePaymentLink(ctx, linkID)))
}

// decodeLink reads an answer holding one link object (get and close).
var decodeLink = call.Decoder(wire, func(a call.Answer, p api.PaymentLink) (paylink.Link, error) {
	return toLink(a.Status, fromPaymentLink(p), a.Body)
})

// errorBody reads Hub2's standardized error body {status, code, message, request_id}.
func errorBody(body []byte) (code, message string) {
	var e api.Error
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Code, e.Message
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
