package mijnklantportaal

import (
	"context"
	"encoding/json"
	"net/http"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
)

// The webhook-record operations are not simulated yet: the sandbox answers 501 with the provider's
// error body. (The curated spec documents them since paylinks registers webhooks at the real
// MijnKlantportaal; a sandbox that sends webhooks is a later step.)

// notSimulated is a 501 answer to any of the webhook-record operations.
type notSimulated struct{}

const msgNotSimulated = "The MijnKlantportaal sandbox does not simulate webhook records yet"

func (notSimulated) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	return json.NewEncoder(w).Encode(api.ApiError{Message: msgNotSimulated})
}

// VisitCreateWebhookRecordResponse writes the 501.
func (n notSimulated) VisitCreateWebhookRecordResponse(w http.ResponseWriter) error {
	return n.write(w)
}

// VisitListWebhookRecordsResponse writes the 501.
func (n notSimulated) VisitListWebhookRecordsResponse(w http.ResponseWriter) error { return n.write(w) }

// VisitGetWebhookRecordResponse writes the 501.
func (n notSimulated) VisitGetWebhookRecordResponse(w http.ResponseWriter) error { return n.write(w) }

// CreateWebhookRecord answers 501: not simulated yet.
func (s *Sandbox) CreateWebhookRecord(context.Context, api.CreateWebhookRecordRequestObject) (api.CreateWebhookRecordResponseObject, error) {
	return notSimulated{}, nil
}

// ListWebhookRecords answers 501: not simulated yet.
func (s *Sandbox) ListWebhookRecords(context.Context, api.ListWebhookRecordsRequestObject) (api.ListWebhookRecordsResponseObject, error) {
	return notSimulated{}, nil
}

// GetWebhookRecord answers 501: not simulated yet.
func (s *Sandbox) GetWebhookRecord(context.Context, api.GetWebhookRecordRequestObject) (api.GetWebhookRecordResponseObject, error) {
	return notSimulated{}, nil
}
