package mollie

import (
	"net/http"
	"net/url"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// The calls Mollie makes to a link's webhookUrl (classic webhooks, CURATION MOL-19 and MOL-25):
// when a payment made through the link changes status (paid, failed), a form-encoded POST of
//
//	id=tr_…
//
// and nothing else: no signature, no status. The receiver reads the payment (or the link) back,
// so a forged call changes nothing. A link's creation or expiry calls nobody.

// Webhooks returns the sender of the sandbox's webhook calls (switches, log).
func (s *Sandbox) Webhooks() *sandbox.Webhooks { return s.webhooks }

// notify calls the link's webhookUrl, if it has one, about the payment. The caller holds s.mu; the
// call is made asynchronously.
func (s *Sandbox) notify(l *link, p *payment) {
	if l.webhookURL == nil || *l.webhookURL == "" {
		return
	}
	s.webhooks.Send(sandbox.Delivery{
		URL:   *l.webhookURL,
		Event: "payment." + string(p.status),
		Body:  []byte(url.Values{"id": {p.id}}.Encode()),
		Header: http.Header{
			"Content-Type": {"application/x-www-form-urlencoded"},
			"User-Agent":   {"Mollie HTTP client/1.0"},
		},
	})
}
