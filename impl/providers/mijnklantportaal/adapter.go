// Package mijnklantportaal is the paylinks adapter of the MijnKlantportaal API v1 payment links: it
// maps the unified create, get, list and close onto the generated typed client of
// openapi/mijnklantportaal.yaml and translates statuses, EUR decimal strings, ATOM times and the
// provider's answers into the domain of package paylink.
//
// It imports only the domain (impl/paylink) and its own generated package, never another adapter
// or a sandbox.
package mijnklantportaal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
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
	Token string
	// HTTPClient does the requests; nil means an http.Client with a 30 second timeout. Wrap it in a
	// validating transport to hold every answer to the curated spec.
	HTTPClient api.HttpRequestDoer
}

// String describes the config without the token, so a logged or printed Config does not leak it.
func (c Config) String() string {
	return fmt.Sprintf("mijnklantportaal.Config{BaseURL: %q, Token: %s}", c.BaseURL, redacted(c.Token))
}

// GoString keeps the token out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the token out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("baseURL", c.BaseURL), slog.String("token", redacted(c.Token)))
}

func redacted(s string) string {
	if s == "" {
		return "(none)"
	}
	return "(redacted)"
}

// Adapter implements paylink.Provider for MijnKlantportaal. It is safe for concurrent use.
type Adapter struct {
	client *api.ClientWithResponses
	token  string // only ever written into the Authorization header
}

var _ paylink.Provider = (*Adapter)(nil)

// String names the adapter without its token, so a printed adapter does not leak it.
func (a *Adapter) String() string { return "mijnklantportaal.Adapter" }

// GoString keeps the token out of %#v.
func (a *Adapter) GoString() string { return a.String() }

// New returns an adapter calling cfg.BaseURL with cfg.Token.
func New(cfg Config) (*Adapter, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("mijnklantportaal: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("mijnklantportaal: Token is required")
	}
	doer := cfg.HTTPClient
	if doer == nil {
		doer = &http.Client{Timeout: 30 * time.Second}
	}
	a := &Adapter{token: cfg.Token}
	client, err := api.NewClientWithResponses(cfg.BaseURL, api.WithHTTPClient(doer), api.WithRequestEditorFn(a.Authorize))
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
	r.Header.Set("Authorization", "Bearer "+a.token)
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
	res, err := do(ctx, func(ctx context.Context) (*http.Response, error) {
		return a.client.CreatePaymentLink(ctx, body)
	}, api.ParseCreatePaymentLinkResponse)
	if err != nil {
		return paylink.Link{}, err
	}
	switch {
	case res.JSON201 != nil:
		return toLink(res.StatusCode(), *res.JSON201, res.Body)
	case res.JSON200 != nil:
		return toLink(res.StatusCode(), *res.JSON200, res.Body)
	case res.StatusCode() == http.StatusUnprocessableEntity:
		return paylink.Link{}, invalidCreate(res.HTTPResponse, res.Body)
	default:
		return paylink.Link{}, failure(res.HTTPResponse, res.Body)
	}
}

// createRequest checks the input against what MijnKlantportaal can take and builds its body.
// Fields it has no place for are ErrUnsupported rather than silently dropped.
func createRequest(in paylink.CreateInput) (api.CreatePaymentLinkRequest, error) {
	switch {
	case in.Reference != "":
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/reference", "links have no reference at this provider; put it in the description")
	case len(in.Metadata) > 0:
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/metadata", "links have no metadata at this provider")
	case in.Options != nil:
		return api.CreatePaymentLinkRequest{}, paylink.Unsupported(Name, "/providerOptions", "this provider takes no options")
	}
	var v []paylink.Violation
	switch {
	case in.Amount == nil:
		v = append(v, paylink.Violation{Field: "/amount", Reason: "required by mijnklantportaal"})
	case in.Amount.Currency != "EUR":
		v = append(v, paylink.Violation{Field: "/amount/currency", Reason: fmt.Sprintf("mijnklantportaal takes EUR only, not %q", in.Amount.Currency)})
	case in.Amount.Minor <= 0:
		v = append(v, paylink.Violation{Field: "/amount/value", Reason: "must be greater than zero"})
	}
	switch {
	case strings.TrimSpace(in.Description) == "":
		v = append(v, paylink.Violation{Field: "/description", Reason: "required by mijnklantportaal"})
	case utf8.RuneCountInString(in.Description) > maxDescription:
		v = append(v, paylink.Violation{Field: "/description", Reason: fmt.Sprintf("at most %d characters at mijnklantportaal", maxDescription)})
	}
	if len(v) > 0 {
		return api.CreatePaymentLinkRequest{}, &paylink.ValidationError{Violations: v}
	}
	body := api.CreatePaymentLinkRequest{Description: in.Description, Amount: in.Amount.Value(), Reusable: &in.Reusable}
	if !in.ExpiresAt.IsZero() {
		body.ExpiresAt = expiryDate(in.ExpiresAt)
	}
	return body, nil
}

// Get returns the link.
func (a *Adapter) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	if linkID == "" {
		return paylink.Link{}, fmt.Errorf("%w: empty link id", paylink.ErrNotFound)
	}
	res, err := do(ctx, func(ctx context.Context) (*http.Response, error) {
		return a.client.GetPaymentLink(ctx, linkID)
	}, api.ParseGetPaymentLinkResponse)
	if err != nil {
		return paylink.Link{}, err
	}
	if res.JSON200 != nil {
		return toLink(res.StatusCode(), *res.JSON200, res.Body)
	}
	return paylink.Link{}, failure(res.HTTPResponse, res.Body)
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
	res, err := do(ctx, func(ctx context.Context) (*http.Response, error) {
		return a.client.ListPaymentLinks(ctx, params)
	}, api.ParseListPaymentLinksResponse)
	if err != nil {
		return paylink.PageResult{}, err
	}
	if res.JSON200 == nil {
		return paylink.PageResult{}, failure(res.HTTPResponse, res.Body)
	}
	items, err := rawItems(res.Body, len(res.JSON200.Data))
	if err != nil {
		return paylink.PageResult{}, paylink.DecodeError(Name, res.StatusCode(), err)
	}
	out := paylink.PageResult{Links: make([]paylink.Link, 0, len(items)), Next: nextPage(*res.JSON200)}
	for i, item := range res.JSON200.Data {
		l, err := toLink(res.StatusCode(), item, items[i])
		if err != nil {
			return paylink.PageResult{}, err
		}
		out.Links = append(out.Links, l)
	}
	return out, nil
}

// Close closes an open link. MijnKlantportaal answers 422 both for an already closed link (as
// documented) and for one that can no longer be closed; the link's status, read back with a GET,
// tells the two apart: closed gives ErrAlreadyClosed, paid or expired ErrNotClosable.
func (a *Adapter) Close(ctx context.Context, linkID string, _ paylink.CloseInput) (paylink.Link, error) {
	if linkID == "" {
		return paylink.Link{}, fmt.Errorf("%w: empty link id", paylink.ErrNotFound)
	}
	res, err := do(ctx, func(ctx context.Context) (*http.Response, error) {
		return a.client.ClosePaymentLink(ctx, linkID)
	}, api.ParseClosePaymentLinkResponse)
	if err != nil {
		return paylink.Link{}, err
	}
	switch {
	case res.JSON200 != nil:
		return toLink(res.StatusCode(), *res.JSON200, res.Body)
	case res.StatusCode() == http.StatusUnprocessableEntity:
		return paylink.Link{}, a.closeRefused(ctx, linkID, res.Body)
	default:
		return paylink.Link{}, failure(res.HTTPResponse, res.Body)
	}
}

// closeRefused explains a 422 on close by the link's status.
func (a *Adapter) closeRefused(ctx context.Context, linkID string, body []byte) error {
	msg := providerMessage(body)
	kind := paylink.ErrNotClosable
	if l, err := a.Get(ctx, linkID); err == nil {
		switch l.Status {
		case paylink.StatusClosed:
			kind = paylink.ErrAlreadyClosed
		case paylink.StatusActive:
			// Refused although open: the provider knows a reason we do not.
			kind = paylink.ErrProvider
		}
	} else if strings.Contains(strings.ToLower(msg), "already closed") {
		// The status could not be read: fall back on the documented meaning of the message.
		kind = paylink.ErrAlreadyClosed
	}
	return &paylink.ProviderError{Provider: Name, Kind: kind, Status: http.StatusUnprocessableEntity, Message: msg}
}

// response is what every generated response type offers.
type response interface {
	StatusCode() int
}

// do sends a request and parses the answer, telling the failures apart: no answer is a transport
// error, and an answer that cannot be read as documented is a decode error on 2xx and a plain
// provider error otherwise (an HTML error page, say).
func do[R response](ctx context.Context, send func(context.Context) (*http.Response, error), parse func(*http.Response) (R, error)) (R, error) {
	var zero R
	rsp, err := send(ctx)
	if err != nil {
		return zero, paylink.TransportError(Name, err)
	}
	body, err := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if err != nil {
		return zero, paylink.TransportError(Name, err)
	}
	rsp.Body = io.NopCloser(bytes.NewReader(body))
	res, err := parse(rsp)
	if err != nil {
		if rsp.StatusCode >= 200 && rsp.StatusCode < 300 {
			return zero, paylink.DecodeError(Name, rsp.StatusCode, err)
		}
		return zero, failure(rsp, body)
	}
	return res, nil
}
