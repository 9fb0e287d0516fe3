package events

import (
	"context"
	"time"
)

// DefaultRetention is how long events are kept, with their deliveries and attempts, unless
// Config.Retention says otherwise.
const DefaultRetention = 30 * 24 * time.Hour

// purgeBatch bounds the events one purge transaction deletes, so a long backlog is purged in
// short transactions that leave room to the others.
const purgeBatch = 1000

// janitor purges, once an hour on each instance, what is past its retention: events (never one
// with a delivery still pending), the refs of finished links, and resolved provider webhooks.
type janitor struct {
	s *Service
	lifecycle
}

func (j *janitor) start() {
	j.run(j.s.log, "purging past the retention", time.Hour, nil, func(ctx context.Context) (int, error) {
		_, err := j.s.Purge(ctx)
		return 0, err
	})
}

// Purge deletes the events made before now minus the retention whose deliveries are all
// finished (delivered, failed or canceled), their deliveries and attempts, and the refs of
// finished links last seen before then; link states are kept, so a link seen again is not new.
// Provider webhooks resolved more than InboxRetention ago go too, whatever the retention.
// It returns how many events it deleted. With a negative Config.Retention it keeps everything.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.now().UTC()
	if n, err := s.st.PurgeInbox(ctx, now.Add(-InboxRetention)); err != nil {
		s.log.Warn("events: purging resolved provider webhooks", "err", err)
	} else if n > 0 {
		s.log.Info("events: purged resolved provider webhooks", "count", n)
	}
	if s.cfg.Retention < 0 {
		return 0, nil
	}
	before := now.Add(-s.cfg.Retention)
	total := 0
	for {
		n, err := s.st.PurgeEvents(ctx, before, terminalStatuses, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			if total > 0 {
				s.log.Info("events: purged events past the retention", "count", total, "before", before)
			}
			return total, err
		}
	}
}
