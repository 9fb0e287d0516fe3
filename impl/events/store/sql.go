package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// dialect holds the few places where SQLite and PostgreSQL differ; the schema and every other
// statement are shared.
type dialect struct {
	name string
	// lockRow locks the rows a SELECT reads until the transaction ends. SQLite's transactions
	// take the write lock at BEGIN (_txlock=immediate), so they need nothing.
	lockRow string
	// skipLocked claims rows no other transaction holds.
	skipLocked func(table string) string
}

var (
	sqliteDialect   = dialect{name: "sqlite", skipLocked: func(string) string { return "" }}
	postgresDialect = dialect{name: "postgres", lockRow: " FOR UPDATE",
		skipLocked: func(table string) string { return " FOR UPDATE OF " + table + " SKIP LOCKED" }}
)

// SQL is the Store on SQLite or PostgreSQL.
type SQL struct {
	w *sql.DB // writes and transactions (one connection on SQLite: SQLite has one writer anyway)
	r *sql.DB // reads outside transactions
	d dialect
}

var _ Store = (*SQL)(nil)

// Dialect names the engine: "sqlite" or "postgres".
func (s *SQL) Dialect() string { return s.d.name }

// DB is the pool used for writes, for tests and health checks.
func (s *SQL) DB() *sql.DB { return s.w }

// Close closes the pools.
// Ping checks that the database answers.
func (s *SQL) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

func (s *SQL) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// nullMs stores a zero time as NULL.
func nullMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNull(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMs(v.Int64)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func joinList(l []string) string { return strings.Join(l, ",") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// placeholders returns "$from, $from+1, …" for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// tx runs fn in a transaction, retrying it when the engine reports a conflict it resolved by
// aborting us (SQLite busy beyond busy_timeout, a PostgreSQL deadlock or serialization failure).
func (s *SQL) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for try := 0; try < 5; try++ {
		err = s.tx1(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(try+1) * 10 * time.Millisecond)
	}
	return err
}

func (s *SQL) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Transition implements Store.
func (s *SQL) Transition(ctx context.Context, linkID, provider string, now time.Time, decide func(LinkState) (Change, error)) ([]Event, error) {
	var inserted []Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		inserted = inserted[:0]
		if _, err := tx.ExecContext(ctx, `INSERT INTO link_state (link_id, provider, watched_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (link_id) DO NOTHING`, linkID, provider, ms(now)); err != nil {
			return err
		}
		cur, err := scanLinkState(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM link_state WHERE link_id = $1`+s.d.lockRow, linkID))
		if err != nil {
			return err
		}
		ch, err := decide(cur)
		if err != nil {
			return err
		}
		st := ch.State
		if _, err := tx.ExecContext(ctx, `UPDATE link_state SET status = $2, sequence = $3, watched_at = $4, next_poll_at = $5, expires_at = $6, updated_at = $7 WHERE link_id = $1`,
			linkID, st.Status, st.Sequence, ms(st.WatchedAt), nullMs(st.NextPollAt), nullMs(st.ExpiresAt), ms(now)); err != nil {
			return err
		}
		if len(ch.Refs) > 0 {
			if err := insertRefs(ctx, tx, provider, linkID, ch.Refs, now); err != nil {
				return err
			}
		}
		if len(ch.Events) == 0 {
			return nil
		}
		eps, err := enabledEndpoints(ctx, tx, "")
		if err != nil {
			return err
		}
		for _, ev := range ch.Events {
			ok, err := insertEvent(ctx, tx, ev)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := fanOut(ctx, tx, ev, eps, now); err != nil {
				return err
			}
			inserted = append(inserted, ev)
		}
		return nil
	})
	return inserted, err
}

const linkCols = `link_id, provider, status, sequence, watched_at, next_poll_at, expires_at, failures, lease_owner, lease_until`

type scanner interface{ Scan(...any) error }

func scanLinkState(r scanner) (LinkState, error) {
	var st LinkState
	var watched int64
	var next, exp, until sql.NullInt64
	var owner sql.NullString
	if err := r.Scan(&st.LinkID, &st.Provider, &st.Status, &st.Sequence, &watched, &next, &exp, &st.Failures, &owner, &until); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return st, ErrNotFound
		}
		return st, err
	}
	st.WatchedAt, st.NextPollAt, st.ExpiresAt, st.LeaseOwner, st.LeaseUntil = fromMs(watched), fromNull(next), fromNull(exp), owner.String, fromNull(until)
	return st, nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, ev Event) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO events (id, type, provider, link_id, dedup_key, occurred_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedup_key) DO NOTHING`,
		ev.ID, ev.Type, ev.Provider, ev.LinkID, ev.DedupKey, ms(ev.OccurredAt), string(ev.Payload))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// enabledEndpoints lists the enabled endpoints (or the one named, enabled or not).
func enabledEndpoints(ctx context.Context, tx *sql.Tx, only string) ([]Endpoint, error) {
	q, args := `SELECT `+endpointCols+` FROM endpoints WHERE disabled = 0`, []any{}
	if only != "" {
		q, args = `SELECT `+endpointCols+` FROM endpoints WHERE id = $1`, []any{only}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func fanOut(ctx context.Context, tx *sql.Tx, ev Event, eps []Endpoint, now time.Time) error {
	for _, e := range eps {
		if !e.Matches(ev.Type, ev.Provider) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, $4, $4)`,
			NewID("dlv", now), ev.ID, e.ID, ms(now)); err != nil {
			return err
		}
	}
	return nil
}

// Watch implements Store.
func (s *SQL) Watch(ctx context.Context, links []WatchedLink, now, next time.Time, terminal []string) error {
	notTerminal := ""
	if len(terminal) > 0 {
		notTerminal = ` AND link_state.status NOT IN (` + placeholders(5, len(terminal)) + `)`
	}
	q := `INSERT INTO link_state (link_id, provider, watched_at, next_poll_at, updated_at) VALUES ($1, $2, $3, $4, $3)
			ON CONFLICT (link_id) DO UPDATE SET next_poll_at = $4, updated_at = $3 WHERE link_state.next_poll_at IS NULL` + notTerminal
	args := []any{"", "", ms(now), ms(next)}
	for _, t := range terminal {
		args = append(args, t)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, l := range links {
			args[0], args[1] = l.LinkID, l.Provider
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// LinkState implements Store.
func (s *SQL) LinkState(ctx context.Context, linkID string) (LinkState, error) {
	return scanLinkState(s.r.QueryRowContext(ctx, `SELECT `+linkCols+` FROM link_state WHERE link_id = $1`, linkID))
}

// InsertEvents implements Store.
func (s *SQL) InsertEvents(ctx context.Context, evs []Event, onlyEndpoint string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		eps, err := enabledEndpoints(ctx, tx, onlyEndpoint)
		if err != nil {
			return err
		}
		if onlyEndpoint != "" && len(eps) == 0 {
			return fmt.Errorf("endpoint %s: %w", onlyEndpoint, ErrNotFound)
		}
		for _, ev := range evs {
			ok, err := insertEvent(ctx, tx, ev)
			if err != nil {
				return err
			}
			if ok {
				if err := fanOut(ctx, tx, ev, eps, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

const eventCols = `id, type, provider, link_id, dedup_key, occurred_at, payload`

func scanEvent(r scanner) (Event, error) {
	var ev Event
	var at int64
	var payload string
	if err := r.Scan(&ev.ID, &ev.Type, &ev.Provider, &ev.LinkID, &ev.DedupKey, &at, &payload); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ev, ErrNotFound
		}
		return ev, err
	}
	ev.OccurredAt, ev.Payload = fromMs(at), []byte(payload)
	return ev, nil
}

func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// GetEvent implements Store.
func (s *SQL) GetEvent(ctx context.Context, id string) (Event, error) {
	return scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = $1`, id))
}

// where builds a conjunction of "column op $n" from the non-empty values.
type where struct {
	parts []string
	args  []any
}

func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.parts = append(w.parts, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

func (w *where) addIf(cond, v string) {
	if v != "" {
		w.add(cond, v)
	}
}

func (w *where) String() string {
	if len(w.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.parts, " AND ")
}

func limit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}

// ListEvents implements Store.
func (s *SQL) ListEvents(ctx context.Context, q EventQuery) ([]Event, error) {
	var w where
	w.addIf("type = ?", q.Type)
	w.addIf("link_id = ?", q.LinkID)
	w.addIf("provider = ?", q.Provider)
	w.addIf("id < ?", q.Before)
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventCols+` FROM events`+w.String()+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit(q.Limit)), w.args...)
	return collect(rows, err, scanEvent)
}

// EventsAfter implements Store.
func (s *SQL) EventsAfter(ctx context.Context, afterID string, n int) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit(n))
	return collect(rows, err, scanEvent)
}

const endpointCols = `id, url, description, event_types, providers, secret, previous_secret, previous_secret_until, disabled, disabled_reason, failing_since, created_at, updated_at`

func scanEndpoint(r scanner) (Endpoint, error) {
	var x endpointScan
	if err := r.Scan(x.dest()...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Endpoint{}, ErrNotFound
		}
		return Endpoint{}, err
	}
	return x.endpoint(), nil
}

func endpointArgs(e Endpoint) []any {
	return []any{e.ID, e.URL, e.Description, joinList(e.EventTypes), joinList(e.Providers), e.Secret, nullStr(e.PreviousSecret), nullMs(e.PreviousSecretUntil),
		boolInt(e.Disabled), e.DisabledReason, nullMs(e.FailingSince), ms(e.CreatedAt), ms(e.UpdatedAt)}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateEndpoint implements Store.
func (s *SQL) CreateEndpoint(ctx context.Context, e Endpoint) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO endpoints (`+endpointCols+`) VALUES (`+placeholders(1, 13)+`)`, endpointArgs(e)...)
		return err
	})
}

// GetEndpoint implements Store.
func (s *SQL) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	return scanEndpoint(s.r.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE id = $1`, id))
}

// ListEndpoints implements Store.
func (s *SQL) ListEndpoints(ctx context.Context, before string, n int) ([]Endpoint, error) {
	var w where
	w.addIf("id < ?", before)
	rows, err := s.r.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoints`+w.String()+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit(n)), w.args...)
	return collect(rows, err, scanEndpoint)
}

// UpdateEndpoint implements Store.
func (s *SQL) UpdateEndpoint(ctx context.Context, id string, now time.Time, edit func(*Endpoint) error) (Endpoint, error) {
	var out Endpoint
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE id = $1`+s.d.lockRow, id))
		if err != nil {
			return err
		}
		wasDisabled := e.Disabled
		if err := edit(&e); err != nil {
			return err
		}
		e.ID, e.UpdatedAt = id, now
		if !e.Disabled {
			e.DisabledReason = ""
		}
		args := endpointArgs(e)
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET url = $2, description = $3, event_types = $4, providers = $5, secret = $6, previous_secret = $7,
			previous_secret_until = $8, disabled = $9, disabled_reason = $10, failing_since = $11, created_at = $12, updated_at = $13 WHERE id = $1`, args...); err != nil {
			return err
		}
		if wasDisabled && !e.Disabled {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = $2, updated_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`, id, ms(now)); err != nil {
				return err
			}
		}
		out = e
		return nil
	})
	return out, err
}

// DeleteEndpoint implements Store.
func (s *SQL) DeleteEndpoint(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'canceled', lease_owner = NULL, lease_until = NULL, updated_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`, id, ms(now))
		return err
	})
}

const deliveryCols = `d.id, d.event_id, d.endpoint_id, d.status, d.attempt, d.schedule_index, d.next_attempt_at, d.created_at, d.updated_at`

func scanDelivery(r scanner, extra ...any) (Delivery, error) {
	var d Delivery
	var next sql.NullInt64
	var created, updated int64
	dst := append([]any{&d.ID, &d.EventID, &d.EndpointID, &d.Status, &d.Attempt, &d.ScheduleIndex, &next, &created, &updated}, extra...)
	if err := r.Scan(dst...); err != nil {
		return d, err
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromNull(next), fromMs(created), fromMs(updated)
	return d, nil
}

// ClaimDeliveries implements Store.
func (s *SQL) ClaimDeliveries(ctx context.Context, q ClaimQuery) ([]Claim, error) {
	owner := q.Owner + "/" + NewID("lease", q.Now)
	now := ms(q.Now)
	var claims []Claim
	err := s.tx(ctx, func(tx *sql.Tx) error {
		claims = claims[:0]
		args := []any{now, limit(q.Limit)}
		skip := ""
		if len(q.SkipEndpoints) > 0 {
			skip = ` AND d.endpoint_id NOT IN (` + placeholders(3, len(q.SkipEndpoints)) + `)`
			for _, e := range q.SkipEndpoints {
				args = append(args, e)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT d.id, d.attempt, d.lease_owner, d.lease_until FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1) AND e.disabled = 0`+skip+`
			ORDER BY d.next_attempt_at LIMIT $2`+s.d.skipLocked("d"), args...)
		if err != nil {
			return err
		}
		type due struct {
			id, prevOwner string
			attempt       int
			prevUntil     sql.NullInt64
		}
		var dues []due
		for rows.Next() {
			var d due
			var prev sql.NullString
			if err := rows.Scan(&d.id, &d.attempt, &prev, &d.prevUntil); err != nil {
				rows.Close()
				return err
			}
			d.prevOwner = prev.String
			dues = append(dues, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(dues) == 0 {
			return err
		}
		ids := make([]any, 0, len(dues))
		for _, d := range dues {
			ids = append(ids, d.id)
			if d.prevOwner != "" {
				// The previous claimer never reported: log its attempt as abandoned, since the
				// receiver may have got it (the UPDATE below counts it).
				started := ms(fromNull(d.prevUntil).Add(-q.LeaseFor))
				if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, error, outcome) VALUES ($1, $2, $3, $4, 0, $5, $6)`,
					NewID("att", q.Now), d.id, d.attempt+1, started, "no result recorded before the lease of "+d.prevOwner+" expired; the receiver may have got this attempt", OutcomeAbandoned); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempt = CASE WHEN lease_owner IS NULL THEN attempt ELSE attempt + 1 END, lease_owner = $1, lease_until = $2
			WHERE id IN (`+placeholders(3, len(ids))+`)`, append([]any{owner, ms(q.Now.Add(q.LeaseFor))}, ids...)...); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+deliveryCols+`, ev.type, ev.provider, ev.link_id, ev.dedup_key, ev.occurred_at, ev.payload, `+prefixed("e", endpointCols)+`
			FROM deliveries d JOIN events ev ON ev.id = d.event_id JOIN endpoints e ON e.id = d.endpoint_id WHERE d.lease_owner = $1 ORDER BY d.next_attempt_at`, owner)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Claim
			var at int64
			var payload string
			var ep endpointScan
			d, err := scanDelivery(rows, append([]any{&c.Event.Type, &c.Event.Provider, &c.Event.LinkID, &c.Event.DedupKey, &at, &payload}, ep.dest()...)...)
			if err != nil {
				return err
			}
			c.Delivery, c.Owner, c.Endpoint = d, owner, ep.endpoint()
			c.Event.ID, c.Event.OccurredAt, c.Event.Payload = d.EventID, fromMs(at), []byte(payload)
			claims = append(claims, c)
		}
		return rows.Err()
	})
	return claims, err
}

// endpointScan scans endpointCols as part of a wider row.
type endpointScan struct {
	e                 Endpoint
	types, provs      string
	prev              sql.NullString
	prevUntil, failed sql.NullInt64
	disabled          int
	created, updated  int64
}

func (x *endpointScan) dest() []any {
	return []any{&x.e.ID, &x.e.URL, &x.e.Description, &x.types, &x.provs, &x.e.Secret, &x.prev, &x.prevUntil, &x.disabled, &x.e.DisabledReason, &x.failed, &x.created, &x.updated}
}

func (x *endpointScan) endpoint() Endpoint {
	e := x.e
	e.EventTypes, e.Providers, e.PreviousSecret, e.PreviousSecretUntil = splitList(x.types), splitList(x.provs), x.prev.String, fromNull(x.prevUntil)
	e.Disabled, e.FailingSince, e.CreatedAt, e.UpdatedAt = x.disabled != 0, fromNull(x.failed), fromMs(x.created), fromMs(x.updated)
	return e
}

func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + "." + p
	}
	return strings.Join(parts, ", ")
}

// sanitize makes a response excerpt storable as TEXT on both engines: valid UTF-8, no NUL.
func sanitize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// CompleteDeliveries implements Store.
func (s *SQL) CompleteDeliveries(ctx context.Context, rs []Result, now time.Time) ([]bool, error) {
	applied := make([]bool, len(rs))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The endpoint's health follows the latest applied result of the batch; a 410 disables.
		health := map[string]Result{}
		var order []string
		for i, r := range rs {
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $4, attempt = $3, schedule_index = $5, next_attempt_at = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7
				WHERE id = $1 AND lease_owner = $2 AND attempt = $3 - 1`,
				r.DeliveryID, r.Owner, r.Attempt, r.Status, r.ScheduleIndex, nullMs(r.NextAttemptAt), ms(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if applied[i] = n == 1; applied[i] && !r.NoEndpointEffect && r.EndpointID != "" {
				prev, seen := health[r.EndpointID]
				if !seen {
					order = append(order, r.EndpointID)
				}
				if prev.DisableEndpoint != "" && r.DisableEndpoint == "" {
					r.DisableEndpoint = prev.DisableEndpoint
				}
				health[r.EndpointID] = r
			}
		}
		if err := insertAttempts(ctx, tx, rs, applied, now); err != nil {
			return err
		}
		for _, ep := range order {
			if err := endpointEffect(ctx, tx, ep, health[ep], now); err != nil {
				return err
			}
		}
		return nil
	})
	return applied, err
}

// insertAttempts logs the attempts of a batch, a result whose lease was lost as OutcomeLate.
func insertAttempts(ctx context.Context, tx *sql.Tx, rs []Result, applied []bool, now time.Time) error {
	const cols = 9
	for from := 0; from < len(rs); from += 100 {
		to := min(from+100, len(rs))
		var q strings.Builder
		q.WriteString(`INSERT INTO attempts (id, delivery_id, attempt, started_at, duration_ms, http_status, error, response, outcome) VALUES `)
		args := make([]any, 0, (to-from)*cols)
		for i := from; i < to; i++ {
			r, rec := rs[i], rs[i].Record
			if !applied[i] {
				rec.Outcome = OutcomeLate
				rec.Error = strings.TrimPrefix(rec.Error+"; ", "; ") + "lease lost before the result was recorded: ignored"
			}
			if i > from {
				q.WriteString(", ")
			}
			q.WriteString("(" + placeholders(len(args)+1, cols) + ")")
			args = append(args, NewID("att", now), r.DeliveryID, r.Attempt, ms(rec.StartedAt), rec.Duration.Milliseconds(), rec.HTTPStatus, sanitize(rec.Error), sanitize(rec.Response), rec.Outcome)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func endpointEffect(ctx context.Context, tx *sql.Tx, ep string, r Result, now time.Time) error {
	if r.DisableEndpoint != "" {
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled = 1, disabled_reason = $2, updated_at = $3 WHERE id = $1 AND disabled = 0`, ep, r.DisableEndpoint, ms(now))
		return err
	}
	if r.EndpointOK {
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, ep)
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`, ep, ms(r.Record.StartedAt)); err != nil {
		return err
	}
	if r.DisableIfFailingSince.IsZero() {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled = 1, disabled_reason = $3, updated_at = $4 WHERE id = $1 AND disabled = 0 AND failing_since <= $2`,
		ep, ms(r.DisableIfFailingSince), "every delivery failed since "+r.DisableIfFailingSince.UTC().Format(time.RFC3339)+" or earlier", ms(now))
	return err
}

// ReleaseDeliveries implements Store.
func (s *SQL) ReleaseDeliveries(ctx context.Context, owners map[string]string) error {
	if len(owners) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for id, owner := range owners {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`, id, owner); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDeliveries implements Store.
func (s *SQL) ListDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	var w where
	w.addIf("d.event_id = ?", q.EventID)
	w.addIf("d.endpoint_id = ?", q.EndpointID)
	w.addIf("d.status = ?", q.Status)
	w.addIf("d.id < ?", q.Before)
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM deliveries d`+w.String()+fmt.Sprintf(` ORDER BY d.id DESC LIMIT %d`, limit(q.Limit)), w.args...)
	ds, err := collect(rows, err, func(r scanner) (Delivery, error) { return scanDelivery(r) })
	if err != nil || len(ds) == 0 {
		return ds, err
	}
	ids := make([]any, len(ds))
	at := make(map[string]int, len(ds))
	for i, d := range ds {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err = s.r.QueryContext(ctx, `SELECT id, delivery_id, attempt, started_at, duration_ms, http_status, error, response, outcome FROM attempts WHERE delivery_id IN (`+placeholders(1, len(ids))+`) ORDER BY started_at, attempt, id`, ids...)
	as, err := collect(rows, err, func(r scanner) (Attempt, error) {
		var a Attempt
		var started, dur int64
		err := r.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &started, &dur, &a.HTTPStatus, &a.Error, &a.Response, &a.Outcome)
		a.StartedAt, a.Duration = fromMs(started), time.Duration(dur)*time.Millisecond
		return a, err
	})
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		d := &ds[at[a.DeliveryID]]
		d.Attempts = append(d.Attempts, a)
	}
	return ds, nil
}

// Redeliver implements Store.
func (s *SQL) Redeliver(ctx context.Context, eventID, endpointID string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var ev Event
		ev, err := scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = $1`, eventID))
		if err != nil {
			return fmt.Errorf("event %s: %w", eventID, err)
		}
		// Deliveries in flight right now (leased) are left alone: they are being delivered.
		q := `UPDATE deliveries SET status = 'pending', schedule_index = 0, next_attempt_at = $1, updated_at = $1
			WHERE event_id = $2 AND (lease_until IS NULL OR lease_until <= $1) AND endpoint_id IN (SELECT id FROM endpoints)`
		args := []any{ms(now), eventID}
		if endpointID != "" {
			if _, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE id = $1`, endpointID)); err != nil {
				return fmt.Errorf("endpoint %s: %w", endpointID, err)
			}
			q, args = q+` AND endpoint_id = $3`, append(args, endpointID)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n == 0 && endpointID != "" {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE event_id = $1 AND endpoint_id = $2`, eventID, endpointID).Scan(&exists)
			if err != nil || exists > 0 {
				return err // in flight right now: it is being delivered already
			}
			n = 1
			return fanOut(ctx, tx, ev, []Endpoint{{ID: endpointID}}, now)
		}
		return nil
	})
	return int(n), err
}

// Recover implements Store.
func (s *SQL) Recover(ctx context.Context, endpointID string, since, until, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE id = $1`, endpointID)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', schedule_index = 0, next_attempt_at = $4, updated_at = $4
			WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2 AND created_at < $3`, endpointID, ms(since), ms(until), ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// PurgeEvents implements Store.
func (s *SQL) PurgeEvents(ctx context.Context, before time.Time, terminal []string, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM events WHERE id < $1
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'pending')
			ORDER BY id LIMIT $2`, FloorID("evt", before), limit)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		if n > 0 {
			in := placeholders(1, n)
			// A delivery made pending meanwhile (a redelivery) keeps its event.
			for _, q := range []string{
				`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE status <> 'pending' AND event_id IN (` + in + `))`,
				`DELETE FROM deliveries WHERE status <> 'pending' AND event_id IN (` + in + `)`,
				`DELETE FROM events WHERE id IN (` + in + `) AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`,
			} {
				if _, err := tx.ExecContext(ctx, q, ids...); err != nil {
					return err
				}
			}
		}
		args := []any{ms(before)}
		for _, t := range terminal {
			args = append(args, t)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM link_refs WHERE seen_at < $1
			AND link_id IN (SELECT link_id FROM link_state WHERE status IN (`+placeholders(2, len(terminal))+`))`, args...)
		return err
	})
	return n, err
}

// Backlog implements Store.
func (s *SQL) Backlog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(d.created_at) FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.status = 'pending' AND e.disabled = 0`).Scan(&n, &oldest)
	return n, fromNull(oldest), err
}

// ClaimPolls implements Store.
func (s *SQL) ClaimPolls(ctx context.Context, q PollClaim) ([]LinkState, error) {
	return claimDue(ctx, s, leased{table: "link_state", id: "link_id", cols: linkCols, due: "next_poll_at IS NOT NULL AND next_poll_at <= $1", order: "next_poll_at"},
		q.Owner, q.Now, q.LeaseFor, q.Limit, scanLinkState)
}

// leased describes rows claimed with leases: a table, its id column, the columns to return, what
// makes a row due ($1 is now) and the order of claiming, and what else a claim sets (", x = …").
type leased struct {
	table, id, cols, due, order, set string
}

// claimDue leases up to n due rows whose lease is free or expired to a new owner (ownerPrefix and a
// unique suffix) and returns them: one instance works on a row at a time.
func claimDue[T any](ctx context.Context, s *SQL, l leased, ownerPrefix string, now time.Time, leaseFor time.Duration, n int, scan func(scanner) (T, error)) ([]T, error) {
	owner := ownerPrefix + "/" + NewID("lease", now)
	var out []T
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+l.id+` FROM `+l.table+` WHERE `+l.due+` AND (lease_until IS NULL OR lease_until <= $1)
			ORDER BY `+l.order+` LIMIT $2`+s.d.skipLocked(l.table), ms(now), limit(n))
		ids, err := collect(rows, err, func(r scanner) (any, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+l.table+` SET lease_owner = $1, lease_until = $2`+l.set+` WHERE `+l.id+` IN (`+placeholders(3, len(ids))+`)`,
			append([]any{owner, ms(now.Add(leaseFor))}, ids...)...); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+l.cols+` FROM `+l.table+` WHERE lease_owner = $1 ORDER BY `+l.order, owner)
		out, err = collect(rows, err, scan)
		return err
	})
	return out, err
}

// FinishPoll implements Store.
func (s *SQL) FinishPoll(ctx context.Context, d PollDone) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE link_state SET next_poll_at = $3, failures = $4, lease_owner = NULL, lease_until = NULL WHERE link_id = $1 AND lease_owner = $2`,
			d.LinkID, d.Owner, nullMs(d.NextPollAt), d.Failures)
		return err
	})
}

// TakeTokens implements Store.
func (s *SQL) TakeTokens(ctx context.Context, bucket string, r Rate, want int, now time.Time) (int, time.Duration, error) {
	if r.Per <= 0 || r.Every <= 0 {
		return want, 0, nil
	}
	burst := int64(r.Burst)
	if burst <= 0 {
		burst = int64(r.Per)
	}
	const unit = 1000 // milli-tokens, so refills of a fraction of a token add up
	perMs := float64(r.Per*unit) / float64(r.Every.Milliseconds())
	var got int
	var wait time.Duration
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO poll_budget (bucket, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (bucket) DO NOTHING`, bucket, burst*unit, ms(now)); err != nil {
			return err
		}
		var tokens, at int64
		if err := tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM poll_budget WHERE bucket = $1`+s.d.lockRow, bucket).Scan(&tokens, &at); err != nil {
			return err
		}
		if el := ms(now) - at; el > 0 {
			tokens = min(burst*unit, tokens+int64(float64(el)*perMs))
		} else {
			now = fromMs(at) // a clock behind the stored one must not refill twice
		}
		got = min(want, int(tokens/unit))
		tokens -= int64(got) * unit
		if got < want {
			wait = time.Duration(float64(unit-tokens)/perMs+1) * time.Millisecond
		}
		_, err := tx.ExecContext(ctx, `UPDATE poll_budget SET tokens = $2, updated_at = $3 WHERE bucket = $1`, bucket, tokens, ms(now))
		return err
	})
	return got, wait, err
}
