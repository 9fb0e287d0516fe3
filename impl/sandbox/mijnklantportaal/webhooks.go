package mijnklantportaal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// Webhook records and the calls made for them. A record is one event type at one URL with its own
// secret (CURATION MKP-29); records cannot be updated or deleted, as at the provider. The calls'
// body and signature are undocumented; the sandbox sends what MKP-32 assumes:
//
//	POST <record url>
//	Content-Type: application/json
//	X-Webhook-Signature: <lowercase hex HMAC-SHA256 of the raw body, keyed with the record's secret>
//
//	{"id": "plk_…", "type": "payment-link-paid", "data": <the PaymentLink as GetPaymentLink answers it>}
//
// for payment-link-created (a link is created), payment-link-paid (a payment is made on it, a
// reusable link too) and payment-link-expired (its expiry passes, however the clock got there).
// There is no closed event, and failed attempts show nowhere at MijnKlantportaal.

// SignatureHeader is the header the calls carry their signature in.
const SignatureHeader = "X-Webhook-Signature"

// secretLength is the length of a record's secret (the documented example has 20 characters).
const secretLength = 20

const msgWebhookNotFound = "No Webhook can be found for the given ID"

// record is a webhook record.
type record struct {
	id, typ, url, secret string
	createdAt            time.Time
}

// Webhooks returns the sender of the sandbox's webhook calls (switches, log).
func (s *Sandbox) Webhooks() *sandbox.Webhooks { return s.webhooks }

// Sign returns the X-Webhook-Signature the sandbox sends for body under secret: the lowercase hex
// HMAC-SHA256 of the raw body (the form MKP-32 assumes first).
func Sign(body []byte, secret string) string { return sandbox.HMACHex(secret, body) }

// CreateWebhookRecord makes a record for one event type (the schema has checked the type against
// the documented ones); the URL must be an absolute http(s) URL, as Laravel's url rule wants.
func (s *Sandbox) CreateWebhookRecord(ctx context.Context, req api.CreateWebhookRecordRequestObject) (api.CreateWebhookRecordResponseObject, error) {
	if u, err := url.Parse(req.Body.Url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f := &fieldErrors{}
		f.add("url", "The url field must be a valid URL.")
		return api.CreateWebhookRecord422JSONResponse{ValidationFailedJSONResponse: api.ValidationFailedJSONResponse(f.apiError())}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &record{id: s.newRecordID(), typ: string(req.Body.Type), url: req.Body.Url, secret: sandbox.NewSecret(secretLength, sandbox.Base62), createdAt: s.now()}
	s.records = append(s.records, r)
	return api.CreateWebhookRecord201JSONResponse(s.recordAPI(r)), nil
}

// newRecordID returns an unused wbh_ id. The caller holds s.mu.
func (s *Sandbox) newRecordID() string {
	for {
		id := s.recordIDs.Next("wbh_", 14, sandbox.Alnum)
		if !slices.ContainsFunc(s.records, func(r *record) bool { return r.id == id }) {
			return id
		}
	}
}

// ListWebhookRecords returns one page of the records, oldest first (the order a Laravel query
// without orderBy gives), secrets included.
func (s *Sandbox) ListWebhookRecords(ctx context.Context, req api.ListWebhookRecordsRequestObject) (api.ListWebhookRecordsResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]api.WebhookRecord, 0, len(s.records))
	for _, r := range s.records {
		all = append(all, s.recordAPI(r))
	}
	p := paginate(all, pageOf(req.Params.Page), endpointFrom(ctx))
	return api.ListWebhookRecords200JSONResponse{
		CurrentPage: p.current, Data: p.data, FirstPageUrl: p.first, From: p.from, To: p.to,
		NextPageUrl: p.next, PrevPageUrl: p.prev, Path: p.path, PerPage: PerPage,
	}, nil
}

// GetWebhookRecord returns one record, secret included, or 404.
func (s *Sandbox) GetWebhookRecord(ctx context.Context, req api.GetWebhookRecordRequestObject) (api.GetWebhookRecordResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.records, func(r *record) bool { return r.id == req.WebhookId })
	if i < 0 {
		return api.GetWebhookRecord404JSONResponse{Message: msgWebhookNotFound}, nil
	}
	return api.GetWebhookRecord200JSONResponse(s.recordAPI(s.records[i])), nil
}

func (s *Sandbox) recordAPI(r *record) api.WebhookRecord {
	return api.WebhookRecord{Id: r.id, Type: r.typ, Url: r.url, Secret: r.secret, CreatedAt: r.createdAt.In(s.zone)}
}

// delivery is the body of a call (MKP-32's assumption).
type delivery struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data api.PaymentLink `json:"data"`
}

// notify calls every record of the event type about the link, as it is now. The caller holds
// s.mu; the calls are made asynchronously.
func (s *Sandbox) notify(typ api.WebhookEventType, l *link) {
	var body []byte
	for _, r := range s.records {
		if r.typ != string(typ) {
			continue
		}
		if body == nil {
			var err error
			if body, err = json.Marshal(delivery{ID: l.id, Type: string(typ), Data: s.toAPI(l)}); err != nil {
				return // a PaymentLink always encodes
			}
		}
		secret := r.secret
		s.webhooks.Send(sandbox.Delivery{
			URL: r.url, Event: string(typ), Body: body,
			Header: http.Header{"Content-Type": {"application/json"}},
			Sign: func(h http.Header, body []byte, forged bool) {
				key := secret
				if forged {
					key = sandbox.ForgedSecret()
				}
				h.Set(SignatureHeader, Sign(body, key))
			},
		})
	}
}

// expireLater schedules the link's expiry on the clock, so that it expires (and its records are
// called) when the clock passes expiresAt, whether or not anyone reads it. The caller holds s.mu.
func (s *Sandbox) expireLater(l *link) {
	if l.expiresAt.IsZero() {
		return
	}
	id := l.id
	s.cfg.Clock.AfterFunc(l.expiresAt, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.get(id)
	})
}
