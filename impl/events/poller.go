package events

import (
	"context"
	"errors"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Poller watches non-terminal links: it claims links whose next poll is due (a lease: one instance
// polls a link), takes a token from the provider's budget (a bucket in the store, shared by every
// instance), GETs the link through the Getter, observes it (source poll) and reschedules it on the
// PollSchedule. It stops watching a link once terminal, or when the provider no longer knows it;
// other errors back off (doubling from the schedule's first interval up to PollConfig.MaxBackoff).
// A link over budget is put back until the bucket has a token again.
type Poller struct {
	s *Service
	lifecycle
}

func newPoller(s *Service) *Poller { return &Poller{s: s, lifecycle: newLifecycle()} }

func (p *Poller) start() {
	p.run(p.s.log, "polling", p.s.cfg.Polling.Idle, nil, p.RunOnce)
}

// stop stops claiming and waits for the polls in flight until ctx ends; then it cancels them
// (their leases expire and another instance polls those links).
func (p *Poller) stop(ctx context.Context) error {
	p.lifecycle.stop(ctx)
	return nil
}

// RunOnce polls the links due now (one batch) and returns how many it polled.
func (p *Poller) RunOnce(ctx context.Context) (int, error) {
	s, cfg := p.s, p.s.cfg.Polling
	if s.cfg.Getter == nil {
		return 0, errors.New("events: no Getter configured")
	}
	now := s.now().UTC()
	links, err := s.st.ClaimPolls(ctx, store.PollClaim{Owner: s.owner, Now: now, LeaseFor: cfg.LeaseFor, Limit: cfg.Batch})
	if err != nil || len(links) == 0 {
		return 0, err
	}
	// The budget: per provider, as many tokens as links; the rest wait for the bucket.
	byProvider := map[string][]store.LinkState{}
	for _, l := range links {
		byProvider[l.Provider] = append(byProvider[l.Provider], l)
	}
	var todo []store.LinkState
	var errs []error
	for prov, ls := range byProvider {
		rate, capped := s.cfg.PollBudgets[prov]
		if !capped {
			todo = append(todo, ls...)
			continue
		}
		got, wait, err := s.st.TakeTokens(ctx, "poll:"+prov, rate, len(ls), now)
		if err != nil {
			errs = append(errs, err)
			got = 0
			wait = time.Second
		}
		todo = append(todo, ls[:got]...)
		for _, l := range ls[got:] {
			s.metrics.polls.WithLabelValues(prov, "throttled").Inc()
			errs = append(errs, s.st.FinishPoll(ctx, store.PollDone{LinkID: l.LinkID, Owner: l.LeaseOwner, NextPollAt: now.Add(wait), Failures: l.Failures}))
		}
	}
	errs = append(errs, each(todo, cfg.Concurrency, func(l store.LinkState) error { return p.poll(ctx, l) }))
	return len(todo), errors.Join(errs...)
}

// poll polls one leased link and reschedules it.
func (p *Poller) poll(ctx context.Context, l store.LinkState) error {
	s := p.s
	done := store.PollDone{LinkID: l.LinkID, Owner: l.LeaseOwner}
	link, err := s.cfg.Getter.Get(ctx, paylink.ID(l.LinkID))
	now := s.now().UTC()
	switch {
	case err == nil:
		s.metrics.polls.WithLabelValues(l.Provider, "ok").Inc()
		_, st, oerr := s.observe(ctx, Observation{Link: link, Source: SourcePoll})
		if oerr != nil {
			err = oerr
			break
		}
		if !terminal(paylink.Status(st.Status)) {
			done.NextPollAt = s.nextPoll(st, now)
		}
		return s.st.FinishPoll(ctx, done)
	case errors.Is(err, paylink.ErrNotFound):
		s.metrics.polls.WithLabelValues(l.Provider, "not_found").Inc()
		s.log.Info("events: provider no longer knows the link; stopped watching it", "link", l.LinkID, "provider", l.Provider)
		return s.st.FinishPoll(ctx, done)
	case ctx.Err() != nil:
		return nil // shutting down: the lease expires and the link is polled again
	default:
		s.metrics.polls.WithLabelValues(l.Provider, "error").Inc()
	}
	done.Failures = l.Failures + 1
	backoff := min(s.polls.First()<<min(done.Failures-1, 20), s.cfg.Polling.MaxBackoff)
	done.NextPollAt = now.Add(backoff)
	if next := s.nextPoll(l, now); next.After(done.NextPollAt) {
		done.NextPollAt = next
	}
	s.log.Warn("events: poll failed; retrying later", "link", l.LinkID, "provider", l.Provider, "failures", done.Failures, "retry_at", done.NextPollAt, "err", err)
	return s.st.FinishPoll(ctx, done)
}
