// Package inboundtest plays the providers' webhook-registration APIs in front of a sandbox handler,
// with what the sandboxes' own registration does not offer: failures on demand (Fail), records
// added as if by hand (MKP.Add), predictable secrets, and a record of the calls. Tests register
// paylinks at them and read what was registered.
package inboundtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	hub2api "github.com/paylinks/paylinks/gen/hub2"
	mkpapi "github.com/paylinks/paylinks/gen/mijnklantportaal"
)

// MKP serves MijnKlantportaal's webhook records (POST /webhooks, GET /webhooks?page=, GET
// /webhooks/{id}) in pages of PerPage (default 15) and passes every other request to Fallback.
type MKP struct {
	Fallback http.Handler
	PerPage  int
	// Fail, when set, answers every records request with this status (an ApiError body).
	Fail int
	// OnList, when set, runs as a list of the records begins (before it reads them): a record
	// added then is listed.
	OnList func()

	mu      sync.Mutex
	records []mkpapi.WebhookRecord
	creates int
	auth    []string
}

// Add stores a record as if made by hand in the provider's portal.
func (m *MKP) Add(typ, url, secret string) mkpapi.WebhookRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.add(typ, url, secret)
}

func (m *MKP) add(typ, url, secret string) mkpapi.WebhookRecord {
	r := mkpapi.WebhookRecord{Id: fmt.Sprintf("wbh_%014d", len(m.records)+1), Type: typ, Url: url, Secret: secret, CreatedAt: time.Date(2024, 4, 29, 21, 0, 0, 0, time.FixedZone("", 2*3600))}
	m.records = append(m.records, r)
	return r
}

// Records returns the records, oldest first.
func (m *MKP) Records() []mkpapi.WebhookRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mkpapi.WebhookRecord(nil), m.records...)
}

// Creates counts the records created through the API.
func (m *MKP) Creates() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.creates
}

// Authorizations returns the Authorization headers of the records requests.
func (m *MKP) Authorizations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.auth...)
}

func (m *MKP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/webhooks" && !strings.HasPrefix(r.URL.Path, "/webhooks/") {
		m.Fallback.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/webhooks" && m.OnList != nil {
		m.OnList()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	if m.Fail != 0 {
		writeJSON(w, m.Fail, mkpapi.ApiError{Message: "failing on purpose"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/webhooks":
		var req mkpapi.CreateWebhookRecordRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Url == "" || req.Type == "" {
			writeJSON(w, http.StatusUnprocessableEntity, mkpapi.ApiError{Message: "The url and type fields are required."})
			return
		}
		m.creates++
		writeJSON(w, http.StatusCreated, m.add(string(req.Type), req.Url, fmt.Sprintf("mkpSecret%011d", len(m.records)+1)))
	case r.Method == http.MethodGet && r.URL.Path == "/webhooks":
		per := m.PerPage
		if per <= 0 {
			per = 15
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		from := min((page-1)*per, len(m.records))
		to := min(from+per, len(m.records))
		base := "https://api.mijnklantportaal.nl/v1/webhooks"
		out := mkpapi.WebhookRecordPage{CurrentPage: page, Data: append([]mkpapi.WebhookRecord{}, m.records[from:to]...), FirstPageUrl: base + "?page=1", Path: base, PerPage: per}
		if to < len(m.records) {
			next := fmt.Sprintf("%s?page=%d", base, page+1)
			out.NextPageUrl = &next
		}
		if from < to {
			f, t := from+1, to
			out.From, out.To = &f, &t
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodGet:
		id := strings.TrimPrefix(r.URL.Path, "/webhooks/")
		for _, rec := range m.records {
			if rec.Id == id {
				writeJSON(w, http.StatusOK, rec)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, mkpapi.ApiError{Message: "No Webhook can be found for the given ID"})
	default:
		writeJSON(w, http.StatusMethodNotAllowed, mkpapi.ApiError{Message: "Method not allowed"})
	}
}

// Hub2 serves Hub2's POST /webhooks and passes every other request to Fallback.
type Hub2 struct {
	Fallback http.Handler
	// Fail, when set, answers POST /webhooks with this status (Hub2's error body).
	Fail int

	mu       sync.Mutex
	webhooks []hub2api.Webhook
}

// Webhooks returns the subscriptions created, with their secrets.
func (h *Hub2) Webhooks() []hub2api.Webhook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hub2api.Webhook(nil), h.webhooks...)
}

func (h *Hub2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/webhooks" {
		h.Fallback.ServeHTTP(w, r)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, hub2api.Error{Status: 405, Code: "Method Not Allowed", Message: "Cannot " + r.Method + " /webhooks"})
		return
	}
	if r.Header.Get("ApiKey") == "" || r.Header.Get("MerchantId") == "" || r.Header.Get("Environment") == "" {
		writeJSON(w, http.StatusUnauthorized, hub2api.Error{Status: 401, Code: "Unauthorized", Message: "Missing authentication header(s)"})
		return
	}
	if h.Fail != 0 {
		writeJSON(w, h.Fail, hub2api.Error{Status: h.Fail, Code: http.StatusText(h.Fail), Message: "failing on purpose"})
		return
	}
	var req hub2api.CreateWebhookRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Url == "" || len(req.Events) == 0 {
		writeJSON(w, http.StatusBadRequest, hub2api.Error{Status: 400, Code: "invalid-body", Message: "url and events are required"})
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	hook := hub2api.Webhook{Id: fmt.Sprintf("wh_%021d", len(h.webhooks)+1), Url: req.Url, Events: &req.Events, Description: req.Description,
		Secret: fmt.Sprintf("%032x", len(h.webhooks)+0xabc), CreatedAt: &now}
	h.webhooks = append(h.webhooks, hook)
	writeJSON(w, http.StatusCreated, hook)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
