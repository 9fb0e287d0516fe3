package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Cursors are opaque to callers: the base64 of the list's kind and the last id of the page. The
// kind keeps a cursor of one list from being used on another.
const (
	cursorEvents     = "e1"
	cursorEndpoints  = "w1"
	cursorDeliveries = "d1"
)

var cursorPrefix = map[string]string{cursorEvents: "evt", cursorEndpoints: "we", cursorDeliveries: "dlv"}

func encodeCursor(kind, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + id))
}

// decodeCursor returns the id a cursor of that kind points after; "" for the first page.
func decodeCursor(kind, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	bad := paylink.Invalid("query.cursor", "not a cursor of this list; pass nextCursor as returned")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(c) > 200 {
		return "", bad
	}
	k, id, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind || !strings.HasPrefix(id, cursorPrefix[kind]+"_") {
		return "", bad
	}
	if _, ok := store.IDTime(id); !ok {
		return "", bad
	}
	return id, nil
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func pageArgs(kind, cursor string, limit int) (string, int, error) {
	before, err := decodeCursor(kind, cursor)
	if err != nil {
		return "", 0, err
	}
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return "", 0, paylink.Invalid("query.limit", "between 1 and 100")
	}
	return before, limit, nil
}

func marshalEvent(e Event) ([]byte, error) { return json.Marshal(e) }

// EventFilter selects events; every field is optional.
type EventFilter struct {
	Type     string
	LinkID   string
	Provider string
	Cursor   string
	Limit    int
}

// ListEvents lists events newest first.
func (s *Service) ListEvents(ctx context.Context, f EventFilter) (Page[Event], error) {
	before, n, err := pageArgs(cursorEvents, f.Cursor, f.Limit)
	if err != nil {
		return Page[Event]{}, err
	}
	if f.Type != "" && !Type(f.Type).Valid() {
		return Page[Event]{}, paylink.Invalid("query.type", "unknown event type; known: "+typeList())
	}
	if f.Provider != "" {
		if err := s.checkProviders("query.provider", []string{f.Provider}); err != nil {
			return Page[Event]{}, err
		}
	}
	rs, err := s.st.ListEvents(ctx, store.EventQuery{Type: f.Type, LinkID: f.LinkID, Provider: f.Provider, Before: before, Limit: n + 1})
	if err != nil {
		return Page[Event]{}, err
	}
	var p Page[Event]
	if p.Items, err = fromStoredAll(rs[:min(n, len(rs))]); err != nil {
		return p, err
	}
	if len(rs) > n {
		p.NextCursor = encodeCursor(cursorEvents, rs[n-1].ID)
	}
	return p, nil
}

// GetEvent returns an event.
func (s *Service) GetEvent(ctx context.Context, id string) (Event, error) {
	r, err := s.st.GetEvent(ctx, id)
	if err != nil {
		return Event{}, notFound(err, "event", id)
	}
	return fromStored(r)
}

// EventDeliveries lists the deliveries of an event (one per endpoint) with all their attempts.
func (s *Service) EventDeliveries(ctx context.Context, eventID string) ([]Delivery, error) {
	if _, err := s.st.GetEvent(ctx, eventID); err != nil {
		return nil, notFound(err, "event", eventID)
	}
	return s.st.ListDeliveries(ctx, store.DeliveryQuery{EventID: eventID, Limit: 1000})
}

// DeliveryFilter pages through an endpoint's deliveries; Status is optional.
type DeliveryFilter struct {
	Status string
	Cursor string
	Limit  int
}

// EndpointDeliveries lists an endpoint's deliveries, newest first, with all their attempts.
func (s *Service) EndpointDeliveries(ctx context.Context, endpointID string, f DeliveryFilter) (Page[Delivery], error) {
	before, n, err := pageArgs(cursorDeliveries, f.Cursor, f.Limit)
	if err != nil {
		return Page[Delivery]{}, err
	}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed, store.DeliveryCanceled:
	default:
		return Page[Delivery]{}, paylink.Invalid("query.status", "one of pending, delivered, failed, canceled")
	}
	if _, err := s.st.GetEndpoint(ctx, endpointID); err != nil {
		return Page[Delivery]{}, notFound(err, "webhook endpoint", endpointID)
	}
	ds, err := s.st.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: endpointID, Status: f.Status, Before: before, Limit: n + 1})
	if err != nil {
		return Page[Delivery]{}, err
	}
	p := Page[Delivery]{Items: ds[:min(n, len(ds))]}
	if len(ds) > n {
		p.NextCursor = encodeCursor(cursorDeliveries, ds[n-1].ID)
	}
	return p, nil
}

// Since lists up to limit events stored after the event afterID ("" = from the first), oldest
// first: the catch-up read of a stream resumed with Last-Event-ID.
func (s *Service) Since(ctx context.Context, afterID string, limit int) ([]Event, error) {
	if err := checkEventID(afterID); err != nil {
		return nil, err
	}
	rs, err := s.st.EventsAfter(ctx, afterID, limit)
	if err != nil {
		return nil, err
	}
	return fromStoredAll(rs)
}

// CheckEventID refuses what is not an event id, naming the Last-Event-ID header; "" (no position)
// is accepted. A stream checks its position with it before it answers.
func CheckEventID(id string) error { return checkEventID(id) }

func checkEventID(id string) error {
	if id == "" {
		return nil
	}
	if _, ok := store.IDTime(id); !ok || !strings.HasPrefix(id, "evt_") {
		return paylink.Invalid("header.Last-Event-ID", "not an event id")
	}
	return nil
}

// idAt is the smallest event id of the instant t.
func idAt(t time.Time) string { return store.FloorID("evt", t) }

// Stream calls send with every event stored after afterID, in id order, and then with each new
// one as it is stored, until ctx ends (nil) or send fails (its error). afterID "" starts with the
// events of the last Config.StreamLookback, then the new ones. This instance's events arrive at once; other instances' within
// Config.StreamPoll. Since ids are made just before commit, an event of another instance can
// commit after a later id was streamed: Stream re-reads Config.StreamLookback back and sends such
// late events once, so order holds except for those.
func (s *Service) Stream(ctx context.Context, afterID string, send func(Event) error) error {
	if err := checkEventID(afterID); err != nil {
		return err
	}
	wake, cancel := s.Subscribe()
	defer cancel()
	floor := afterID // never go back beyond where the client says it is
	if floor == "" {
		floor = idAt(s.now().Add(-s.cfg.StreamLookback))
	}
	cursor := floor
	sent := map[string]time.Time{} // ids sent within the lookback window
	tick := time.NewTicker(s.cfg.StreamPoll)
	defer tick.Stop()
	for {
		now := s.now()
		from := min(cursor, max(floor, idAt(now.Add(-s.cfg.StreamLookback))))
		for {
			evs, err := s.st.EventsAfter(ctx, from, 500)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, r := range evs {
				from = r.ID
				if _, dup := sent[r.ID]; dup {
					continue
				}
				e, err := fromStored(r)
				if err != nil {
					return err
				}
				if err := send(e); err != nil {
					return err
				}
				sent[r.ID] = now
				cursor = max(cursor, r.ID)
			}
			if len(evs) < 500 {
				break
			}
		}
		horizon := idAt(now.Add(-2 * s.cfg.StreamLookback))
		for id := range sent {
			if id < horizon {
				delete(sent, id)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
		}
	}
}
