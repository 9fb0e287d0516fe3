// Package inbound receives the providers' own webhooks. A call is verified over its raw body with
// the provider's secrets (in constant time), checked against the provider's curated schema in
// report mode (drift is logged and counted, never refused), kept durably in the events inbox
// (events.Service.Receive) and answered 2xx at once. The provider's Resolver then reads the links
// the call concerns at the provider, and only what the provider answers makes events: a webhook is
// a hint, and a forged or unreadable body never emits anything on its own.
//
// This package holds what every provider shares (the receiving, the secrets, the registration
// of subscriptions, the metrics); each provider's verification, reading and resolution lives in a
// subpackage (hub2, mijnklantportaal, mollie). It imports the events engine and the domain; never
// an adapter, a sandbox or the server.
package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Call is one inbound call, its body read in full.
type Call struct {
	// Kind is the path segment after /webhooks/<provider>/ ("" when there is none): the event type
	// for providers that register one URL per type (MijnKlantportaal).
	Kind   string
	Header http.Header
	Body   []byte
}

// Accepted is a verified call, as the inbox keeps it.
type Accepted struct {
	// Kind is what the call is about (an event type), "" when unknown.
	Kind string
	// DedupKey and Repeatable: see events.Inbound.
	DedupKey   string
	Repeatable bool
	// Signature names the form that verified the call ("s1", "hmac-sha256-hex", "none", …): a
	// metric label, never a secret.
	Signature string
	// Assumption, when set, is what the verification assumed where the provider's docs are silent;
	// it is logged once per provider and Signature.
	Assumption string
	// Ignore marks a verified call about nothing paylinks follows (a Hub2 transfer event): it is
	// acknowledged and not kept.
	Ignore bool
	// Body, when set, is what the inbox keeps instead of the raw body: for a call no signature
	// authenticates (Mollie's), only what paylinks reads of it, so that anyone sending padded
	// calls cannot fill the event store.
	Body []byte
}

// Provider is one provider's inbound side: how its calls are verified and read, and (as an
// events.Resolver) which links they concern.
type Provider interface {
	events.Resolver
	Name() string
	// Kinds are the event types the provider registers one URL each for (nil: one URL).
	Kinds() []string
	// Verify authenticates the call with the provider's secrets and reads what the inbox needs.
	// Its errors are *Refusal.
	Verify(c Call, keys Keyring) (Accepted, error)
	// Drift lists how the body departs from the provider's curated schema (nil when it does not).
	Drift(c Call) []string
	// SecretsNeeded reports whether the provider signs its calls (Mollie's classic webhooks are
	// not signed: they are hints confirmed by reading the links, like every other).
	SecretsNeeded() bool
}

// Lister lists links through the unified client (*paylink.Client), for sweeps.
type Lister interface {
	List(ctx context.Context, q paylink.ListQuery) (paylink.ListPage, error)
}

// Deps is what a provider's inbound side is built from.
type Deps struct {
	// BaseURL, HTTP and Authorize reach the provider's API as the adapter does (registration).
	BaseURL   string
	HTTP      *http.Client
	Authorize func(ctx context.Context, r *http.Request) error
	// Lister lists links of every provider (the unified client).
	Lister Lister
	// Events overrides the event names the provider is subscribed to, where it has a choice (Hub2).
	Events []string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Subscription is a subscription at a provider after Register, with its secret.
type Subscription struct {
	Webhook events.ProviderWebhook
	// Outcome says what Register did: created, existing (kept as stored) or adopted (found at the
	// provider and taken over).
	Outcome string
}

// The outcomes of a Subscription.
const (
	Created  = "created"
	Existing = "existing"
	Adopted  = "adopted"
)

// Registrar is implemented by providers with a registration API.
type Registrar interface {
	// Register makes sure the provider calls paylinks at inboundURL (+ "/" + kind for each kind of
	// a provider with Kinds), idempotently, and returns every subscription to keep. known are the
	// subscriptions stored so far.
	Register(ctx context.Context, inboundURL string, known []events.ProviderWebhook) ([]Subscription, error)
}

// Refusal is a call that is not kept: its HTTP status, the result it is counted as, and why.
type Refusal struct {
	Status int
	// Result is the metric label: bad_signature, unknown_type, not_a_link_type, malformed,
	// too_large, unknown_provider.
	Result string
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }

// Refusals the providers' Verify return.
func Unauthenticated(reason string) *Refusal {
	return &Refusal{Status: http.StatusUnauthorized, Result: "bad_signature", Reason: reason}
}

// Malformed is a call whose framing cannot be read (a signature header of the wrong form, a form
// without its id).
func Malformed(reason string) *Refusal {
	return &Refusal{Status: http.StatusBadRequest, Result: "malformed", Reason: reason}
}

// UnknownKind is a path naming no event type of the provider.
func UnknownKind(provider, kind string) *Refusal {
	if kind == "" {
		return &Refusal{Status: http.StatusNotFound, Result: "unknown_type", Reason: fmt.Sprintf("%s webhooks are received at /webhooks/%s/<event type>", provider, provider)}
	}
	return &Refusal{Status: http.StatusNotFound, Result: "unknown_type", Reason: fmt.Sprintf("%q is not a %s event type paylinks receives", kind, provider)}
}

// NotFollowed is a documented event type paylinks does not follow (it concerns no payment link).
func NotFollowed(provider, kind string) *Refusal {
	return &Refusal{Status: http.StatusUnprocessableEntity, Result: "not_a_link_type", Reason: fmt.Sprintf("%s events of type %q concern no payment link; do not send them here", provider, kind)}
}

// Keyring holds a provider's secrets: some for every kind, some for one kind each.
type Keyring struct {
	all    []string
	byKind map[string][]string
}

// For returns the secrets that may have signed a call of the kind: the kind's own, then the
// others (a secret given for every kind).
func (k Keyring) For(kind string) []string {
	out := append([]string(nil), k.byKind[kind]...)
	return append(out, k.all...)
}

// All returns every secret of the keyring, whatever its kind.
func (k Keyring) All() []string {
	out := append([]string(nil), k.all...)
	for _, secrets := range k.byKind {
		out = append(out, secrets...)
	}
	return out
}

// Empty reports whether the keyring holds no secret at all.
func (k Keyring) Empty() bool { return len(k.all) == 0 && len(k.byKind) == 0 }

// Add adds secrets for a kind ("" = every kind), skipping empty and known ones.
func (k *Keyring) Add(kind string, secrets ...string) {
	for _, s := range secrets {
		if s == "" || slices.Contains(k.For(kind), s) {
			continue
		}
		if kind == "" {
			k.all = append(k.all, s)
			continue
		}
		if k.byKind == nil {
			k.byKind = map[string][]string{}
		}
		k.byKind[kind] = append(k.byKind[kind], s)
	}
}

// ParseSecrets reads PAYLINKS_<PROVIDER>_WEBHOOK_SECRETS for a provider. For a provider with
// kinds (MijnKlantportaal) it is comma-separated `type=secret` pairs, or one secret for every
// type; otherwise comma-separated secrets, the current one first (Hub2: current,previous).
// Secrets cannot contain commas; blanks around items are ignored.
func ParseSecrets(p Provider, value string) (Keyring, error) {
	var k Keyring
	var items []string
	for _, it := range strings.Split(value, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	kinds := p.Kinds()
	if len(kinds) == 0 {
		k.Add("", items...)
		return k, nil
	}
	for _, it := range items {
		kind, secret, ok := strings.Cut(it, "=")
		kind, secret = strings.TrimSpace(kind), strings.TrimSpace(secret)
		if ok && slices.Contains(kinds, kind) {
			if secret == "" {
				return k, fmt.Errorf("%s: no secret after %q", p.Name(), kind+"=")
			}
			k.Add(kind, secret)
			continue
		}
		if len(items) > 1 {
			return k, fmt.Errorf("%s: %q is not <event type>=<secret> with a known event type (give pairs, or one secret for every type)", p.Name(), redact(it))
		}
		k.Add("", it)
	}
	return k, nil
}

// redact keeps what names the item (an event type before "=") and hides the rest.
func redact(item string) string {
	if kind, _, ok := strings.Cut(item, "="); ok {
		return kind + "=…"
	}
	return "…"
}

// ErrNoSecret is returned for a provider whose calls cannot be verified yet.
var ErrNoSecret = errors.New("no webhook secret is configured: register (paylinks webhooks register) or set PAYLINKS_<PROVIDER>_WEBHOOK_SECRETS")
