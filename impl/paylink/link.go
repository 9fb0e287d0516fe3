package paylink

import (
	"context"
	"encoding/json"
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

// Provider is what an adapter implements. Ids passed in and out are the provider's own; the Client
// turns them into paylinks ids. Errors are the domain's (ErrNotFound, *ProviderError, …).
type Provider interface {
	Name() string
	Capabilities() Capabilities
	Create(ctx context.Context, in CreateInput) (Link, error)
	Get(ctx context.Context, linkID string) (Link, error)
	// List returns one page of links, newest first. Providers without a list endpoint return
	// ErrUnsupported.
	List(ctx context.Context, q PageQuery) (PageResult, error)
	Close(ctx context.Context, linkID string, in CloseInput) (Link, error)
}

// OptionsDecoder is implemented by providers whose create takes options: it decodes the JSON of the
// provider's entry in the unified API's providerOptions into the adapter's options type.
type OptionsDecoder interface {
	DecodeOptions(data json.RawMessage) (any, error)
}
