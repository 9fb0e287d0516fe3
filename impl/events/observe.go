package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Observation is what a source saw of a link: the link as the provider's answer mapped it, and
// who saw it.
type Observation struct {
	Link   paylink.Link
	Source Source
	// LinkJSON is the link rendered as the API returns it; nil = Config.RenderLink(Link).
	LinkJSON json.RawMessage
}

// Observe compares the link with what the store knows of it and, on a transition, stores the
// events (and their deliveries) in one transaction. It returns the events this call emitted: none
// when nothing changed or another source or instance emitted them first.
//
// The rules, per link:
//   - The first sighting emits payment_link.created (sequence 1), and, when the link is already
//     completed, expired or closed, that event too (sequence 2, previousStatus "active"): a link
//     created and paid between two polls still tells its whole story. Both carry the snapshot as
//     seen, so the created event's data.link may already show the final status.
//   - active → completed | expired | closed emits that event with previousStatus the old status.
//   - A status of unknown emits nothing and is not stored over a known status: it never becomes a
//     payment_link.completed. completed, expired and closed are final: later sightings of another
//     status are ignored.
//   - A link that is not terminal is watched by the poller from then on; a terminal one is not.
func (s *Service) Observe(ctx context.Context, obs Observation) ([]Event, error) {
	evs, _, err := s.observe(ctx, obs)
	return evs, err
}

func (s *Service) observe(ctx context.Context, obs Observation) ([]Event, store.LinkState, error) {
	l := obs.Link
	if l.ID == "" || l.Provider == "" {
		return nil, store.LinkState{}, errors.New("events: observed link has no id or provider")
	}
	if !obs.Source.Valid() {
		return nil, store.LinkState{}, fmt.Errorf("events: unknown source %q", obs.Source)
	}
	linkJSON := obs.LinkJSON
	if linkJSON == nil {
		if s.cfg.RenderLink == nil {
			return nil, store.LinkState{}, errors.New("events: no LinkJSON and no Config.RenderLink")
		}
		var err error
		if linkJSON, err = s.cfg.RenderLink(l); err != nil {
			return nil, store.LinkState{}, fmt.Errorf("events: render link %s: %w", l.ID, err)
		}
	}
	now := s.now().UTC()
	refs := s.refsOf(l)
	var final store.LinkState
	var out []Event
	inserted, err := s.st.Transition(ctx, string(l.ID), l.Provider, now, func(cur store.LinkState) (store.Change, error) {
		out = out[:0]
		next := cur
		if !l.ExpiresAt.IsZero() {
			next.ExpiresAt = l.ExpiresAt
		}
		var ch store.Change
		emit := func(t Type, prev paylink.Status, at time.Time) error {
			next.Sequence++
			ev := Event{ID: store.NewID("evt", now), Type: t, Timestamp: at.UTC(), Provider: l.Provider, LinkID: string(l.ID),
				Data: EventData{Link: linkJSON, Source: obs.Source, Sequence: next.Sequence}}
			if prev != "" {
				p := string(prev)
				ev.Data.PreviousStatus = &p
			}
			payload, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			ch.Events = append(ch.Events, store.Event{ID: ev.ID, Type: string(t), Provider: l.Provider, LinkID: string(l.ID),
				DedupKey: l.Provider + ":" + string(l.ID) + ":" + string(t), OccurredAt: ev.Timestamp, Payload: payload})
			out = append(out, ev)
			return nil
		}
		known := paylink.Status(cur.Status)
		seen := l.Status
		switch {
		case cur.Status == "":
			if err := emit(LinkCreated, "", orNow(l.CreatedAt, now)); err != nil {
				return ch, err
			}
			next.Status = string(seen)
			if terminal(seen) {
				if err := emit(typeFor(seen), paylink.StatusActive, occurredAt(l, now)); err != nil {
					return ch, err
				}
			}
		case terminal(known), seen == known, seen == paylink.StatusUnknown, !seen.Valid():
			// Nothing new: final states stay final, unknown is never a transition.
		case terminal(seen):
			if err := emit(typeFor(seen), known, occurredAt(l, now)); err != nil {
				return ch, err
			}
			next.Status = string(seen)
		default: // back to a known non-terminal status (unknown → active)
			next.Status = string(seen)
		}
		if terminal(paylink.Status(next.Status)) {
			next.NextPollAt = time.Time{}
		} else if next.NextPollAt.IsZero() {
			next.NextPollAt = s.nextPoll(next, now)
		}
		ch.State = next
		ch.Refs = refs
		final = next
		return ch, nil
	})
	if err != nil {
		return nil, final, err
	}
	if len(inserted) == 0 {
		return nil, final, nil
	}
	// Keep only what was inserted (a dedup conflict drops an event another path stored first).
	keep := map[string]bool{}
	for _, e := range inserted {
		keep[e.ID] = true
		s.metrics.emitted.WithLabelValues(e.Type, string(obs.Source)).Inc()
	}
	var emitted []Event
	for _, e := range out {
		if keep[e.ID] {
			emitted = append(emitted, e)
		}
	}
	s.notify()
	return emitted, final, nil
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// occurredAt is when the link's terminal transition happened, as far as its data tells.
func occurredAt(l paylink.Link, now time.Time) time.Time {
	switch l.Status {
	case paylink.StatusCompleted:
		return orNow(l.CompletedAt, now)
	case paylink.StatusExpired:
		if !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(now) {
			return l.ExpiresAt
		}
	}
	return now
}

// nextPoll is when to poll a non-terminal link next: on the schedule's timeline from WatchedAt,
// or just after its expiry if that comes first.
func (s *Service) nextPoll(st store.LinkState, now time.Time) time.Time {
	watched := st.WatchedAt
	if watched.IsZero() || watched.After(now) {
		watched = now
	}
	next := watched.Add(s.polls.Next(now.Sub(watched)))
	if !st.ExpiresAt.IsZero() {
		if exp := st.ExpiresAt.Add(s.cfg.Polling.ExpiryGrace); exp.After(now) && exp.Before(next) {
			next = exp
		}
	}
	return next
}

// Watch registers a link paylinks was told about (or created) for polling: its first poll
// observes it (emitting created if paylinks has never seen it). A link already known is left as is,
// unless it stopped being watched without being terminal. It returns once the link is stored.
// Concurrent calls are grouped into one transaction (one fsync for many creates).
func (s *Service) Watch(ctx context.Context, id paylink.ID) error {
	provider, _, err := id.Parse()
	if err != nil {
		return paylink.Invalid("linkId", err.Error())
	}
	return s.watches.do(ctx, store.WatchedLink{LinkID: string(id), Provider: provider})
}

// watchGroup is a group commit of Watch: the first caller to find no write running writes the
// links queued meanwhile, in batches, until none is left; the others wait for their batch.
type watchGroup struct {
	s       *Service
	mu      sync.Mutex
	writing bool
	queue   []watchCall
}

type watchCall struct {
	link store.WatchedLink
	done chan error
}

// maxWatchBatch bounds the links one transaction writes.
const maxWatchBatch = 256

func (g *watchGroup) do(ctx context.Context, l store.WatchedLink) error {
	call := watchCall{link: l, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, call)
	if !g.writing {
		g.writing = true
		for len(g.queue) > 0 {
			n := min(len(g.queue), maxWatchBatch)
			batch := g.queue[:n:n]
			g.queue = g.queue[n:]
			g.mu.Unlock()
			g.write(ctx, batch)
			g.mu.Lock()
		}
		g.writing = false
	}
	g.mu.Unlock()
	return <-call.done
}

// write stores one batch and tells each of its callers the outcome.
func (g *watchGroup) write(ctx context.Context, batch []watchCall) {
	links := make([]store.WatchedLink, len(batch))
	for i, c := range batch {
		links[i] = c.link
	}
	now := g.s.now().UTC()
	// The writer's own caller may give up; the others' links are still written.
	err := g.s.st.Watch(context.WithoutCancel(ctx), links, now, now, terminalStatuses)
	for _, c := range batch {
		c.done <- err
	}
}
