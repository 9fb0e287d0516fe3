package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Inbox message statuses.
const (
	InboxPending = "pending" // waiting to be resolved (or being resolved under a lease)
	InboxDone    = "done"    // resolved: the links it names were read at the provider
	InboxFailed  = "failed"  // given up after every retry
)

// Outcomes of Receive.
const (
	// Received: stored as a new message.
	Received = "received"
	// Merged: a copy of a message not resolved yet; it is resolved once more if its resolution is
	// under way, so the copy's news is not lost.
	Merged = "merged"
	// Again: a copy of a resolved message whose key is a hash of its content; resolved again.
	Again = "again"
	// Duplicate: a copy of a resolved message whose key is the provider's event id; dropped.
	Duplicate = "duplicate"
)

// InboxMessage is a verified provider webhook, kept until resolved.
type InboxMessage struct {
	ID       string
	Provider string
	// Kind is what the provider says the message is about (a MijnKlantportaal event type, a Hub2
	// event name), "" when unknown.
	Kind string
	// DedupKey is the provider's event id, else a hash of the body; unique per provider.
	DedupKey string
	// Repeatable marks a key that is a hash of the content: a copy arriving after the message was
	// resolved is resolved again (identical bodies can carry news, as Mollie's id=tr_…).
	Repeatable bool
	Body       []byte
	Status     string
	// Hints counts the copies merged into the message after the first.
	Hints int
	// Attempt counts the resolutions started (the claim of the current one included).
	Attempt       int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseUntil    time.Time
	LastError     string
	ReceivedAt    time.Time
	UpdatedAt     time.Time
}

// InboxClaim asks for messages due for resolution.
type InboxClaim struct {
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	Limit    int
}

// InboxResult is the outcome of a resolution, applied only while Owner holds the lease.
type InboxResult struct {
	ID    string
	Owner string
	// Hints is the message's Hints when it was claimed: a done or failed outcome is applied only if
	// no copy arrived since; otherwise the message stays pending, due at once, for another pass.
	Hints int
	// Status is InboxDone, InboxFailed, or InboxPending with NextAttemptAt for a retry.
	Status        string
	NextAttemptAt time.Time
	Error         string
}

// InboxQuery lists inbox messages, newest first.
type InboxQuery struct {
	Provider, Status string
	Limit            int
}

// ProviderWebhook is a subscription paylinks registered at a provider. Secret and PreviousSecret
// are sealed (package secretbox); the store never opens them.
type ProviderWebhook struct {
	Provider string
	// Name identifies the subscription within the provider (a MijnKlantportaal event type).
	Name                string
	RemoteID            string
	URL                 string
	Events              []string
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// maxRefs bounds the refs stored per transition (a multi-use link can collect many attempts).
const maxRefs = 200

const inboxCols = `id, provider, kind, dedup_key, repeatable, body, status, hints, attempt, next_attempt_at, lease_owner, lease_until, last_error, received_at, updated_at`

func scanInbox(r scanner) (InboxMessage, error) {
	var m InboxMessage
	var repeatable int
	var next, until sql.NullInt64
	var owner sql.NullString
	var received, updated int64
	if err := r.Scan(&m.ID, &m.Provider, &m.Kind, &m.DedupKey, &repeatable, &m.Body, &m.Status, &m.Hints, &m.Attempt, &next, &owner, &until, &m.LastError, &received, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, ErrNotFound
		}
		return m, err
	}
	m.Repeatable, m.NextAttemptAt, m.LeaseOwner, m.LeaseUntil = repeatable != 0, fromNull(next), owner.String, fromNull(until)
	m.ReceivedAt, m.UpdatedAt = fromMs(received), fromMs(updated)
	return m, nil
}

// Receive implements Store.
func (s *SQL) Receive(ctx context.Context, m InboxMessage, now time.Time) (string, InboxMessage, error) {
	if m.ID == "" || m.Provider == "" || m.DedupKey == "" {
		return "", m, errors.New("store: inbox message without id, provider or dedup key")
	}
	if m.Body == nil {
		m.Body = []byte{}
	}
	var outcome string
	var stored InboxMessage
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO inbox (id, provider, kind, dedup_key, repeatable, body, status, next_attempt_at, received_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7) ON CONFLICT (provider, dedup_key) DO NOTHING`,
			m.ID, m.Provider, sanitize(m.Kind), m.DedupKey, boolInt(m.Repeatable), m.Body, ms(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			outcome = Received
			stored, err = scanInbox(tx.QueryRowContext(ctx, `SELECT `+inboxCols+` FROM inbox WHERE id = $1`, m.ID))
			return err
		}
		cur, err := scanInbox(tx.QueryRowContext(ctx, `SELECT `+inboxCols+` FROM inbox WHERE provider = $1 AND dedup_key = $2`+s.d.lockRow, m.Provider, m.DedupKey))
		if err != nil {
			return err
		}
		switch {
		case cur.Status == InboxPending:
			outcome = Merged
		case cur.Repeatable:
			outcome = Again
		default:
			outcome, stored = Duplicate, cur
			return nil
		}
		// A copy makes the message due now, and restarts the backoff of one resolved before.
		attempt := cur.Attempt
		if cur.Status != InboxPending {
			attempt = 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inbox SET status = 'pending', hints = hints + 1, attempt = $2, next_attempt_at = $3, updated_at = $3 WHERE id = $1`,
			cur.ID, attempt, ms(now)); err != nil {
			return err
		}
		stored, err = scanInbox(tx.QueryRowContext(ctx, `SELECT `+inboxCols+` FROM inbox WHERE id = $1`, cur.ID))
		return err
	})
	return outcome, stored, err
}

// ClaimInbox implements Store.
func (s *SQL) ClaimInbox(ctx context.Context, q InboxClaim) ([]InboxMessage, error) {
	return claimDue(ctx, s, leased{table: "inbox", id: "id", cols: inboxCols, due: "status = 'pending' AND next_attempt_at <= $1", order: "next_attempt_at", set: ", attempt = attempt + 1"},
		q.Owner, q.Now, q.LeaseFor, q.Limit, scanInbox)
}

// FinishInbox implements Store.
func (s *SQL) FinishInbox(ctx context.Context, d InboxResult, now time.Time) (bool, error) {
	var applied bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		errText := sanitize(d.Error)
		if len(errText) > 1024 {
			errText = strings.ToValidUTF8(errText[:1024], "")
		}
		switch d.Status {
		case InboxDone, InboxFailed:
			res, err = tx.ExecContext(ctx, `UPDATE inbox SET status = $4, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, last_error = $5, updated_at = $6
				WHERE id = $1 AND lease_owner = $2 AND hints = $3`, d.ID, d.Owner, d.Hints, d.Status, errText, ms(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				applied = true
				return nil
			}
			// A copy arrived during the resolution (or the lease was lost): stay pending, due now.
			res, err = tx.ExecContext(ctx, `UPDATE inbox SET next_attempt_at = $3, attempt = 0, lease_owner = NULL, lease_until = NULL, updated_at = $3 WHERE id = $1 AND lease_owner = $2`,
				d.ID, d.Owner, ms(now))
		case InboxPending:
			res, err = tx.ExecContext(ctx, `UPDATE inbox SET next_attempt_at = $3, last_error = $4, lease_owner = NULL, lease_until = NULL, updated_at = $5 WHERE id = $1 AND lease_owner = $2`,
				d.ID, d.Owner, ms(d.NextAttemptAt), errText, ms(now))
		default:
			return fmt.Errorf("store: inbox status %q", d.Status)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		applied = n == 1 && d.Status == InboxPending
		return err
	})
	return applied, err
}

// ListInbox implements Store.
func (s *SQL) ListInbox(ctx context.Context, q InboxQuery) ([]InboxMessage, error) {
	var w where
	w.addIf("provider = ?", q.Provider)
	w.addIf("status = ?", q.Status)
	rows, err := s.r.QueryContext(ctx, `SELECT `+inboxCols+` FROM inbox`+w.String()+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit(q.Limit)), w.args...)
	return collect(rows, err, scanInbox)
}

// InboxBacklog implements Store.
func (s *SQL) InboxBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(received_at) FROM inbox WHERE status = 'pending'`).Scan(&n, &oldest)
	return n, fromNull(oldest), err
}

// PurgeInbox implements Store.
func (s *SQL) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM inbox WHERE status <> 'pending' AND updated_at < $1`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// insertRefs stores the refs of a link (in the caller's transaction); known ones are kept.
func insertRefs(ctx context.Context, tx *sql.Tx, provider, linkID string, refs []string, now time.Time) error {
	if len(refs) > maxRefs {
		refs = refs[:maxRefs]
	}
	var q strings.Builder
	args := make([]any, 0, 4*len(refs))
	q.WriteString(`INSERT INTO link_refs (provider, ref, link_id, seen_at) VALUES `)
	seen := map[string]bool{}
	for _, r := range refs {
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + placeholders(len(args)+1, 4) + ")")
		args = append(args, provider, sanitize(r), linkID, ms(now))
	}
	if len(args) == 0 {
		return nil
	}
	q.WriteString(` ON CONFLICT (provider, ref, link_id) DO NOTHING`)
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// AddLinkRefs implements Store.
func (s *SQL) AddLinkRefs(ctx context.Context, provider, linkID string, refs []string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertRefs(ctx, tx, provider, linkID, refs, now) })
}

// LinksByRef implements Store.
func (s *SQL) LinksByRef(ctx context.Context, provider string, refs []string, n int) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if len(refs) > maxRefs {
		refs = refs[:maxRefs]
	}
	args := []any{provider}
	for _, r := range refs {
		args = append(args, r)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT link_id, MAX(seen_at) FROM link_refs WHERE provider = $1 AND ref IN (`+placeholders(2, len(refs))+`)
		GROUP BY link_id ORDER BY MAX(seen_at) DESC, link_id LIMIT `+fmt.Sprint(limit(n)), args...)
	return collect(rows, err, func(r scanner) (string, error) {
		var id string
		var at int64
		return id, r.Scan(&id, &at)
	})
}

// OpenLinks implements Store.
func (s *SQL) OpenLinks(ctx context.Context, provider string, terminal []string, n int) ([]LinkState, error) {
	args := []any{provider}
	notTerminal := ""
	if len(terminal) > 0 {
		notTerminal = ` AND status NOT IN (` + placeholders(2, len(terminal)) + `)`
		for _, t := range terminal {
			args = append(args, t)
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+linkCols+` FROM link_state WHERE provider = $1`+notTerminal+
		fmt.Sprintf(` ORDER BY watched_at DESC, link_id LIMIT %d`, limit(n)), args...)
	return collect(rows, err, scanLinkState)
}

const providerWebhookCols = `provider, name, remote_id, url, events, secret, previous_secret, previous_secret_until, created_at, updated_at`

// PutProviderWebhook implements Store.
func (s *SQL) PutProviderWebhook(ctx context.Context, w ProviderWebhook) error {
	if w.Provider == "" || w.Name == "" || w.Secret == "" {
		return errors.New("store: provider webhook without provider, name or secret")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO provider_webhooks (`+providerWebhookCols+`) VALUES (`+placeholders(1, 10)+`)
			ON CONFLICT (provider, name) DO UPDATE SET remote_id = $3, url = $4, events = $5, secret = $6, previous_secret = $7, previous_secret_until = $8, updated_at = $10`,
			w.Provider, w.Name, w.RemoteID, w.URL, joinList(w.Events), w.Secret, nullStr(w.PreviousSecret), nullMs(w.PreviousSecretUntil), ms(w.CreatedAt), ms(w.UpdatedAt))
		return err
	})
}

// ProviderWebhooks implements Store.
func (s *SQL) ProviderWebhooks(ctx context.Context, provider string) ([]ProviderWebhook, error) {
	var w where
	w.addIf("provider = ?", provider)
	rows, err := s.r.QueryContext(ctx, `SELECT `+providerWebhookCols+` FROM provider_webhooks`+w.String()+` ORDER BY provider, name`, w.args...)
	return collect(rows, err, func(r scanner) (ProviderWebhook, error) {
		var p ProviderWebhook
		var events string
		var prev sql.NullString
		var prevUntil sql.NullInt64
		var created, updated int64
		err := r.Scan(&p.Provider, &p.Name, &p.RemoteID, &p.URL, &events, &p.Secret, &prev, &prevUntil, &created, &updated)
		p.Events, p.PreviousSecret, p.PreviousSecretUntil = splitList(events), prev.String, fromNull(prevUntil)
		p.CreatedAt, p.UpdatedAt = fromMs(created), fromMs(updated)
		return p, err
	})
}
