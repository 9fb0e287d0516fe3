// Package mijnklantportaal is MijnKlantportaal's inbound side. The provider registers one URL per
// event type (/webhooks/mijnklantportaal/<type>), each record with its own secret, and documents
// neither its bodies nor how X-Webhook-Signature is made (MKP-32): paylinks accepts the plausible
// forms (the secret itself, or an HMAC-SHA256 of the raw body keyed with it, hex or base64, with or
// without a `sha256=` prefix), names the one that matched, reads the `plk_` ids anywhere in the
// body and confirms with GetPaymentLink. It registers paylinks idempotently: the provider has no
// delete, so it lists the records first and creates only the missing types.
//
// It imports the domain, the events engine, impl/inbound and gen/mijnklantportaal; never the
// adapter, the sandbox or the server.
package mijnklantportaal

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Name is the provider id of MijnKlantportaal.
const Name = "mijnklantportaal"

// Header is the signature header of MijnKlantportaal's webhook calls.
const Header = "X-Webhook-Signature"

// LinkTypes are the payment-link event types paylinks registers and receives (no closed event
// exists: the poller sees closes).
var LinkTypes = []string{string(api.WebhookEventTypePaymentLinkCreated), string(api.WebhookEventTypePaymentLinkExpired), string(api.WebhookEventTypePaymentLinkPaid)}

// maxLinks bounds the links one call names that are read.
const maxLinks = 10

// maxPages bounds the pages of records read when registering.
const maxPages = 50

// The signature forms accepted, as counted in paylinks_inbound_webhooks_total{signature}.
const (
	FormSecret       = "secret"
	FormHex          = "hmac-sha256-hex"
	FormBase64       = "hmac-sha256-base64"
	FormPrefixHex    = "sha256=hmac-sha256-hex"
	FormPrefixBase64 = "sha256=hmac-sha256-base64"
)

// Provider is MijnKlantportaal's inbound side. It is safe for concurrent use.
type Provider struct {
	client *api.ClientWithResponses
	schema *openapi3.Schema
	kinds  []string
}

var (
	_ inbound.Provider  = (*Provider)(nil)
	_ inbound.Registrar = (*Provider)(nil)
)

// New returns MijnKlantportaal's inbound side. Without deps.BaseURL it cannot register.
func New(deps inbound.Deps) (inbound.Provider, error) {
	doc, err := api.GetSpec() // parsed once for both schemas
	spec := func() (*openapi3.T, error) { return doc, err }
	p := &Provider{schema: inbound.Schema(spec, "WebhookDelivery")}
	for _, v := range inbound.Schema(spec, "WebhookEventType").Enum {
		if s, ok := v.(string); ok {
			p.kinds = append(p.kinds, s)
		}
	}
	if deps.BaseURL != "" {
		opts := []api.ClientOption{}
		if deps.HTTP != nil {
			opts = append(opts, api.WithHTTPClient(deps.HTTP))
		}
		if deps.Authorize != nil {
			opts = append(opts, api.WithRequestEditorFn(api.RequestEditorFn(deps.Authorize)))
		}
		c, err := api.NewClientWithResponses(deps.BaseURL, opts...)
		if err != nil {
			return nil, fmt.Errorf("mijnklantportaal inbound: %w", err)
		}
		p.client = c
	}
	return p, nil
}

// Name returns "mijnklantportaal".
func (p *Provider) Name() string { return Name }

// Kinds are the 23 documented event types: the secrets of PAYLINKS_MIJNKLANTPORTAAL_WEBHOOK_SECRETS
// are given per type.
func (p *Provider) Kinds() []string { return p.kinds }

// Followed are the event types paylinks receives.
func (p *Provider) Followed() []string { return LinkTypes }

// SecretsNeeded is true: every call carries its record's secret.
func (p *Provider) SecretsNeeded() bool { return true }

// assumptions says what each accepted form assumes, for the log.
var assumptions = map[string]string{
	FormSecret:       "X-Webhook-Signature carries the record's secret itself (MKP-32)",
	FormHex:          "X-Webhook-Signature is the hex HMAC-SHA256 of the raw body keyed with the record's secret (MKP-32)",
	FormBase64:       "X-Webhook-Signature is the base64 HMAC-SHA256 of the raw body keyed with the record's secret (MKP-32)",
	FormPrefixHex:    "X-Webhook-Signature is sha256= and the hex HMAC-SHA256 of the raw body keyed with the record's secret (MKP-32)",
	FormPrefixBase64: "X-Webhook-Signature is sha256= and the base64 HMAC-SHA256 of the raw body keyed with the record's secret (MKP-32)",
}

// VerifySignature checks an X-Webhook-Signature value over the raw body against the secrets, in
// every accepted form, and returns the form that matched. Each comparison is constant time.
func VerifySignature(sig string, body []byte, secrets []string) (string, bool) {
	sig = strings.TrimSpace(sig)
	digest, prefixed := sig, false
	if rest, ok := strings.CutPrefix(sig, "sha256="); ok {
		digest, prefixed = rest, true
	}
	var asHex, asB64 []byte
	if d, err := hex.DecodeString(digest); err == nil && len(d) == 32 {
		asHex = d
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(digest); err == nil && len(d) == 32 {
			asB64 = d
			break
		}
	}
	matched := ""
	for _, secret := range secrets {
		mac := inbound.HMACSHA256(secret, body)
		switch {
		case subtle.ConstantTimeCompare([]byte(sig), []byte(secret)) == 1:
			matched = FormSecret
		case asHex != nil && hmac.Equal(asHex, mac):
			matched = pick(prefixed, FormPrefixHex, FormHex)
		case asB64 != nil && hmac.Equal(asB64, mac):
			matched = pick(prefixed, FormPrefixBase64, FormBase64)
		}
		if matched != "" {
			return matched, true
		}
	}
	return "", false
}

func pick(prefixed bool, yes, no string) string {
	if prefixed {
		return yes
	}
	return no
}

// Verify checks the event type of the URL and the signature with the secrets of that type.
func (p *Provider) Verify(c inbound.Call, keys inbound.Keyring) (inbound.Accepted, error) {
	if !slices.Contains(p.kinds, c.Kind) {
		return inbound.Accepted{}, inbound.UnknownKind(Name, c.Kind)
	}
	if !slices.Contains(LinkTypes, c.Kind) {
		return inbound.Accepted{}, inbound.NotFollowed(Name, c.Kind)
	}
	sig := c.Header.Get(Header)
	if strings.TrimSpace(sig) == "" {
		return inbound.Accepted{}, inbound.Unauthenticated("missing " + Header + " header")
	}
	form, ok := VerifySignature(sig, c.Body, keys.For(c.Kind))
	if !ok {
		return inbound.Accepted{}, inbound.Unauthenticated(Header + " matches none of the secrets of " + c.Kind)
	}
	// No event id is documented: a copy is the same type and the same bytes.
	return inbound.Accepted{Kind: c.Kind, DedupKey: inbound.HashKey(c.Kind, c.Body), Signature: form, Assumption: assumptions[form]}, nil
}

// Drift checks the body against WebhookDelivery (an assumption itself: MKP-32).
func (p *Provider) Drift(c inbound.Call) []string { return inbound.JSONDrift(p.schema, c.Body) }

var linkID = regexp.MustCompile(`^plk_[A-Za-z0-9]{1,64}$`)

// ReadLinks returns the payment links a body names: every `plk_` id in it, wherever it is.
func ReadLinks(body []byte) []paylink.ID {
	var out []paylink.ID
	for _, kv := range inbound.Strings(body) {
		if linkID.MatchString(kv.Value) {
			if id := paylink.NewID(Name, kv.Value); !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// Refs is nil: the calls are assumed to name their link.
func (p *Provider) Refs(paylink.Link) []string { return nil }

// Resolve reads the links the call names at MijnKlantportaal; a call naming none re-checks the
// open MijnKlantportaal links (bounded and budgeted: the provider allows 60 requests a minute).
func (p *Provider) Resolve(ctx context.Context, m events.InboundMessage, l *events.Lookup) error {
	ids := ReadLinks(m.Body)
	if len(ids) == 0 {
		var err error
		if ids, err = l.Candidates(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, id := range ids[:min(len(ids), maxLinks)] {
		if _, _, err := l.Check(ctx, id); err != nil && !errors.Is(err, paylink.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Register makes sure a record exists for every payment-link type at inboundURL/<type>. The
// records are listed first (the provider has no delete and returns each record's secret): one
// already there is adopted, or kept as stored; only the missing types are created.
func (p *Provider) Register(ctx context.Context, inboundURL string, known []events.ProviderWebhook) ([]inbound.Subscription, error) {
	if p.client == nil {
		return nil, errors.New("mijnklantportaal inbound: no API client to register with")
	}
	remote, err := p.records(ctx)
	if err != nil {
		return nil, err
	}
	var out []inbound.Subscription
	for _, typ := range LinkTypes {
		want := inboundURL + "/" + typ
		i := slices.IndexFunc(remote, func(r api.WebhookRecord) bool { return r.Type == typ && r.Url == want })
		if i < 0 {
			rec, err := p.create(ctx, want, typ)
			if err != nil {
				return out, err
			}
			out = append(out, inbound.Subscription{Webhook: toWebhook(rec), Outcome: inbound.Created})
			continue
		}
		w, outcome := toWebhook(remote[i]), inbound.Adopted
		if k := slices.IndexFunc(known, func(k events.ProviderWebhook) bool {
			return k.Name == typ && k.RemoteID == w.RemoteID && k.Secret == w.Secret && k.URL == w.URL
		}); k >= 0 {
			w, outcome = known[k], inbound.Existing
		}
		out = append(out, inbound.Subscription{Webhook: w, Outcome: outcome})
	}
	return out, nil
}

func toWebhook(r api.WebhookRecord) events.ProviderWebhook {
	return events.ProviderWebhook{Provider: Name, Name: r.Type, RemoteID: r.Id, URL: r.Url, Events: []string{r.Type}, Secret: r.Secret, CreatedAt: r.CreatedAt}
}

// records lists every webhook record, page by page.
func (p *Provider) records(ctx context.Context) ([]api.WebhookRecord, error) {
	var out []api.WebhookRecord
	for page := 1; page <= maxPages; page++ {
		rsp, err := p.client.ClientInterface.ListWebhookRecords(ctx, &api.ListWebhookRecordsParams{Page: &page})
		if err != nil {
			return nil, paylink.TransportError(Name, err)
		}
		res, err := api.ParseListWebhookRecordsResponse(rsp)
		if err != nil {
			return nil, paylink.DecodeError(Name, rsp.StatusCode, err)
		}
		if res.JSON200 == nil {
			return nil, answerError(rsp.StatusCode, res.Body, rsp.Header.Get("Retry-After"))
		}
		out = append(out, res.JSON200.Data...)
		if res.JSON200.NextPageUrl == nil || len(res.JSON200.Data) == 0 {
			return out, nil
		}
		if next, err := url.Parse(*res.JSON200.NextPageUrl); err != nil || next.Query().Get("page") == "" {
			return out, nil
		}
	}
	return out, fmt.Errorf("mijnklantportaal: more than %d pages of webhook records", maxPages)
}

func (p *Provider) create(ctx context.Context, target, typ string) (api.WebhookRecord, error) {
	rsp, err := p.client.ClientInterface.CreateWebhookRecord(ctx, api.CreateWebhookRecordRequest{Url: target, Type: api.WebhookEventType(typ)})
	if err != nil {
		return api.WebhookRecord{}, paylink.TransportError(Name, err)
	}
	res, err := api.ParseCreateWebhookRecordResponse(rsp)
	if err != nil {
		return api.WebhookRecord{}, paylink.DecodeError(Name, rsp.StatusCode, err)
	}
	switch {
	case res.JSON201 != nil:
		return *res.JSON201, nil
	case res.JSON200 != nil:
		return *res.JSON200, nil
	}
	return api.WebhookRecord{}, answerError(rsp.StatusCode, res.Body, rsp.Header.Get("Retry-After"))
}

func answerError(status int, body []byte, retryAfter string) error {
	var e api.ApiError
	_ = json.Unmarshal(body, &e)
	return paylink.ResponseError(Name, status, "", e.Message, retryAfter)
}
