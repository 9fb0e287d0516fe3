package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paylinks/paylinks/impl/events/netguard"
	"github.com/paylinks/paylinks/impl/events/stdwebhook"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Rotation overlaps: how long the previous secret keeps signing after a rotation.
const (
	DefaultRotationOverlap = 24 * time.Hour
	MaxRotationOverlap     = 7 * 24 * time.Hour
)

// Endpoint is a webhook endpoint as the API shows it: never with its secret.
type Endpoint struct {
	ID             string
	URL            string
	Description    string
	EventTypes     []Type   // empty: every type
	Providers      []string // empty: every provider
	Disabled       bool
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// EndpointInput creates an endpoint; only URL is required.
type EndpointInput struct {
	URL         string
	EventTypes  []string
	Providers   []string
	Description string
}

// EndpointPatch changes the fields that are set.
type EndpointPatch struct {
	URL         *string
	EventTypes  *[]string
	Providers   *[]string
	Description *string
	Disabled    *bool
}

// Page is one page of a list and the cursor of the next ("" on the last page).
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// Delivery and Attempt are the store's: a delivery with its attempts, oldest first.
type (
	Delivery = store.Delivery
	Attempt  = store.Attempt
)

func toEndpoint(e store.Endpoint) Endpoint {
	out := Endpoint{ID: e.ID, URL: e.URL, Description: e.Description, Providers: e.Providers, Disabled: e.Disabled,
		DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	for _, t := range e.EventTypes {
		out.EventTypes = append(out.EventTypes, Type(t))
	}
	return out
}

func (s *Service) openSecret(stored, context string) (string, error) {
	return s.box.Open(stored, context)
}

// checkURL validates an endpoint URL for the field /url: the scheme and target policy, and a
// lookup of its host (the connection guard checks again on every delivery).
func (s *Service) checkURL(ctx context.Context, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return paylink.Invalid("/url", "required")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := s.guard.CheckResolved(ctx, raw); err != nil {
		var ue *netguard.URLError
		if errors.As(err, &ue) {
			return paylink.Invalid("/url", ue.Reason)
		}
		return paylink.Invalid("/url", err.Error())
	}
	return nil
}

func (s *Service) checkTypes(types []string) error {
	seen := map[string]bool{}
	for i, t := range types {
		if !Type(t).Valid() {
			return paylink.Invalid(fmt.Sprintf("/eventTypes/%d", i), fmt.Sprintf("unknown event type %q; known: %s", t, typeList()))
		}
		if seen[t] {
			return paylink.Invalid(fmt.Sprintf("/eventTypes/%d", i), fmt.Sprintf("%q is listed twice", t))
		}
		seen[t] = true
	}
	return nil
}

func typeList() string {
	var b []string
	for _, t := range Types {
		b = append(b, string(t))
	}
	return strings.Join(b, ", ")
}

func (s *Service) checkProviders(field string, provs []string) error {
	for i, p := range provs {
		f := field
		if field != "query.provider" {
			f = fmt.Sprintf("%s/%d", field, i)
		}
		if p == "" || strings.Contains(p, ",") || (len(s.cfg.Providers) > 0 && !slices.Contains(s.cfg.Providers, p)) {
			return paylink.Invalid(f, fmt.Sprintf("unknown provider %q; known: %s", p, strings.Join(s.cfg.Providers, ", ")))
		}
	}
	return nil
}

func checkDescription(d string) error {
	if len(d) > 500 {
		return paylink.Invalid("/description", "at most 500 bytes")
	}
	return nil
}

// CreateEndpoint registers an endpoint and returns it with its secret, which is shown only here
// and on rotation.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (Endpoint, string, error) {
	if err := s.checkURL(ctx, in.URL); err != nil {
		return Endpoint{}, "", err
	}
	if err := errors.Join(s.checkTypes(in.EventTypes), s.checkProviders("/providers", in.Providers), checkDescription(in.Description)); err != nil {
		return Endpoint{}, "", firstInvalid(err)
	}
	secret, err := stdwebhook.NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.now().UTC()
	e := store.Endpoint{ID: store.NewID("we", now), URL: in.URL, Description: in.Description, EventTypes: in.EventTypes, Providers: in.Providers, CreatedAt: now, UpdatedAt: now}
	if e.Secret, err = s.box.Seal(secret, e.ID); err != nil {
		return Endpoint{}, "", err
	}
	if err := s.st.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, "", err
	}
	return toEndpoint(e), secret, nil
}

// firstInvalid returns the first violation of a joined error (the checks run in field order).
func firstInvalid(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return err
}

// GetEndpoint returns an endpoint.
func (s *Service) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	e, err := s.st.GetEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, notFound(err, "webhook endpoint", id)
	}
	return toEndpoint(e), nil
}

// ListEndpoints lists endpoints, newest first.
func (s *Service) ListEndpoints(ctx context.Context, cursor string, limit int) (Page[Endpoint], error) {
	before, n, err := pageArgs(cursorEndpoints, cursor, limit)
	if err != nil {
		return Page[Endpoint]{}, err
	}
	es, err := s.st.ListEndpoints(ctx, before, n+1)
	if err != nil {
		return Page[Endpoint]{}, err
	}
	var p Page[Endpoint]
	for _, e := range es[:min(n, len(es))] {
		p.Items = append(p.Items, toEndpoint(e))
	}
	if len(es) > n {
		p.NextCursor = encodeCursor(cursorEndpoints, es[n-1].ID)
	}
	return p, nil
}

// UpdateEndpoint applies a patch. Re-enabling a disabled endpoint resumes its pending deliveries
// at once.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, p EndpointPatch) (Endpoint, error) {
	if p.URL != nil {
		if err := s.checkURL(ctx, *p.URL); err != nil {
			return Endpoint{}, err
		}
	}
	if p.EventTypes != nil {
		if err := s.checkTypes(*p.EventTypes); err != nil {
			return Endpoint{}, err
		}
	}
	if p.Providers != nil {
		if err := s.checkProviders("/providers", *p.Providers); err != nil {
			return Endpoint{}, err
		}
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return Endpoint{}, err
		}
	}
	e, err := s.st.UpdateEndpoint(ctx, id, s.now().UTC(), func(e *store.Endpoint) error {
		if p.URL != nil {
			e.URL = *p.URL
		}
		if p.EventTypes != nil {
			e.EventTypes = *p.EventTypes
		}
		if p.Providers != nil {
			e.Providers = *p.Providers
		}
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.Disabled != nil {
			if *p.Disabled && !e.Disabled {
				e.DisabledReason = "disabled through the API"
			}
			if !*p.Disabled {
				e.FailingSince = time.Time{} // a fresh start: the failing streak begins again
			}
			e.Disabled = *p.Disabled
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, notFound(err, "webhook endpoint", id)
	}
	if p.Disabled != nil && !*p.Disabled {
		s.dispatcher.kick()
	}
	return toEndpoint(e), nil
}

// DeleteEndpoint removes an endpoint; its pending deliveries are canceled, its history kept.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	return notFound(s.st.DeleteEndpoint(ctx, id, s.now().UTC()), "webhook endpoint", id)
}

// RotateSecret gives the endpoint a new secret and returns it. The previous secret keeps signing
// alongside (a second signature) for overlap: nil = DefaultRotationOverlap, 0 = not at all, at
// most MaxRotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, id string, overlap *time.Duration) (Endpoint, string, error) {
	keep := DefaultRotationOverlap
	if overlap != nil {
		keep = *overlap
	}
	if keep < 0 || keep > MaxRotationOverlap {
		return Endpoint{}, "", paylink.Invalid("/previousSecretExpiresIn", fmt.Sprintf("between 0 and %d seconds", int(MaxRotationOverlap.Seconds())))
	}
	secret, err := stdwebhook.NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.now().UTC()
	e, err := s.st.UpdateEndpoint(ctx, id, now, func(e *store.Endpoint) error {
		old, err := s.box.Open(e.Secret, e.ID)
		if err != nil {
			return err
		}
		e.PreviousSecret, e.PreviousSecretUntil = "", time.Time{}
		if keep > 0 {
			if e.PreviousSecret, err = s.box.Seal(old, e.ID+"/previous"); err != nil {
				return err
			}
			e.PreviousSecretUntil = now.Add(keep)
		}
		e.Secret, err = s.box.Seal(secret, e.ID)
		return err
	})
	if err != nil {
		return Endpoint{}, "", notFound(err, "webhook endpoint", id)
	}
	return toEndpoint(e), secret, nil
}

// TestEndpoint emits a webhook_endpoint.test event delivered to that endpoint only.
func (s *Service) TestEndpoint(ctx context.Context, id string) (Event, error) {
	e, err := s.st.GetEndpoint(ctx, id)
	if err != nil {
		return Event{}, notFound(err, "webhook endpoint", id)
	}
	if e.Disabled {
		return Event{}, paylink.Invalid("id", "the endpoint is disabled; enable it first (disabled: false)")
	}
	now := s.now().UTC()
	ev := Event{ID: store.NewID("evt", now), Type: EndpointTest, Timestamp: now, Data: EventData{Source: SourceAPI, EndpointID: id}}
	payload, err := marshalEvent(ev)
	if err != nil {
		return Event{}, err
	}
	rec := store.Event{ID: ev.ID, Type: string(EndpointTest), DedupKey: "test:" + ev.ID, OccurredAt: now, Payload: payload}
	if err := s.st.InsertEvents(ctx, []store.Event{rec}, id, now); err != nil {
		return Event{}, notFound(err, "webhook endpoint", id)
	}
	s.metrics.emitted.WithLabelValues(string(EndpointTest), string(SourceAPI)).Inc()
	s.notify()
	return ev, nil
}

// Recover makes the endpoint's failed deliveries of events in [since, until) pending again;
// until zero = now. It returns how many.
func (s *Service) Recover(ctx context.Context, id string, since, until time.Time) (int, error) {
	now := s.now().UTC()
	if since.IsZero() {
		return 0, paylink.Invalid("/since", "required")
	}
	if until.IsZero() {
		until = now
	}
	if !since.Before(until) {
		return 0, paylink.Invalid("/until", "must be after since")
	}
	n, err := s.st.Recover(ctx, id, since, until, now)
	if err != nil {
		return 0, notFound(err, "webhook endpoint", id)
	}
	if n > 0 {
		s.dispatcher.kick()
	}
	return n, nil
}

// Redeliver delivers an event again with a fresh retry schedule: to one endpoint (creating the
// delivery if that endpoint never had one), or, with endpointID "", to every endpoint it was
// delivered to. It returns how many deliveries were queued.
func (s *Service) Redeliver(ctx context.Context, eventID, endpointID string) (int, error) {
	n, err := s.st.Redeliver(ctx, eventID, endpointID, s.now().UTC())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if _, gerr := s.st.GetEvent(ctx, eventID); gerr != nil {
				return 0, &NotFoundError{What: "event", ID: eventID}
			}
			return 0, &NotFoundError{What: "webhook endpoint", ID: endpointID}
		}
		return 0, err
	}
	if n > 0 {
		s.dispatcher.kick()
	}
	return n, nil
}
