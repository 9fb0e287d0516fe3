// Package events is paylinks' link-event engine: it turns what paylinks sees of a link (the
// unified API's own creates and closes, polls, provider webhooks) into one durable event per
// transition, and delivers every event to the merchants' webhook endpoints, signed the Standard
// Webhooks way, retried with backoff, with every attempt logged.
//
// A Service (Open) holds it all: Observe and Watch feed it, a poller watches non-terminal links
// through a Getter, a dispatcher delivers, endpoint management and event queries serve the API,
// Stream serves the live stream. State lives in a store.Store (SQLite by default, PostgreSQL for
// several instances); nothing is kept only in memory, and every instance may run the poller and the
// dispatcher: leases in the store share the work.
//
// Guarantees:
//   - One event per link and transition (dedup key "{provider}:{linkId}:{type}" unique in the
//     store), whichever source and instance sees it first.
//   - At-least-once delivery: a duplicate (after a crash between POST and record) carries the same
//     webhook-id, the event id. Order is not guaranteed; data.sequence lets receivers drop stale
//     events.
//   - A status of "unknown" never emits payment_link.completed.
//
// It imports the domain (impl/paylink) and its own subpackages; never a provider, gen package,
// sandbox or the server.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Type is an event type.
type Type string

// The event types.
const (
	LinkCreated   Type = "payment_link.created"
	LinkCompleted Type = "payment_link.completed"
	LinkExpired   Type = "payment_link.expired"
	LinkClosed    Type = "payment_link.closed"
	EndpointTest  Type = "webhook_endpoint.test"
)

// Types lists every event type.
var Types = []Type{LinkCreated, LinkCompleted, LinkExpired, LinkClosed, EndpointTest}

// Valid reports whether t is a known event type.
func (t Type) Valid() bool {
	for _, v := range Types {
		if t == v {
			return true
		}
	}
	return false
}

// Source says what saw a transition.
type Source string

// The sources.
const (
	SourceAPI             Source = "api"              // a create or close (or get) through the unified API
	SourcePoll            Source = "poll"             // the poller's GET at the provider
	SourceProviderWebhook Source = "provider_webhook" // a provider's webhook, confirmed by GET
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	return s == SourceAPI || s == SourcePoll || s == SourceProviderWebhook
}

// Event is one event, as the API lists it and receivers get it (its JSON is the payload).
type Event struct {
	ID        string    `json:"id"`
	Type      Type      `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
	// Provider and LinkID are the link's (empty for webhook_endpoint.test); not in the payload.
	Provider string `json:"-"`
	LinkID   string `json:"-"`
}

// EventData is the data of an event. For link events Link is the unified link exactly as
// GET /v1/payment-links/{id} returns it, PreviousStatus the status before the transition (null
// for created), Sequence the number of the transition for that link (1 for created). A
// webhook_endpoint.test event carries EndpointID and Sequence 0 instead.
type EventData struct {
	Link           json.RawMessage `json:"link,omitempty"`
	PreviousStatus *string         `json:"previousStatus"`
	Source         Source          `json:"source"`
	Sequence       int64           `json:"sequence"`
	EndpointID     string          `json:"endpointId,omitempty"`
}

// fromStored decodes a stored event.
func fromStored(r store.Event) (Event, error) {
	var e Event
	if err := json.Unmarshal(r.Payload, &e); err != nil {
		return e, fmt.Errorf("event %s: stored payload: %w", r.ID, err)
	}
	e.Provider, e.LinkID = r.Provider, r.LinkID
	return e, nil
}

func fromStoredAll(rs []store.Event) ([]Event, error) {
	out := make([]Event, 0, len(rs))
	for _, r := range rs {
		e, err := fromStored(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// typeFor is the event a link entering the status emits ("" for none).
func typeFor(s paylink.Status) Type {
	switch s {
	case paylink.StatusCompleted:
		return LinkCompleted
	case paylink.StatusExpired:
		return LinkExpired
	case paylink.StatusClosed:
		return LinkClosed
	default: // active, unknown, anything new: no event; unknown is never a completion
		return ""
	}
}

func terminal(s paylink.Status) bool { return typeFor(s) != "" }

// terminalStatuses are the stored statuses after which a link is no longer polled.
var terminalStatuses = []string{string(paylink.StatusCompleted), string(paylink.StatusExpired), string(paylink.StatusClosed)}

// ErrNotFound matches every "no such event / endpoint / delivery" error. Those errors also match
// paylink.ErrNotFound, so the server's problem mapping answers 404 without a new case.
var ErrNotFound = errors.New("not found")

// NotFoundError names what was not found.
type NotFoundError struct {
	What string // "event", "webhook endpoint"
	ID   string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.What, e.ID) }

// Is makes a NotFoundError match ErrNotFound, store.ErrNotFound and paylink.ErrNotFound.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == store.ErrNotFound || target == paylink.ErrNotFound
}

// notFound turns the store's not-found into a NotFoundError naming the thing.
func notFound(err error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{What: what, ID: id}
	}
	return err
}
