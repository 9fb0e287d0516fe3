// Package mollie is Mollie's inbound side for classic webhooks: Mollie POSTs the form `id=tr_…`
// (a payment's id) to the webhookUrl of the link the payment was made through, unsigned
// (MOL-19, MOL-25). The id is only a hint: paylinks re-reads the open Mollie links it watches
// (bounded, most recently watched first) and lets their state, as Mollie answers it, decide.
// There is nothing to register: each link names its webhookUrl when it is created.
//
// It imports the domain, the events engine, impl/inbound and gen/mollie (for the schema); never the
// adapter, the sandbox or the server.
package mollie

import (
	"context"
	"errors"
	"net/url"
	"regexp"

	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Name is the provider id of Mollie.
const Name = "mollie"

// Provider is Mollie's inbound side. It is safe for concurrent use.
type Provider struct {
	schema *openapi3.Schema
}

var _ inbound.Provider = (*Provider)(nil)

// New returns Mollie's inbound side.
func New(inbound.Deps) (inbound.Provider, error) {
	return &Provider{schema: inbound.Schema(api.GetSpec, "WebhookRequest")}, nil
}

// Name returns "mollie".
func (p *Provider) Name() string { return Name }

// Kinds is nil: one URL.
func (p *Provider) Kinds() []string { return nil }

// SecretsNeeded is false: classic webhooks are not signed.
func (p *Provider) SecretsNeeded() bool { return false }

var paymentID = regexp.MustCompile(`^tr_[A-Za-z0-9]{1,64}$`)

// ReadPaymentID reads the payment id of a classic webhook's form body.
func ReadPaymentID(body []byte) (string, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", inbound.Malformed("the body is not a form (id=tr_…)")
	}
	ids := form["id"]
	if len(ids) != 1 || !paymentID.MatchString(ids[0]) {
		return "", inbound.Malformed("the form must carry one id, a Mollie payment id (tr_…)")
	}
	return ids[0], nil
}

// Verify reads the payment id. There is no signature to check: the call only makes paylinks read
// links at Mollie. Copies of an id are resolved again once the first was (Mollie sends the same id
// for every status change of a payment).
func (p *Provider) Verify(c inbound.Call, _ inbound.Keyring) (inbound.Accepted, error) {
	if c.Kind != "" {
		return inbound.Accepted{}, inbound.UnknownKind(Name, c.Kind)
	}
	id, err := ReadPaymentID(c.Body)
	if err != nil {
		return inbound.Accepted{}, err
	}
	// Unsigned: only the id is kept, whatever else a caller padded the form with.
	return inbound.Accepted{Kind: "payment", DedupKey: "payment:" + id, Repeatable: true, Signature: "none", Body: []byte("id=" + id)}, nil
}

// Drift checks the form against WebhookRequest.
func (p *Provider) Drift(c inbound.Call) []string {
	form, err := url.ParseQuery(string(c.Body))
	if err != nil {
		return []string{"the body is not a form"}
	}
	doc := map[string]any{}
	for k, v := range form {
		if len(v) == 1 {
			doc[k] = v[0]
		} else {
			doc[k] = v
		}
	}
	return inbound.CheckSchema(p.schema, doc)
}

// Refs is nil: a Mollie link does not show its payments' ids.
func (p *Provider) Refs(paylink.Link) []string { return nil }

// Resolve re-reads the open Mollie links (bounded): whichever the payment was made through shows
// it as Mollie answers (paid, or still open). The poller covers links beyond the bound.
func (p *Provider) Resolve(ctx context.Context, _ events.InboundMessage, l *events.Lookup) error {
	ids, err := l.Candidates(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, _, err := l.Check(ctx, id); err != nil && !errors.Is(err, paylink.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
