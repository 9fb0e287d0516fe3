// Package mollie is the paylinks adapter of Mollie Payment Links: it maps the unified create, get,
// list and close onto the generated client of openapi/mollie.yaml (gen/mollie) and translates
// Mollie's answers into the domain of package paylink.
//
// Mollie links differ from the other providers' in ways callers notice:
//   - amounts are {currency, value} with value a decimal string of exactly the currency's ISO 4217
//     decimals ("24.95" EUR, "1000" JPY), in the many currencies Mollie takes;
//   - a link may have no amount (the customer chooses one, at least Options.MinimumAmount);
//   - a link has no status: the unified one is derived from paidAt, archived and expiresAt
//     (mapping.go), with expiry judged by Mollie's clock (the Date of its answer);
//   - close archives the link (PATCH archived=true); Mollie's DELETE is not used (see Capabilities);
//   - lists are read with Mollie's cursor (the id of a page's first link), which is the page token.
//
// It imports only the domain (impl/paylink) and its own generated package, never another adapter,
// a sandbox or the server.
package mollie

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// Name is the provider id.
const Name = "mollie"

// DefaultBaseURL is Mollie's API host, for live and test mode alike (the key selects the mode).
const DefaultBaseURL = "https://api.mollie.com"

// pageSize is the number of links asked for per page (Mollie's default, sent explicitly so the
// page tokens do not depend on it).
const pageSize = 50

// Currencies are the currencies Mollie takes payments in (docs.mollie.com/docs/multicurrency).
// Which payment methods a currency can be paid with varies; EUR has them all.
var Currencies = []string{
	"AED", "AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "ISK", "JPY",
	"MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB", "TWD", "USD", "ZAR",
}

// Config is what the adapter needs to call Mollie.
type Config struct {
	// BaseURL is Mollie's API host without the /v2 of the paths; empty means DefaultBaseURL. For a
	// sandbox: http://127.0.0.1:8080/sandbox/mollie.
	BaseURL string
	// APIKey is a Mollie API key of a website profile: test_… for test mode, live_… for live mode.
	// It is only ever written into the Authorization header, never logged or put into errors.
	APIKey string `paylinks:"secret,prefix"`
	// HTTPClient does the requests; nil means an http.Client with a 30 second timeout. Wrap it in a
	// validating transport to hold every answer to the curated spec.
	HTTPClient api.HttpRequestDoer
}

// String describes the config without the key (only its mode), so a printed Config leaks nothing.
func (c Config) String() string { return call.Describe(c) }

// GoString keeps the key out of %#v.
func (c Config) GoString() string { return call.Describe(c) }

// LogValue keeps the key out of structured logs.
func (c Config) LogValue() slog.Value { return call.LogValue(c) }

// Adapter implements paylink.Provider for Mollie. It is safe for concurrent use.
type Adapter struct {
	client    *api.Client
	call.Auth // its Authorize sets the credentials, on the client's requests and the passthrough's
	// now is the local clock, used only when an answer carries no Date.
	now func() time.Time
}

var (
	_ paylink.Provider       = (*Adapter)(nil)
	_ paylink.OptionsDecoder = (*Adapter)(nil)
)

// wire reads Mollie's answers.
var wire = call.Provider{Name: Name, ErrorBody: errorBody, Refine: refine}

// New returns an adapter calling cfg.BaseURL with cfg.APIKey. It refuses a key that is not a
// Mollie API key, so a misconfiguration fails at start-up rather than as a 401 on the first call.
func New(cfg Config) (*Adapter, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if err := call.BaseURL(Name, base); err != nil {
		return nil, err
	}
	switch key := strings.TrimSpace(cfg.APIKey); {
	case key == "":
		return nil, errors.New("mollie: APIKey is required")
	case strings.HasPrefix(key, "access_"):
		// Organization and OAuth tokens need profileId and testmode on every call.
		return nil, errors.New("mollie: APIKey must be an API key (test_… or live_…); organization access tokens and OAuth tokens (access_…) are not supported")
	case !strings.HasPrefix(key, "test_") && !strings.HasPrefix(key, "live_"):
		return nil, errors.New("mollie: APIKey must be a Mollie API key, starting with test_ or live_")
	}
	a := &Adapter{Auth: call.Headers(map[string]string{"Authorization": "Bearer " + cfg.APIKey}), now: time.Now}
	client, err := api.NewClient(base, api.WithHTTPClient(call.HTTPClient(cfg.HTTPClient)), api.WithRequestEditorFn(a.Authorize))
	if err != nil {
		return nil, fmt.Errorf("mollie: %w", err)
	}
	a.client = client
	return a, nil
}

// Name returns "mollie".
func (a *Adapter) Name() string { return Name }

// Capabilities says what Mollie supports through this adapter.
func (a *Adapter) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{
		Operations:        []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpList, paylink.OpClose},
		Amounts:           true,
		ReusableLinks:     true,
		OpenAmount:        true,
		Currencies:        append([]string(nil), Currencies...),
		NativeIdempotency: true,
		Notes: []string{
			"Close archives the link (PATCH archived=true): it stays readable with its payments. Mollie's DELETE is not used: it only works on links never opened and without payments, and erases the link from the API and the Dashboard, so a closed link would become indistinguishable from an unknown one.",
			"Mollie links have no status: it is derived from paidAt, archived and expiresAt; expiry is judged by Mollie's clock (the Date of its answer).",
			"Without an amount the customer chooses one, at least providerOptions.mollie.minimumAmount when given; such links have no amount.",
			"Reusable links stay active after payments until closed or expired; only single-use links become completed.",
			"A description is required (at most 255 characters); reference and metadata have no place on Mollie links.",
			"Idempotency-Key is passed on to Mollie for create and close.",
			"Mollie calls the link's webhookUrl with the id of a payment (tr_…) when a payment made through the link changes status; read the link back to learn what changed.",
			"The API key's mode decides what is seen: test_ keys see test links only, live_ keys live links only.",
		},
	}
}

// Create creates a link: for a fixed amount, or without one for an amount the customer chooses.
func (a *Adapter) Create(ctx context.Context, in paylink.CreateInput) (paylink.Link, error) {
	body, err := createRequest(in)
	if err != nil {
		return paylink.Link{}, err
	}
	params := &api.CreatePaymentLinkParams{}
	if in.IdempotencyKey != "" {
		params.IdempotencyKey = &in.IdempotencyKey
	}
	return a.decodeLink(wire.Expect(http.StatusCreated).Of(a.client.CreatePaymentLink(ctx, params, body)))
}

// Get returns the link as Mollie reports it now.
func (a *Adapter) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	return a.decodeLink(wire.Expect(http.StatusOK).Of(a.client.GetPaymentLink(ctx, linkID, nil)))
}

// List returns one page of links, newest first. q.Page is Mollie's cursor: the id of the page's
// first link, from the previous page's _links.next ("" for the first page). Mollie cannot filter
// by status, so q.Status is left to the Client.
func (a *Adapter) List(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
	params := &api.ListPaymentLinksParams{Limit: ptr(pageSize)}
	if q.Page != "" {
		if !strings.HasPrefix(q.Page, "pl_") {
			return paylink.PageResult{}, paylink.Invalid("query.cursor", "holds no valid mollie page token")
		}
		params.From = &q.Page
	}
	ans, err := wire.Expect(http.StatusOK).Of(a.client.ListPaymentLinks(ctx, params))
	if err != nil {
		return paylink.PageResult{}, err
	}
	page, err := call.Decode[api.PaymentLinkList](wire, ans)
	if err != nil {
		return paylink.PageResult{}, err
	}
	items, raws, err := call.Items[api.PaymentLink](wire, ans, "_embedded", "payment_links")
	if err != nil {
		return paylink.PageResult{}, err
	}
	next, err := nextPage(page.UnderscoreLinks.Next)
	if err != nil {
		return paylink.PageResult{}, paylink.DecodeError(Name, ans.Status, err)
	}
	out := paylink.PageResult{Links: make([]paylink.Link, 0, len(items)), Next: next}
	for i, item := range items {
		l, err := toLink(ans.Status, item, raws[i], a.answeredAt(ans))
		if err != nil {
			return paylink.PageResult{}, err
		}
		out.Links = append(out.Links, l)
	}
	return out, nil
}

// Close archives an active link, so customers can no longer pay on it. Mollie archives a link
// whatever its state (an archived one again, a paid or an expired one), so the link is read first:
// an archived link gives ErrAlreadyClosed, a completed or expired one ErrNotClosable, and only an
// active one is archived.
//
// The read and the archive are two calls: a link paid between them is archived all the same, and
// the answer (paid, archived) gives ErrNotClosable; two closes racing may both succeed.
func (a *Adapter) Close(ctx context.Context, linkID string, in paylink.CloseInput) (paylink.Link, error) {
	current, err := a.Get(ctx, linkID)
	if err != nil {
		return paylink.Link{}, err
	}
	if err := closable(current); err != nil {
		return paylink.Link{}, err
	}
	params := &api.UpdatePaymentLinkParams{}
	if in.IdempotencyKey != "" {
		params.IdempotencyKey = &in.IdempotencyKey
	}
	archive := api.UpdatePaymentLinkRequest{Archived: ptr(true)}
	l, err := a.decodeLink(wire.Expect(http.StatusOK).Of(a.client.UpdatePaymentLink(ctx, linkID, params, archive)))
	if err != nil {
		return paylink.Link{}, err
	}
	switch l.Status {
	case paylink.StatusClosed:
		return l, nil
	case paylink.StatusActive:
		return paylink.Link{}, paylink.DecodeError(Name, http.StatusOK, fmt.Errorf("link %s: the archive was answered with a link that is not archived", linkID))
	default:
		// Paid (or otherwise ended) between the read and the archive: the payment stands.
		return paylink.Link{}, &paylink.ProviderError{Provider: Name, Kind: paylink.ErrNotClosable, Message: fmt.Sprintf("the link became %s while it was being closed", l.Status)}
	}
}

// closable refuses to archive a link that is not active, with the error the domain asks for.
func closable(l paylink.Link) error {
	switch l.Status {
	case paylink.StatusActive:
		return nil
	case paylink.StatusClosed:
		return &paylink.ProviderError{Provider: Name, Kind: paylink.ErrAlreadyClosed, Message: "the link is archived already"}
	default:
		return &paylink.ProviderError{Provider: Name, Kind: paylink.ErrNotClosable, Message: fmt.Sprintf("the link is %s (%s)", l.Status, l.ProviderStatus)}
	}
}

// answeredAt is the time of Mollie's clock when it answered: the Date of the answer, or the local
// clock when there is none. Expiry is judged by it, so a skewed local clock does not decide.
func (a *Adapter) answeredAt(ans call.Answer) time.Time {
	if t, err := http.ParseTime(ans.Header.Get("Date")); err == nil {
		return t.UTC()
	}
	return a.now().UTC()
}

// decodeLink reads an answer holding one link, its expiry judged by Mollie's clock.
func (a *Adapter) decodeLink(ans call.Answer, err error) (paylink.Link, error) {
	return call.Decoder(wire, func(ans call.Answer, l api.PaymentLink) (paylink.Link, error) {
		return toLink(ans.Status, l, ans.Body, a.answeredAt(ans))
	})(ans, err)
}

func ptr[T any](v T) *T { return &v }
