// Package store keeps paylinks' link events durably: the event log, the state of watched links
// and their polling leases, merchants' webhook endpoints, deliveries with their leases and every
// delivery attempt, and on the inbound side the providers' webhooks received (the inbox, claimed
// with leases like deliveries), the ids they may name and the subscriptions made at providers. One Store interface, one schema (migrations/, embedded) and one SQL
// implementation over two engines: SQLite (modernc.org/sqlite, pure Go, the embedded default) and
// PostgreSQL (jackc/pgx/v5, for several instances). storetest holds the conformance suite both pass.
//
// Work shared between instances (polls, deliveries) is claimed with leases: a claim sets
// lease_owner (unique per claim) and lease_until; a result is applied only while the row still
// carries that owner and attempt number (fencing), so a late result of a lease that expired and was
// taken over by another instance changes nothing but the attempt log.
//
// The store decides nothing about events: package events decides (in Transition's callback, inside
// the store's transaction) and the store makes it durable. It imports nothing of paylinks but this.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for an unknown event, endpoint or delivery.
var ErrNotFound = errors.New("not found")

// Event is one entry of the event log. Payload is the complete JSON of the event as receivers and
// the API see it; the other fields are columns for filters and dedup.
type Event struct {
	ID         string
	Type       string
	Provider   string
	LinkID     string
	DedupKey   string
	OccurredAt time.Time
	Payload    []byte
}

// LinkState is what paylinks last knew of a link and when to poll it next.
type LinkState struct {
	LinkID   string
	Provider string
	// Status is the last unified status seen; "" when the link was registered but never seen.
	Status string
	// Sequence counts the transitions of the link (events emitted for it).
	Sequence  int64
	WatchedAt time.Time
	// NextPollAt is when to poll the link next; zero = not polled (terminal, gone, or never watched).
	NextPollAt time.Time
	ExpiresAt  time.Time
	// Failures counts consecutive failed polls.
	Failures   int
	LeaseOwner string
	LeaseUntil time.Time
}

// Endpoint is a merchant's webhook endpoint. Secret and PreviousSecret are stored sealed
// (package secretbox); the store never opens them.
type Endpoint struct {
	ID                  string
	URL                 string
	Description         string
	EventTypes          []string // empty: every type
	Providers           []string // empty: every provider
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil time.Time
	Disabled            bool
	DisabledReason      string
	// FailingSince is the first failed attempt since the last success; zero when healthy.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Matches reports whether the endpoint subscribes to an event of that type and provider. Events
// without a provider (webhook_endpoint.test) match any provider filter.
func (e Endpoint) Matches(eventType, provider string) bool {
	// A test event is sent to one endpoint on request: its filters never hold it back.
	return (eventType == "webhook_endpoint.test" || in(e.EventTypes, eventType)) && (provider == "" || in(e.Providers, provider))
}

func in(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt (or in flight under a lease)
	DeliveryDelivered = "delivered" // a 2xx answer was received
	DeliveryFailed    = "failed"    // retries exhausted, or the endpoint answered 410
	DeliveryCanceled  = "canceled"  // the endpoint was deleted
)

// Attempt outcomes.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	// OutcomeLate is an attempt whose result arrived after its lease was lost: another instance
	// owns the delivery now, so the result changed nothing.
	OutcomeLate = "late"
	// OutcomeAbandoned is an attempt whose instance died or stalled before recording a result; the
	// receiver may or may not have got it. Recorded by the instance that took the lease over.
	OutcomeAbandoned = "abandoned"
)

// Delivery is one event to one endpoint, with its attempts (oldest first) when listed.
type Delivery struct {
	ID            string
	EventID       string
	EndpointID    string
	Status        string
	Attempt       int // attempts made so far
	ScheduleIndex int // position in the retry schedule (reset by a redelivery)
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Attempts      []Attempt
}

// Attempt is one POST of a delivery.
type Attempt struct {
	ID         string
	DeliveryID string
	Attempt    int
	StartedAt  time.Time
	Duration   time.Duration
	HTTPStatus int    // 0 when no answer came
	Error      string // transport error or why the answer is a failure
	Response   string // the first KiB of the answer's body, as valid UTF-8
	Outcome    string
}

// Claim is a delivery leased to one dispatcher, with what it needs to make the attempt.
type Claim struct {
	Delivery Delivery
	Owner    string // the lease owner; pass it back in the Result
	Event    Event
	Endpoint Endpoint
}

// Result is the outcome of the attempt made under a Claim.
type Result struct {
	DeliveryID string
	EndpointID string
	Owner      string
	// Attempt is the number of this attempt: the claim's Delivery.Attempt + 1.
	Attempt int
	Record  Attempt
	// Status is the delivery's new status: DeliveryDelivered, DeliveryFailed, or DeliveryPending
	// with NextAttemptAt and ScheduleIndex for the retry.
	Status        string
	NextAttemptAt time.Time
	ScheduleIndex int
	// EndpointOK clears the endpoint's failing streak; otherwise the streak starts (if not yet)
	// and, when it started at or before DisableIfFailingSince (non-zero), the endpoint is disabled.
	EndpointOK            bool
	DisableIfFailingSince time.Time
	// DisableEndpoint, when set, disables the endpoint with this reason (a 410 answer).
	DisableEndpoint string
	// NoEndpointEffect leaves the endpoint's health alone (an attempt cut short by our shutdown).
	NoEndpointEffect bool
}

// ClaimQuery asks for due deliveries.
type ClaimQuery struct {
	Owner    string // a prefix identifying the instance; the store makes it unique per claim
	Now      time.Time
	LeaseFor time.Duration
	Limit    int
	// SkipEndpoints are endpoints this dispatcher has no room for right now.
	SkipEndpoints []string
}

// EventQuery filters the event log; results come newest first, before the event Before.
type EventQuery struct {
	Type, LinkID, Provider string
	Before                 string
	Limit                  int
}

// DeliveryQuery lists deliveries of an event or of an endpoint, newest first.
type DeliveryQuery struct {
	EventID    string
	EndpointID string
	Status     string
	Before     string
	Limit      int
}

// Change is what a Transition callback decides: the link's new state and the events to emit.
// Events that collide on their DedupKey with an existing event are dropped silently. Refs are ids
// the provider's webhooks may name for this link (kept, see LinksByRef).
type Change struct {
	State  LinkState
	Events []Event
	Refs   []string
}

// WatchedLink is a link to watch: its paylinks id and its provider.
type WatchedLink struct {
	LinkID, Provider string
}

// PollClaim asks for due links to poll.
type PollClaim struct {
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	Limit    int
}

// PollDone is the schedule after a poll, applied only while Owner still holds the lease.
type PollDone struct {
	LinkID     string
	Owner      string
	NextPollAt time.Time // zero: stop watching
	Failures   int
}

// Rate is a token bucket: Burst tokens at most, refilled at Per/Every.
type Rate struct {
	Per   int
	Every time.Duration
	Burst int
}

// Store is the durable side of events. Every method is safe for concurrent use, by several
// goroutines and by several instances on one database.
type Store interface {
	// Ping checks that the database answers (readiness checks).
	Ping(ctx context.Context) error
	// Transition locks the link's state (creating an empty one, Status "", if absent), calls
	// decide with it and, in the same transaction, stores the new state, inserts the events
	// (dropping dedup conflicts) and one pending delivery per enabled endpoint that matches each
	// inserted event. It returns the events actually inserted. decide may run more than once.
	Transition(ctx context.Context, linkID, provider string, now time.Time, decide func(cur LinkState) (Change, error)) ([]Event, error)
	// Watch registers links for polling at next, in one transaction, each unless it is already
	// known; a known link that is not terminal and not watched is watched again from next.
	Watch(ctx context.Context, links []WatchedLink, now, next time.Time, terminal []string) error
	// LinkState returns what is stored of the link.
	LinkState(ctx context.Context, linkID string) (LinkState, error)

	// InsertEvents stores events that are not link transitions (tests of endpoints, imports) and
	// their deliveries, in one transaction: to the one endpoint given, or to every matching enabled
	// endpoint when onlyEndpoint is "". Dedup conflicts are dropped.
	InsertEvents(ctx context.Context, evs []Event, onlyEndpoint string, now time.Time) error
	GetEvent(ctx context.Context, id string) (Event, error)
	ListEvents(ctx context.Context, q EventQuery) ([]Event, error)
	// EventsAfter lists events with an id greater than afterID, oldest first.
	EventsAfter(ctx context.Context, afterID string, limit int) ([]Event, error)

	CreateEndpoint(ctx context.Context, e Endpoint) error
	GetEndpoint(ctx context.Context, id string) (Endpoint, error)
	// ListEndpoints lists endpoints newest first, before the id Before.
	ListEndpoints(ctx context.Context, before string, limit int) ([]Endpoint, error)
	// UpdateEndpoint applies edit to the endpoint in a transaction. Re-enabling an endpoint makes
	// its pending deliveries due now.
	UpdateEndpoint(ctx context.Context, id string, now time.Time, edit func(*Endpoint) error) (Endpoint, error)
	// DeleteEndpoint removes the endpoint and cancels its pending deliveries.
	DeleteEndpoint(ctx context.Context, id string, now time.Time) error

	// ClaimDeliveries leases due pending deliveries of enabled endpoints, oldest due first.
	ClaimDeliveries(ctx context.Context, q ClaimQuery) ([]Claim, error)
	// CompleteDeliveries applies results in one transaction. A result whose lease is lost is only
	// logged (OutcomeLate); applied[i] tells which were applied.
	CompleteDeliveries(ctx context.Context, rs []Result, now time.Time) (applied []bool, err error)
	// ReleaseDeliveries gives leases back without an attempt (graceful stop, no room).
	ReleaseDeliveries(ctx context.Context, owners map[string]string) error
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	// Redeliver makes the event's deliveries (to one endpoint, or all) pending and due now, with a
	// fresh retry schedule; with an endpoint that has no delivery of the event, it creates one.
	Redeliver(ctx context.Context, eventID, endpointID string, now time.Time) (int, error)
	// Recover makes the endpoint's failed deliveries created in [since, until) pending again.
	Recover(ctx context.Context, endpointID string, since, until, now time.Time) (int, error)
	// PurgeEvents deletes up to limit events made before the time (by their ids' time) that have
	// no pending delivery, with their deliveries and attempts, oldest first, and the refs last
	// seen before the time of links in a terminal status. Link states are kept: a link seen again
	// later is not new. It returns how many events it deleted.
	PurgeEvents(ctx context.Context, before time.Time, terminal []string, limit int) (int, error)
	// Backlog counts pending deliveries of enabled endpoints and the creation time of the oldest.
	Backlog(ctx context.Context) (pending int, oldest time.Time, err error)

	// ClaimPolls leases links whose next poll is due.
	ClaimPolls(ctx context.Context, q PollClaim) ([]LinkState, error)
	// FinishPoll reschedules a polled link and releases its lease, if still held by Owner.
	FinishPoll(ctx context.Context, d PollDone) error
	// TakeTokens takes up to want tokens from the named bucket; it returns how many it got and,
	// when fewer, how long until the next token.
	TakeTokens(ctx context.Context, bucket string, r Rate, want int, now time.Time) (int, time.Duration, error)
	// OpenLinks lists the provider's links that are known and not terminal, the most recently
	// watched first.
	OpenLinks(ctx context.Context, provider string, terminal []string, limit int) ([]LinkState, error)

	// Receive stores a verified provider webhook durably, or merges it into the message with the
	// same provider and DedupKey: see the outcomes Received, Merged, Again and Duplicate. It
	// returns the outcome and the message as stored.
	Receive(ctx context.Context, m InboxMessage, now time.Time) (string, InboxMessage, error)
	// ClaimInbox leases pending messages that are due, oldest due first, and counts the attempt.
	ClaimInbox(ctx context.Context, q InboxClaim) ([]InboxMessage, error)
	// FinishInbox records a resolution while the lease is held; it reports whether the outcome was
	// applied as asked (a copy that arrived meanwhile keeps the message pending, due now).
	FinishInbox(ctx context.Context, d InboxResult, now time.Time) (bool, error)
	// ListInbox lists messages, newest first.
	ListInbox(ctx context.Context, q InboxQuery) ([]InboxMessage, error)
	// InboxBacklog counts pending messages and the receipt time of the oldest.
	InboxBacklog(ctx context.Context) (pending int, oldest time.Time, err error)
	// PurgeInbox deletes resolved (done or failed) messages last updated before the time.
	PurgeInbox(ctx context.Context, before time.Time) (int, error)
	// AddLinkRefs records ids the provider's webhooks may name for the link (Transition does so
	// for Change.Refs).
	AddLinkRefs(ctx context.Context, provider, linkID string, refs []string, now time.Time) error
	// LinksByRef returns the links any of the refs belongs to, the most recently seen first.
	LinksByRef(ctx context.Context, provider string, refs []string, limit int) ([]string, error)

	// PutProviderWebhook creates or replaces the subscription (provider, name).
	PutProviderWebhook(ctx context.Context, w ProviderWebhook) error
	// ProviderWebhooks lists the subscriptions of a provider ("" = all), by provider and name.
	ProviderWebhooks(ctx context.Context, provider string) ([]ProviderWebhook, error)

	Close() error
}
