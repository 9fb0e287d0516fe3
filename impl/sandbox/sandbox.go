// Package sandbox holds what the provider sandboxes share: an injectable clock, deterministic ids,
// the control API that drives a link's lifecycle from outside the provider API (simulate a payment,
// advance time), and the checkout page a person can pay on in a browser.
//
// Each provider's simulator lives in its own package below this one and implements the generated
// strict server interface of that provider; this package imports none of them.
package sandbox

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Clock is a clock that tests and the control API can move forward. Simulators schedule what
// happens at a given time on it (a link expiring, AfterFunc): moving the clock runs what became
// due, so a provider's own reaction to time (an expiry webhook) follows the clock.
type Clock struct {
	mu     sync.Mutex
	fixed  time.Time // zero: follow the wall clock
	offset time.Duration
	timers timers
}

// NewClock returns a clock frozen at start; only Advance moves it.
func NewClock(start time.Time) *Clock { return &Clock{fixed: start.UTC()} }

// WallClock returns a clock that follows the system clock, plus whatever Advance added.
func WallClock() *Clock { return &Clock{} }

// Now returns the current time of the clock, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

// ErrClockRange is an advance beyond what the clock can hold: its offset is a time.Duration, about
// 292 years in all.
var ErrClockRange = errors.New("the clock cannot be moved that far (about 292 years in all)")

// Advance moves the clock forward by d and runs what became due (AfterFunc) before it returns.
// Negative durations are refused, and so is an advance that would overflow the clock's offset,
// which would move it backwards instead.
func (c *Clock) Advance(d time.Duration) error {
	if d < 0 {
		return errors.New("the clock only moves forward")
	}
	c.mu.Lock()
	if d > math.MaxInt64-c.offset {
		c.mu.Unlock()
		return ErrClockRange
	}
	c.offset += d
	c.mu.Unlock()
	c.fire()
	return nil
}

// IDs makes random-looking ids that repeat exactly under the same seed.
type IDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// NewIDs returns an id source; the same seed gives the same sequence.
func NewIDs(seed uint64) *IDs {
	return &IDs{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Alphabets for ids.
const (
	Alnum  = "0123456789abcdefghijklmnopqrstuvwxyz"
	Nanoid = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
	Hex    = "0123456789abcdef"
	Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// Next returns prefix followed by n characters of the alphabet.
func (g *IDs) Next(prefix string, n int, alphabet string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return prefix + string(b)
}

// UUIDLike returns a lowercase 8-4-4-4-12 hex id, as Telness uses.
func (g *IDs) UUIDLike() string {
	s := g.Next("", 32, Hex)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// Errors a simulator's control operations return.
var (
	ErrNoLink     = errors.New("no such link in this sandbox")
	ErrNotPayable = errors.New("link cannot be paid in its current status")
)

// Checkout is what the checkout page shows of a link.
type Checkout struct {
	Provider    string
	LinkID      string
	Description string
	// Amount is "<decimal value> <ISO 4217 code>" ("12.95 EUR"), empty where links carry none; the
	// checkout page formats it for people ("€12.95").
	Amount string
	Status string
	// Payable is whether Pay would succeed now.
	Payable bool
}

// Simulator is a provider sandbox as the shared control API and checkout page see it.
type Simulator interface {
	// Name is the provider id (mijnklantportaal, hub2, telness).
	Name() string
	// Pay records a successful payment on the link, as a payer on the checkout page would.
	Pay(linkID string) error
	// Fail records a failed or abandoned payment attempt; the link stays payable.
	Fail(linkID string) error
	// Checkout describes the link for the checkout page.
	Checkout(linkID string) (Checkout, error)
	// Clock is the simulator's clock.
	Clock() *Clock
	// Handler serves the provider's own API, with paths as in its spec (e.g. /payment-links).
	Handler() http.Handler
}

// Config is what every simulator is made from.
type Config struct {
	// Clock drives expiry; nil means WallClock().
	Clock *Clock
	// Seed makes ids deterministic.
	Seed uint64
	// CheckoutBase is the absolute URL of the checkout pages, to which the simulator appends
	// "/<provider>/<link id>" (e.g. http://127.0.0.1:8080/sandbox/checkout).
	CheckoutBase string
	// Credentials, when set, are the only credentials accepted (the bearer token, API key, …);
	// when empty any non-empty credential is accepted, and a missing one is refused as the
	// provider refuses it.
	Credentials []string
	// MaxLinks is how many links the sandbox keeps (default DefaultMaxLinks). Creates beyond it
	// are refused with the provider's own 429, never by forgetting older links.
	MaxLinks int
	// WebhookClient makes the simulator's webhook calls (default: a client with
	// DefaultWebhookTimeout that follows no redirect). paylinks serve routes the calls to its own
	// inbound endpoints in process.
	WebhookClient *http.Client
	// WebhookRetries are the waits before each retry of a webhook call that failed; nil means
	// DefaultWebhookRetries, an empty list no retries.
	WebhookRetries []time.Duration
}

// DefaultMaxLinks bounds the memory a sandbox holds: a link is about a kilobyte.
const DefaultMaxLinks = 50_000

// Full is the message of a create refused because the sandbox holds MaxLinks links.
func (c Config) Full() string {
	return fmt.Sprintf("This sandbox holds its maximum of %d payment links; restart it to start afresh.", c.MaxLinks)
}

// FullRetryAfter is the Retry-After, in seconds, of a create refused because the sandbox is full:
// long enough that no client retries it automatically.
const FullRetryAfter = 3600

// Defaults fills in what is left empty.
func (c Config) Defaults() Config {
	if c.Clock == nil {
		c.Clock = WallClock()
	}
	if c.MaxLinks <= 0 {
		c.MaxLinks = DefaultMaxLinks
	}
	if c.CheckoutBase == "" {
		c.CheckoutBase = "http://127.0.0.1:8080/sandbox/checkout"
	}
	return c
}

// Accepts reports whether the credential is accepted under the config.
func (c Config) Accepts(credential string) bool {
	if credential == "" {
		return false
	}
	if len(c.Credentials) == 0 {
		return true
	}
	for _, k := range c.Credentials {
		if subtle.ConstantTimeCompare([]byte(k), []byte(credential)) == 1 {
			return true
		}
	}
	return false
}
