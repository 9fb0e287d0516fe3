// Package telness is the paylinks adapter of Telness Tech Connect payment links: it maps the
// unified create/get/close onto POST /payment-links, GET /payment-links/{id} and
// POST /payment-links/{id}/cancel through the generated client of gen/telness.
//
// Telness links differ from the other providers' in ways callers notice:
//   - a link collects for one order or one invoice (Options.OrderID xor Options.InvoiceID) and has
//     no amount or currency of its own, so Link.Amount is always nil and an amount is refused;
//   - there is no list endpoint, so List is unsupported and the unified list skips Telness;
//   - there is no reference field: the unified reference is kept in metadata["reference"] and read
//     back from there, so that metadata key is reserved;
//   - Link.URL is set only while the link is ACTIVE (Telness keeps returning it; Raw has it);
//   - idempotency keys are honoured natively (X-Idempotency-Key, 24 h).
//
// It imports only the domain (impl/paylink) and its own generated package.
package telness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// Name is the provider id.
const Name = "telness"

// referenceKey is the metadata key that carries the unified reference (Telness has no field for it).
const referenceKey = "reference"

// maxIdempotencyKey is Telness's limit on X-Idempotency-Key (TEL-15).
const maxIdempotencyKey = 256

var (
	_ paylink.Provider       = (*Adapter)(nil)
	_ paylink.OptionsDecoder = (*Adapter)(nil)
)

// Config is what the adapter needs to reach a Telness tenant.
type Config struct {
	// BaseURL is the Connect API of the tenant (https://<tenant host>), or a sandbox
	// (http://127.0.0.1:8080/sandbox/telness).
	BaseURL string
	// APIKey is sent as X-API-Key on every request. It is never logged or put into errors.
	APIKey string `paylinks:"secret"`
	// HTTPClient does the requests (e.g. with a validating transport); nil means an http.Client
	// with a 30 s timeout.
	HTTPClient api.HttpRequestDoer
}

// String describes the config without the API key, so a logged or printed Config does not leak it.
func (c Config) String() string { return call.Describe(c) }

// GoString keeps the API key out of %#v.
func (c Config) GoString() string { return call.Describe(c) }

// LogValue keeps the API key out of structured logs.
func (c Config) LogValue() slog.Value { return call.LogValue(c) }

// Adapter is the Telness provider. It is safe for concurrent use.
type Adapter struct {
	call.Auth // its Authorize sets the credentials, on the client's requests and the passthrough's
	client    *api.Client
}

// wire reads Telness's answers.
var wire = call.Provider{Name: Name, ErrorBody: errorBody, Refine: refine}

// New returns an adapter for the tenant at cfg.BaseURL.
func New(cfg Config) (*Adapter, error) {
	if err := call.BaseURL(Name, cfg.BaseURL); err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("telness: APIKey is required")
	}
	a := &Adapter{Auth: call.Headers(map[string]string{"X-API-Key": cfg.APIKey})}
	client, err := api.NewClient(cfg.BaseURL, api.WithHTTPClient(call.HTTPClient(cfg.HTTPClient)), api.WithRequestEditorFn(a.Authorize))
	if err != nil {
		return nil, fmt.Errorf("telness: %w", err)
	}
	a.client = client
	return a, nil
}

// Name returns "telness".
func (a *Adapter) Name() string { return Name }

// Capabilities says what Telness supports: create, get and close, no list, no amounts.
func (a *Adapter) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{
		Operations:        []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpClose},
		Amounts:           false,
		ReusableLinks:     false,
		OpenAmount:        false,
		Currencies:        []string{},
		NativeIdempotency: true,
		Notes: []string{
			"A link collects for exactly one order or invoice: set providerOptions.telness.orderId or invoiceId. Links carry no amount or currency (they come from the order or invoice), so amount is absent on Telness links and refused on create.",
			"Telness documents no endpoint to list payment links: the unified list skips Telness; get its links by id.",
			"Links are single-use. Close cancels an ACTIVE link; closing a cancelled link is already_closed, a completed or expired one not_closable.",
			"Telness has no reference field: reference is stored in the link's metadata under \"reference\" and read back from there, so that metadata key is reserved.",
			"Idempotency-Key is passed on to Telness as X-Idempotency-Key (kept 24 hours) for create and close.",
			"expiresAt is not in Telness's documented create body (its name is inferred from the link's field): paylinks sends it and checks the created link reports that expiry; if it does not, the link is cancelled at once and the create fails with provider_error.",
			"providerOptions.telness.successUrl and cancelUrl are refused (unsupported_by_provider): Telness documents redirect URLs but not their field names (ours would be inferred) and links do not echo them, so paylinks could not make sure they apply.",
		},
	}
}

// Create creates a link for the order or invoice named in the Options. Amounts and reuse, which
// Telness links do not have, are refused by the Client from the capabilities.
func (a *Adapter) Create(ctx context.Context, in paylink.CreateInput) (paylink.Link, error) {
	var v []paylink.Violation
	opts, err := options(in.Options)
	if err := refuseGuessed(opts); err != nil {
		return paylink.Link{}, err
	}
	var ve *paylink.ValidationError
	if errors.As(err, &ve) {
		v = append(v, ve.Violations...)
	} else if err != nil {
		return paylink.Link{}, err
	}
	if _, taken := in.Metadata[referenceKey]; taken {
		v = append(v, paylink.Violation{Field: "/metadata/" + referenceKey, Reason: "reserved at telness, where it holds the reference; set reference instead"})
	}
	if len(in.IdempotencyKey) > maxIdempotencyKey {
		v = append(v, paylink.Violation{Field: "header.Idempotency-Key", Reason: fmt.Sprintf("telness takes at most %d characters", maxIdempotencyKey)})
	}
	if len(v) > 0 {
		return paylink.Link{}, &paylink.ValidationError{Violations: v}
	}

	body := api.CreatePaymentLinkRequest{
		OrderId:          nonEmpty(opts.OrderID),
		InvoiceId:        nonEmpty(opts.InvoiceID),
		PaymentProfileId: nonEmpty(opts.PaymentProfileID),
		Description:      nonEmpty(in.Description),
	}
	if opts.SavePaymentProfile {
		body.SavePaymentProfile = &opts.SavePaymentProfile
	}
	if !in.ExpiresAt.IsZero() {
		// Telness keeps whole seconds: round up, so the link is payable at least until asked.
		t := in.ExpiresAt.UTC()
		if r := t.Truncate(time.Second); !r.Equal(t) {
			t = r.Add(time.Second)
		}
		body.ExpiresAt = &t
	}
	md := maps.Clone(in.Metadata)
	if in.Reference != "" {
		if md == nil {
			md = map[string]string{}
		}
		md[referenceKey] = in.Reference
	}
	if len(md) > 0 {
		m := api.Metadata(md)
		body.Metadata = &m
	}
	params := &api.CreatePaymentLinkParams{XIdempotencyKey: nonEmpty(in.IdempotencyKey)}

	// TEL-9: 201 and 200 both mean created.
	l, err := decodeLink(wire.Expect(http.StatusCreated, http.StatusOK).Of(a.client.CreatePaymentLink(ctx, params, body)))
	if err != nil {
		return paylink.Link{}, err
	}
	// expiresAt is not in Telness's documented create body (TEL-10): sent under the name of the
	// link's field, it counts only if the link created reports that expiry. A link without it
	// would stay payable past the time asked, so it is cancelled rather than handed out.
	if body.ExpiresAt != nil && !l.ExpiresAt.Equal(*body.ExpiresAt) {
		got := "none"
		if !l.ExpiresAt.IsZero() {
			got = l.ExpiresAt.Format(time.RFC3339)
		}
		what := fmt.Sprintf("/expiresAt: asked %s, the link reports %s", body.ExpiresAt.Format(time.RFC3339), got)
		return paylink.Link{}, paylink.NotHonoured(ctx, a, http.StatusCreated, l.ProviderLinkID, []string{what})
	}
	return l, nil
}

// refuseGuessed refuses the options whose Telness field names are not documented and that a
// link does not echo, so that paylinks could neither send them under a known name nor check
// that Telness applied them (TEL-10): a guessed name Telness ignores would drop them silently.
func refuseGuessed(o Options) error {
	const why = "Telness documents a %s but not the name of its field, and its links do not show it, so paylinks cannot make sure it is applied; leave it out (or send the field through the passthrough under the name your Telness tenant documents)"
	switch {
	case o.SuccessURL != "":
		return paylink.Unsupported(Name, optionsField+"/successUrl", fmt.Sprintf(why, "success-redirect URL"))
	case o.CancelURL != "":
		return paylink.Unsupported(Name, optionsField+"/cancelUrl", fmt.Sprintf(why, "cancel-redirect URL"))
	}
	return nil
}

// Get returns the link as Telness reports it now.
func (a *Adapter) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	return decodeLink(wire.Expect(http.StatusOK).Of(a.client.GetPaymentLink(ctx, linkID)))
}

// List is not supported: Telness documents no endpoint that lists payment links.
func (a *Adapter) List(context.Context, paylink.PageQuery) (paylink.PageResult, error) {
	return paylink.PageResult{}, paylink.Unsupported(Name, "", "Telness documents no endpoint to list payment links; get them by id")
}

// Close cancels the link. Telness answers 409 payment_link_not_cancellable for any link that is
// not ACTIVE (TEL-8): ErrNotClosable, which the Client refines by the link's status.
func (a *Adapter) Close(ctx context.Context, linkID string, in paylink.CloseInput) (paylink.Link, error) {
	if len(in.IdempotencyKey) > maxIdempotencyKey {
		return paylink.Link{}, paylink.Invalid("header.Idempotency-Key", fmt.Sprintf("telness takes at most %d characters", maxIdempotencyKey))
	}
	// A 409 is payment_link_not_cancellable, or a code this version does not know; refine reads
	// the idempotency codes, which are not about the link.
	params := &api.CancelPaymentLinkParams{XIdempotencyKey: nonEmpty(in.IdempotencyKey)}
	return decodeLink(wire.Expect(http.StatusOK).Or(http.StatusConflict, paylink.ErrNotClosable).Of(a.client.CancelPaymentLink(ctx, linkID, params)))
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// decodeLink reads a PaymentLink answer; a link without its id breaks the contract.
var decodeLink = call.Decoder(wire, func(a call.Answer, pl api.PaymentLink) (paylink.Link, error) {
	if pl.PaymentLinkId == "" {
		return paylink.Link{}, paylink.DecodeError(Name, a.Status, errors.New("paymentLinkId is missing"))
	}
	return toLink(pl, a.Body), nil
})

// errorBody reads Telness's error body {code, message, details}.
func errorBody(body []byte) (code, message string) {
	var e api.Error
	_ = json.Unmarshal(body, &e) // an unreadable error body still has a status
	if e.Code != nil {
		code = *e.Code
	}
	return code, e.Message
}

// refine reads what Telness's error body says beyond its status: the kinds of its idempotency
// codes, and its field details as violations.
func refine(ans call.Answer, pe *paylink.ProviderError) {
	switch pe.Code {
	case "idempotency_key_mismatch":
		// The caller reused a key for another request: their input, not a provider failure.
		pe.Kind = paylink.ErrInvalidInput
	case "idempotency_key_locked":
		// The first request with the key is still running: retry later.
		pe.Kind = paylink.ErrProviderUnavailable
	}
	var body api.Error
	if ans.Status == http.StatusBadRequest && json.Unmarshal(ans.Body, &body) == nil && body.Details != nil && len(*body.Details) > 0 {
		v := make([]paylink.Violation, 0, len(*body.Details))
		for _, d := range *body.Details {
			v = append(v, violationFor(d))
		}
		pe.Err = &paylink.ValidationError{Violations: v}
	}
}

// unifiedField says where a Telness request property lives in the unified create body.
var unifiedField = map[string]string{
	"orderId":                  optionsField + "/orderId",
	"invoiceId":                optionsField + "/invoiceId",
	"paymentProfileId":         optionsField + "/paymentProfileId",
	"savePaymentProfile":       optionsField + "/savePaymentProfile",
	"successUrl":               optionsField + "/successUrl",
	"cancelUrl":                optionsField + "/cancelUrl",
	"description":              "/description",
	"expiresAt":                "/expiresAt",
	"metadata":                 "/metadata",
	"metadata." + referenceKey: "/reference",
	"X-Idempotency-Key":        "header.Idempotency-Key",
}

// violationFor points a Telness error detail at the unified field it is about.
func violationFor(d api.ErrorDetail) paylink.Violation {
	prop := ""
	if d.Property != nil {
		prop = *d.Property
	}
	field, ok := unifiedField[prop]
	switch {
	case ok:
	case strings.HasPrefix(prop, "metadata."):
		field = "/metadata/" + strings.TrimPrefix(prop, "metadata.")
	case prop == "":
		field = "/"
	default:
		field = optionsField
		d.Message = prop + ": " + d.Message
	}
	return paylink.Violation{Field: field, Reason: d.Message}
}
