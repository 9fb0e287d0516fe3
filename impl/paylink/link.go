package paylink

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Status is the unified status of a link.
type Status string

// The unified statuses. StatusUnknown is the catch-all for a provider status this version does not
// know: it is never a success.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
	StatusExpired   Status = "expired"
	StatusClosed    Status = "closed"
	StatusUnknown   Status = "unknown"
)

// Statuses lists every unified status, in lifecycle order.
var Statuses = []Status{StatusActive, StatusCompleted, StatusExpired, StatusClosed, StatusUnknown}

// Valid reports whether s is one of the unified statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Link is a payment link of any provider, in provider-neutral terms. Optional times are zero when
// the provider does not report them; Amount is nil where the provider's link carries none.
type Link struct {
	ID             ID
	Provider       string
	ProviderLinkID string
	// URL is where to send the payer; empty once the provider no longer accepts payments on it.
	URL            string
	Status         Status
	ProviderStatus string
	Amount         *Amount
	Description    string
	Reference      string
	Reusable       bool
	ExpiresAt      time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    time.Time
	Metadata       map[string]string
	// Raw is the provider's own object as it was received.
	Raw json.RawMessage
}

// CreateInput is what a caller asks for when creating a link. Options carries the provider-specific
// options type of the chosen provider's adapter (nil for none).
type CreateInput struct {
	Provider    string
	Amount      *Amount
	Description string
	Reference   string
	ExpiresAt   time.Time
	Reusable    bool
	Metadata    map[string]string
	Options     any
	// IdempotencyKey is passed to providers that honour one natively.
	IdempotencyKey string
}

// CloseInput carries the optional parts of a close.
type CloseInput struct {
	IdempotencyKey string
}

// PageQuery asks a provider for one page of its links, newest first.
type PageQuery struct {
	// Status, when set, asks for links of that status only; a provider that cannot filter natively
	// may return others, which the Client drops.
	Status Status
	// Page is the provider's own page token from a previous PageResult; empty for the first page.
	Page string
}

// PageResult is one page of a provider's links, newest first, with the token of the next page
// (empty on the last).
type PageResult struct {
	Links []Link
	Next  string
}

// Operation names a unified operation.
type Operation string

// The unified operations.
const (
	OpCreate Operation = "create"
	OpGet    Operation = "get"
	OpList   Operation = "list"
	OpClose  Operation = "close"
)

// Capabilities says what a provider supports, as derived from its adapter and curated spec.
type Capabilities struct {
	Operations        []Operation
	Amounts           bool
	ReusableLinks     bool
	OpenAmount        bool
	Currencies        []string
	NativeIdempotency bool
	Notes             []string
}

// Supports reports whether the operation is among the capabilities.
func (c Capabilities) Supports(op Operation) bool {
	for _, o := range c.Operations {
		if o == op {
			return true
		}
	}
	return false
}

// Provider is the driver behind Client: what a provider adapter implements. Ids passed in and out
// are the provider's own; the Client turns them into paylinks ids. Users call the Client, never a
// Provider directly, and the contract below is written for that caller.
//
// What the Client guarantees before it calls a method:
//   - the method's operation is among Capabilities().Operations (otherwise the caller gets an
//     *UnsupportedError and the adapter is not called);
//   - a link id is the non-empty id of a link of this provider, taken from a paylinks id;
//   - a CreateInput satisfies Capabilities: an amount is present when Amounts && !OpenAmount and
//     absent when !Amounts, its currency is one of Currencies and its value is positive; Reusable
//     only when ReusableLinks; ExpiresAt zero or in the future.
//
// What every method MUST do with errors. Every error MUST match one of the sentinels of this
// package with errors.Is; the one exception is the caller's own context.Canceled, returned as it
// is. An adapter SHOULD return a *ProviderError (through ResponseError, TransportError,
// DecodeError) so that the provider's status, code and message reach the caller; an error that
// matches no sentinel is a bug of the adapter, which the Client still wraps once into a
// *ProviderError of kind ErrProvider so that callers can always classify it. The cases:
//   - ErrNotFound: the provider does not know the link (its 404, or an id it refuses as unknown);
//   - ErrAlreadyClosed: Close of a link that is closed;
//   - ErrNotClosable: Close of a link the provider refuses to close because of its state (paid,
//     expired, or closed when the provider does not say which). The Client then reads the link to
//     tell these apart, so an adapter never does that GET itself;
//   - ErrInvalidInput (a *ValidationError, possibly inside a *ProviderError): input the adapter or
//     the provider refuses, each violation naming the unified field (JSON pointer into the create
//     body, "query.cursor", "header.Idempotency-Key");
//   - ErrUnsupported (an *UnsupportedError): a field the provider has no place for, or an
//     operation it lacks; never a silently dropped field;
//   - ErrProviderAuth: the provider refused the configured credentials (401/403);
//   - ErrProviderUnavailable: no answer (connection refused or reset), 429, 502, 503;
//   - ErrProviderTimeout: no answer in time (the HTTP client's timeout, the caller's deadline, 504);
//   - ErrContractViolation: an answer that breaks the provider's curated spec (an undecodable 2xx,
//     a link without its id, an amount the currency cannot hold);
//   - ErrNotHonoured: a success answer to a request the provider did not carry out (NotHonoured);
//   - ErrProvider: any other failure answer of the provider.
//
// Errors and String/GoString of adapters and their Configs MUST NOT contain a credential.
//
// Outcomes that are not known. A Create or Close that fails with ErrProviderTimeout or
// ErrProviderUnavailable may or may not have happened at the provider: the request may have
// arrived and been carried out while its answer was lost. Retry it with the same IdempotencyKey
// when the provider honours one (Capabilities.NativeIdempotency; the server's Idempotency-Key
// covers the others for one paylinks deployment), or read before trying again: Get the link after
// a close, List (or the provider's dashboard) by reference after a create.
type Provider interface {
	// Name is the provider id, as spelt in paylinks ids, configuration and the unified API.
	Name() string
	// Capabilities MUST tell the truth: the Client refuses what they exclude without calling, and
	// everything they include MUST work (every listed operation, every currency, reuse, open
	// amounts).
	Capabilities() Capabilities
	// Create creates a link and returns it as the provider reports it, active. Fields the
	// provider has no place for MUST be refused (ErrUnsupported), never dropped; fields only the
	// adapter can check (required at this provider, options) are its to validate.
	Create(ctx context.Context, in CreateInput) (Link, error)
	// Get returns the link as the provider reports it now; an unknown id MUST give ErrNotFound.
	Get(ctx context.Context, linkID string) (Link, error)
	// List returns one page of links, newest first, and the token of the next page (empty on the
	// last). q.Page is empty or a token this adapter returned. A provider without a list endpoint
	// MUST return ErrUnsupported and leave OpList out of its Capabilities.
	List(ctx context.Context, q PageQuery) (PageResult, error)
	// Close closes the link so it can no longer be paid and returns it, closed. A closed link
	// MUST give ErrAlreadyClosed or ErrNotClosable, a paid or expired one ErrNotClosable, an
	// unknown one ErrNotFound. The Client verifies that a success did close the link.
	Close(ctx context.Context, linkID string, in CloseInput) (Link, error)
}

// OptionsDecoder is implemented by providers whose create takes options: it decodes the JSON of the
// provider's entry in the unified API's providerOptions into the adapter's options type.
type OptionsDecoder interface {
	DecodeOptions(data json.RawMessage) (any, error)
}

// StatusMap is a provider's status table, read top to bottom beside its test: each status the
// provider documents and the unified status it is. A provider status the table lacks (one the
// provider adds later) is StatusUnknown, never a success.
type StatusMap[K ~string] map[K]Status

// Of is the unified status of the provider's status s.
func (m StatusMap[K]) Of(s K) Status {
	if u, ok := m[s]; ok {
		return u
	}
	return StatusUnknown
}

// Provider is the provider's status that is the unified s (for a status filter), if one is; when
// several are, the first in the order of their names.
func (m StatusMap[K]) Provider(s Status) (K, bool) {
	var found []K
	for k, u := range m {
		if u == s {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		var zero K
		return zero, false
	}
	return slices.Min(found), true
}
