// Package hub2 is Hub2's inbound side: it verifies `Hub2-Signature: s1=…,s0=…` (HMAC-SHA256 of
// the raw body, lowercase hex assumed, HUB2-37) against the current and the previous secret,
// reads the ids a payment or payment-intent event names (HUB2-38), maps them to payment links
// (HUB2-39: the ids of the links' attempts, their purchase reference, the open links, a sweep of
// recently completed links) and registers paylinks with POST /webhooks.
//
// It imports the domain, the events engine, impl/inbound and gen/hub2; never the adapter, the
// sandbox or the server.
package hub2

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Name is the provider id of Hub2.
const Name = "hub2"

// Header is the signature header of Hub2's webhooks.
const Header = "Hub2-Signature"

// DefaultEvents are the events paylinks subscribes to (HUB2-38: the names come from third-party
// code; PAYLINKS_HUB2_WEBHOOK_EVENTS overrides them).
var DefaultEvents = []string{"payment.succeeded", "payment.failed", "payment_intent.succeeded"}

// SubscriptionName is the name paylinks' one Hub2 subscription is stored under.
const SubscriptionName = "default"

// SweepWindow is how far back a sweep lists completed links (fromCreatedAt).
const SweepWindow = 72 * time.Hour

// maxLinks bounds the links one webhook names that are read.
const maxLinks = 10

// sweepPages bounds the pages of completed links one sweep reads.
const sweepPages = 5

// Provider is Hub2's inbound side. It is safe for concurrent use.
type Provider struct {
	client *api.ClientWithResponses
	lister inbound.Lister
	events []string
	now    func() time.Time
	schema *openapi3.Schema
}

var (
	_ inbound.Provider  = (*Provider)(nil)
	_ inbound.Registrar = (*Provider)(nil)
)

// New returns Hub2's inbound side. Without deps.BaseURL it cannot register (Register fails).
func New(deps inbound.Deps) (inbound.Provider, error) {
	p := &Provider{lister: deps.Lister, events: deps.Events, now: deps.Now, schema: inbound.Schema(api.GetSpec, "WebhookEvent")}
	if len(p.events) == 0 {
		p.events = DefaultEvents
	}
	if p.now == nil {
		p.now = time.Now
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
			return nil, fmt.Errorf("hub2 inbound: %w", err)
		}
		p.client = c
	}
	return p, nil
}

// Name returns "hub2".
func (p *Provider) Name() string { return Name }

// Kinds is nil: Hub2 calls one URL, the event name is in the body.
func (p *Provider) Kinds() []string { return nil }

// SecretsNeeded is true: Hub2 signs its calls.
func (p *Provider) SecretsNeeded() bool { return true }

// Sign returns the Hub2-Signature of body: s1 with the current secret and, when previous is set,
// s0 with it, lowercase hex. Tests and simulators use it to play Hub2.
func Sign(body []byte, current, previous string) string {
	h := "s1=" + hex.EncodeToString(inbound.HMACSHA256(current, body))
	if previous != "" {
		h += ",s0=" + hex.EncodeToString(inbound.HMACSHA256(previous, body))
	}
	return h
}

// ParseSignature reads a Hub2-Signature header: comma-separated name=digest pairs, of which s1 and
// s0 are read (hex of a SHA-256 digest, either case); other names are skipped. It fails on a
// header without s1 or s0, a repeated name, or a digest that is not 32 bytes of hex.
func ParseSignature(h string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, item := range strings.Split(h, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not name=digest", Header, item)
		}
		if name != "s1" && name != "s0" {
			continue
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: %s given twice", Header, name)
		}
		d, err := hex.DecodeString(strings.TrimSpace(value))
		if err != nil || len(d) != 32 {
			return nil, fmt.Errorf("%s: %s is not the hex of a SHA-256 digest", Header, name)
		}
		out[name] = d
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no s1 or s0", Header)
	}
	return out, nil
}

// VerifySignature checks a Hub2-Signature header over the raw body against the secrets (any of
// them may have signed s1 or s0: the current one or, during a rotation, the previous). It returns
// which digest matched ("s1" or "s0"). Every comparison runs in constant time.
func VerifySignature(header string, body []byte, secrets []string) (string, error) {
	sigs, err := ParseSignature(header)
	if err != nil {
		return "", inbound.Malformed(err.Error())
	}
	macs := make([][]byte, len(secrets))
	for i, secret := range secrets {
		macs[i] = inbound.HMACSHA256(secret, body)
	}
	matched := ""
	for _, name := range []string{"s1", "s0"} {
		d, ok := sigs[name]
		if !ok {
			continue
		}
		for _, mac := range macs {
			if hmac.Equal(d, mac) && matched == "" {
				matched = name
			}
		}
	}
	if matched == "" {
		return "", inbound.Unauthenticated(Header + " matches none of the secrets")
	}
	return matched, nil
}

// envelope is what paylinks reads of a body (HUB2-38: third-party only, so every field may be
// absent or of another type).
func envelope(body []byte) (id, typ string) {
	var e map[string]any
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	id, _ = e["id"].(string)
	typ, _ = e["type"].(string)
	return id, typ
}

// Verify checks the signature and reads the event's id and name. Events that are not about
// payments (transfers) are acknowledged and not kept.
func (p *Provider) Verify(c inbound.Call, keys inbound.Keyring) (inbound.Accepted, error) {
	if c.Kind != "" {
		return inbound.Accepted{}, inbound.UnknownKind(Name, c.Kind)
	}
	h := c.Header.Get(Header)
	if strings.TrimSpace(h) == "" {
		return inbound.Accepted{}, inbound.Unauthenticated("missing " + Header + " header")
	}
	which, err := VerifySignature(h, c.Body, keys.For(""))
	if err != nil {
		return inbound.Accepted{}, err
	}
	acc := inbound.Accepted{Signature: which, Assumption: "the digests of Hub2-Signature are lowercase hex (HUB2-37)"}
	id, typ := envelope(c.Body)
	acc.Kind = typ
	if typ != "" && !strings.HasPrefix(typ, "payment") {
		acc.Ignore = true
	}
	if id != "" && len(id) <= 200 {
		acc.DedupKey = "event:" + id + ":" + typ
	} else {
		acc.DedupKey = inbound.HashKey("", c.Body)
	}
	return acc, nil
}

// Drift checks the body against WebhookEvent.
func (p *Provider) Drift(c inbound.Call) []string { return inbound.JSONDrift(p.schema, c.Body) }

var (
	linkID   = regexp.MustCompile(`^pl_[A-Za-z0-9_-]{1,64}$`)
	paymentR = regexp.MustCompile(`^(pi|pay)_[A-Za-z0-9_-]{1,64}$`)
)

// Hints are what a body names: links, and refs (payment intents, payments, purchase references).
type Hints struct {
	Links []paylink.ID
	Refs  []string
}

// ReadHints reads the ids a body names, wherever they are: `pl_…` links, `pi_…` and `pay_…`
// payments, and purchaseReference values. An unreadable body names nothing.
func ReadHints(body []byte) Hints {
	var h Hints
	for _, kv := range inbound.Strings(body) {
		switch {
		case kv.Key == "purchaseReference" && kv.Value != "":
			h.Refs = appendNew(h.Refs, refOf(kv.Value))
		case linkID.MatchString(kv.Value):
			if id := paylink.NewID(Name, kv.Value); !slices.Contains(h.Links, id) {
				h.Links = append(h.Links, id)
			}
		case paymentR.MatchString(kv.Value):
			h.Refs = appendNew(h.Refs, kv.Value)
		}
	}
	return h
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func refOf(purchaseReference string) string { return "ref:" + purchaseReference }

// Refs are the ids Hub2's webhooks may name for the link: its purchase reference and the ids of
// its payment attempts and their payment intents (read from the link as Hub2 returned it).
func (p *Provider) Refs(l paylink.Link) []string {
	var refs []string
	if l.Reference != "" {
		refs = append(refs, refOf(l.Reference))
	}
	var raw struct {
		PurchaseReference string `json:"purchaseReference"`
		PaymentAttempts   []struct {
			ID       any `json:"id"`
			IntentID any `json:"intentId"`
		} `json:"paymentAttempts"`
	}
	if len(l.Raw) == 0 || json.Unmarshal(l.Raw, &raw) != nil {
		return refs
	}
	if raw.PurchaseReference != "" {
		refs = appendNew(refs, refOf(raw.PurchaseReference))
	}
	for _, a := range raw.PaymentAttempts {
		for _, v := range []any{a.ID, a.IntentID} {
			if s, ok := v.(string); ok && s != "" {
				refs = appendNew(refs, s)
			}
		}
	}
	return refs
}

// Resolve reads the links the event concerns: the links it names; else the links its payment
// ids or purchase reference were seen on; else the open Hub2 links (which refreshes those ids);
// else, for an event naming payments, the completed links of the last SweepWindow whose attempts
// or reference it names. Every event comes from Hub2's answers.
func (p *Provider) Resolve(ctx context.Context, m events.InboundMessage, l *events.Lookup) error {
	h := ReadHints(m.Body)
	ids := h.Links
	byRef, err := l.LinksByRef(ctx, h.Refs, maxLinks)
	if err != nil {
		return err
	}
	for _, id := range byRef {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return check(ctx, l, ids)
	}
	candidates, err := l.Candidates(ctx)
	if err != nil {
		return err
	}
	if err := check(ctx, l, candidates); err != nil {
		return err
	}
	if len(h.Refs) == 0 {
		return nil
	}
	if found, err := l.LinksByRef(ctx, h.Refs, 1); err != nil || len(found) > 0 {
		return err // a candidate carried the payment: checked already
	}
	return p.sweep(ctx, l, h.Refs)
}

// check reads each link at Hub2 (at most maxLinks); a link Hub2 does not know is skipped.
func check(ctx context.Context, l *events.Lookup, ids []paylink.ID) error {
	var errs []error
	for _, id := range ids[:min(len(ids), maxLinks)] {
		if _, _, err := l.Check(ctx, id); err != nil && !errors.Is(err, paylink.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweep lists Hub2's completed links, newest first, back to SweepWindow, and observes those whose
// attempts or reference the event names.
func (p *Provider) sweep(ctx context.Context, l *events.Lookup, refs []string) error {
	if p.lister == nil {
		return nil
	}
	since := p.now().Add(-SweepWindow)
	q := paylink.ListQuery{Provider: Name, Status: paylink.StatusCompleted, Limit: 100}
	for range sweepPages {
		page, err := p.lister.List(ctx, q)
		if err != nil {
			return err
		}
		for _, link := range page.Links {
			if link.CreatedAt.Before(since) {
				return nil
			}
			if slices.ContainsFunc(p.Refs(link), func(r string) bool { return slices.Contains(refs, r) }) {
				if _, err := l.Observe(ctx, link); err != nil {
					return err
				}
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
	}
	return nil
}

// Register creates paylinks' subscription at Hub2 once and keeps its secret: a subscription stored
// for the same URL is kept as it is (Hub2 returns the secret only when it creates one).
func (p *Provider) Register(ctx context.Context, inboundURL string, known []events.ProviderWebhook) ([]inbound.Subscription, error) {
	for _, w := range known {
		if w.Name == SubscriptionName && w.URL == inboundURL {
			return []inbound.Subscription{{Webhook: w, Outcome: inbound.Existing}}, nil
		}
	}
	if p.client == nil {
		return nil, errors.New("hub2 inbound: no API client to register with")
	}
	desc := "paylinks"
	rsp, err := p.client.ClientInterface.CreateWebhook(ctx, api.CreateWebhookRequest{Url: inboundURL, Events: p.events, Description: &desc})
	if err != nil {
		return nil, paylink.TransportError(Name, err)
	}
	res, err := api.ParseCreateWebhookResponse(rsp)
	if err != nil {
		return nil, paylink.DecodeError(Name, rsp.StatusCode, err)
	}
	hook := res.JSON201
	if hook == nil {
		hook = res.JSON200
	}
	if hook == nil {
		var e api.Error
		_ = json.Unmarshal(res.Body, &e)
		return nil, paylink.ResponseError(Name, rsp.StatusCode, e.Code, e.Message, rsp.Header.Get("Retry-After"))
	}
	w := events.ProviderWebhook{Provider: Name, Name: SubscriptionName, RemoteID: hook.Id, URL: inboundURL, Events: p.events, Secret: hook.Secret}
	if hook.CreatedAt != nil {
		w.CreatedAt = *hook.CreatedAt
	}
	return []inbound.Subscription{{Webhook: w, Outcome: inbound.Created}}, nil
}
