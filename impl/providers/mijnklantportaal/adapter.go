// Package mijnklantportaal is the paylinks adapter of the MijnKlantportaal API v1 payment links: it
// maps the unified create, get, list and close onto the generated typed client of
// openapi/mijnklantportaal.yaml and translates statuses, EUR decimal strings, ATOM times and the
// provider's answers into the domain of package paylink.
//
// It imports only the domain (impl/paylink) and its own generated package, never another adapter
// or a sandbox.
package mijnklantportaal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// Name is the provider id.
const Name = "mijnklantportaal"

// maxDescription is the longest description the curated spec lets us send (MKP-19).
const maxDescription = 255

// Config is what the adapter needs to call MijnKlantportaal.
type Config struct {
	// BaseURL is the API's base URL with its version, e.g. https://api.mijnklantportaal.nl/v1 (or a
	// sandbox's, e.g. http://127.0.0.1:8080/sandbox/mijnklantportaal).
	BaseURL string
	// Token is the bearer token: an API key of the portal or an OAuth access token with the scopes
	// paymentlinks.read and paymentlinks.write.
	Token string `paylinks:"secret"`
	// HTTPClient does the requests; nil means an http.Client with a 30 second timeout. Wrap it in a
	// validating transport to hold every answer to the curated spec.
	HTTPClient api.HttpRequestDoer
}

// String describes the config without the token, so a logged or printed Config does not leak it.
func (c Config) String() string { return call.Describe(c) }

// GoString keeps the token out of %#v.
func (c Config) GoString() string { return call.Describe(c) }

// LogValue keeps the token out of structured logs.
func (c Config) LogValue() slog.Value { return call.LogValue(c) }

// Adapter implements paylink.Provider for MijnKlantportaal. It is safe for concurrent use.
type Adapter struct {
	client *api.Client
	auth   call.Auth
}

var _ paylink.Provider = (*Adapter)(nil)

// wire reads MijnKlantportaal's answers.
var wire = call.Provider{Name: Name, ErrorBody: errorBody, Refine: refine}

// New returns an adapter calling cfg.BaseURL with cfg.Token.
func New(cfg Config) (*Adapter, error) {
	if err := call.BaseURL(Name, cfg.BaseURL); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("mijnklantportaal: Token is required")
	}
	a := &Adapter{auth: call.Headers(map[string]string{"Authorization": "Bearer " + cfg.Token})}
	client, err := api.NewClient(cfg.BaseURL, api.WithHTTPClient(call.HTTPClient(cfg.HTTPClient)), api.WithRequestEditorFn(a.Authorize))
	if err != nil {
		return nil, fmt.Errorf("mijnklantportaal: %w", err)
	}
	a.client = client
	return a, nil
}

// Authorize adds the bearer token to a request for MijnKlantportaal: the typed client's requests,
// and those a passthrough proxy forwards. It also asks for JSON unless the request says otherwise:
// without that, Laravel answers an unauthenticated request with a redirect to a login page
// instead of the 401 JSON body.
func (a *Adapter) Authorize(_ context.Context, r *http.Request) error {
	a.auth(r)
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "application/json")
	}
	return nil
}

// Name returns the provider id, mijnklantportaal.
func (a *Adapter) Name() string { return Name }

// Capabilities says what MijnKlantportaal supports through this adapter.
func (a *Adapter) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{
		Operations:        []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpList, paylink.OpClose},
		Amounts:           true,
		ReusableLinks:     true,
		OpenAmount:        false,
		Currencies:        []string{"EUR"},
		NativeIdempotency: false,
		Notes: []string{
			"expiresAt is sent as a date: the link stays payable until the end of that day in Europe/Amsterdam (the day of the last instant before expiresAt), so up to a day longer than asked; the link's expiresAt reports the real end",
			"a description is required; reference and metadata have no place at this provider",
			"reusable links stay active after payments until closed or expired; only single-use links become completed",
			"the provider lists links newest first, 15 per page, and cannot filter by status: a status filter reads every page",
			"completedAt is not reported: the provider's link carries no payment time",
		},
	}
}

// Create creates a link for a fixed EUR amount.
//
// MijnKlantportaal takes a date, not a time, as the expiry: the unified expiresAt T becomes the
// Europe/Amsterdam calendar date of T − 1ns, and the provider ends the link at the end of that day.
// So the link stays payable at least until T (and at most a day longer); a T at exactly midnight
// in Amsterdam loses nothing. The returned link's ExpiresAt is the instant the provider reports.
func (a *Adapter) Create(ctx context.Context, in paylink.CreateInput) (paylink.Link, error) {
	body, err := createRequest(in)
	if err != nil {
		return paylink.Link{}, err
	}
	return decodeLink(wire.Expect(http.StatusCreated, http.StatusOK).Of(a.client.CreatePaymentLink(ctx, body)))
}

// createRequest checks what only MijnKlantportaal asks of a create (the Client has checked the
// amount against the capabilities) and builds its body. Fields it has no place for are
// ErrUnsupported rather than silently dropped.
func createRequest(in paylink.CreateInput) (api.CreatePaymentLinkRequest, error) {
	switch {
	case in.Reference != "":
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/reference", "links have no reference at this provider; put it in the description")
	case len(in.Metadata) > 0:
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/metadata", "links have no metadata at this provider")
	case in.Options != nil:
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/providerOptions", "this provider takes no options")
	}
	switch {
	case strings.TrimSpace(in.Description) == "":
		return api.CreatePaymentLinkRequest{}, paylink.Invalid("/description", "required by mijnklantportaal")
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return api.CreatePaymentLinkRequest{}, paylink.Invalid("/description", fmt.Sprintf("at most %d characters at mijnklantportaal", maxDescription))
	}
	body := api.CreatePaymentLinkRequest{Description: in.Description, Reusable: &in.Reusable}
	if in.Amount != nil {
		body.Amount = in.Amount.Value()
	}
	if !in.ExpiresAt.IsZero() {
		body.ExpiresAt = expiryDate(in.ExpiresAt)
	}
	return body, nil
}

// Get returns the link.
func (a *Adapter) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	return decodeLink(wire.Expect(http.StatusOK).Of(a.client.GetPaymentLink(ctx, linkID)))
}

// List returns one provider page of links, newest first. q.Page is the page number as a string
// ("" for the first); the provider cannot filter by status, so q.Status is left to the Client.
func (a *Adapter) List(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
	params := &api.ListPaymentLinksParams{}
	if q.Page != "" {
		n, err := strconv.Atoi(q.Page)
		if err != nil || n < 1 {
			return paylink.PageResult{}, paylink.Invalid("query.cursor", "holds no valid mijnklantportaal page number")
		}
		params.Page = &n
	}
	ans, err := wire.Expect(http.StatusOK).Of(a.client.ListPaymentLinks(ctx, params))
	if err != nil {
		return paylink.PageResult{}, err
	}
	page, err := call.Decode[api.PaymentLinkPage](wire, ans)
	if err != nil {
		return paylink.PageResult{}, err
	}
	items, raws, err := call.Items[api.PaymentLink](wire, ans, "data")
	if err != nil {
		return paylink.PageResult{}, err
	}
	out := paylink.PageResult{Links: make([]paylink.Link, 0, len(items)), Next: nextPage(page)}
	for i, item := range items {
		l, err := toLink(ans.Status, item, raws[i])
		if err != nil {
			return paylink.PageResult{}, err
		}
		out.Links = append(out.Links, l)
	}
	return out, nil
}

// Close closes an open link. MijnKlantportaal answers 422 both for an already closed link (as
// documented) and for one that can no longer be closed: ErrNotClosable, which the Client refines
// by the link's status.
func (a *Adapter) Close(ctx context.Context, linkID string, _ paylink.CloseInput) (paylink.Link, error) {
	return decodeLink(wire.Expect(http.StatusOK).Or(http.StatusUnprocessableEntity, paylink.ErrNotClosable).Of(a.client.ClosePaymentLink(ctx, linkID)))
}

// decodeLink reads an answer holding one link.
var decodeLink = call.Decoder(wire, func(a call.Answer, l api.PaymentLink) (paylink.Link, error) {
	return toLink(a.Status, l, a.Body)
})
