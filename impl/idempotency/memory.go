package idempotency

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// DefaultMemoryBytes is how much a Memory store holds by default: at a kilobyte or two per
// answer, tens of thousands of keys within their day.
const DefaultMemoryBytes = 64 << 20

// recordOverhead is what a record costs besides its key, fingerprint and answer (map entry, list
// element, struct, header map).
const recordOverhead = 256

// Memory is a Store in this process's memory: the default, right for a single instance. It is
// bounded by age (records expire ttl after the key's first request) and by size: when its records
// would take more than its limit, the oldest answers are forgotten first, as if they had expired.
// Claims of requests still running are never forgotten early.
type Memory struct {
	mu       sync.Mutex
	entries  map[string]*list.Element // of *memoryEntry
	byAge    *list.List               // oldest first: records expire in this order
	size     int64
	maxBytes int64
	now      func() time.Time
	// evicted counts answers forgotten early to stay within maxBytes.
	evicted int64
}

type memoryEntry struct {
	key         string
	fingerprint string
	res         *Response // nil while claimed
	deadline    time.Time // of the claim
	expires     time.Time
	size        int64
}

// NewMemory returns an empty in-memory store of DefaultMemoryBytes.
func NewMemory() *Memory { return NewMemorySized(DefaultMemoryBytes) }

// NewMemorySized returns an empty in-memory store that holds at most about maxBytes of records
// (DefaultMemoryBytes when maxBytes ≤ 0).
func NewMemorySized(maxBytes int64) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMemoryBytes
	}
	return &Memory{entries: map[string]*list.Element{}, byAge: list.New(), maxBytes: maxBytes, now: time.Now}
}

// Acquire implements Store.
func (m *Memory) Acquire(_ context.Context, key, fingerprint string, lockTTL, ttl time.Duration) (*Response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expireLocked(now)
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*memoryEntry)
		switch {
		case e.fingerprint != fingerprint:
			return nil, ErrMismatch
		case e.res == nil && now.Before(e.deadline):
			return nil, ErrInFlight
		case e.res == nil:
			return nil, ErrOutcomeUnknown
		default:
			res := *e.res
			return &res, nil
		}
	}
	e := &memoryEntry{key: key, fingerprint: fingerprint, deadline: now.Add(lockTTL), expires: now.Add(ttl)}
	m.put(e)
	return nil, nil
}

// Save implements Store. The record keeps the expiry of its claim: ttl counts from the key's
// first request.
func (m *Memory) Save(_ context.Context, key, fingerprint string, res Response, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &memoryEntry{key: key, fingerprint: fingerprint, res: &res, expires: m.now().Add(ttl)}
	if el, ok := m.entries[key]; ok {
		old := el.Value.(*memoryEntry)
		e.expires = old.expires
		m.remove(el)
	}
	m.put(e)
	m.evictLocked()
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		m.remove(el)
	}
	return nil
}

// Size returns how many records the store holds and about how many bytes they take.
func (m *Memory) Size() (records int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries), m.size
}

// Evicted counts the answers forgotten before their time to stay within the size bound: a retry
// of one of those keys is carried out again (paylinks_idempotency_evicted_total).
func (m *Memory) Evicted() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicted
}

// put adds e in expiry order: nearly always at the back, since records of one store share a TTL.
func (m *Memory) put(e *memoryEntry) {
	e.size = int64(len(e.key)+len(e.fingerprint)) + recordOverhead
	if e.res != nil {
		e.size += int64(len(e.res.Body))
		for k, vs := range e.res.Header {
			e.size += int64(len(k))
			for _, v := range vs {
				e.size += int64(len(v)) + 16
			}
		}
	}
	el := m.byAge.Back()
	for el != nil && el.Value.(*memoryEntry).expires.After(e.expires) {
		el = el.Prev()
	}
	if el == nil {
		m.entries[e.key] = m.byAge.PushFront(e)
	} else {
		m.entries[e.key] = m.byAge.InsertAfter(e, el)
	}
	m.size += e.size
}

func (m *Memory) remove(el *list.Element) {
	e := m.byAge.Remove(el).(*memoryEntry)
	delete(m.entries, e.key)
	m.size -= e.size
}

// expireLocked drops the records whose time is up, oldest first: it looks at no live record but
// the oldest.
func (m *Memory) expireLocked(now time.Time) {
	for el := m.byAge.Front(); el != nil; el = m.byAge.Front() {
		if now.Before(el.Value.(*memoryEntry).expires) {
			return
		}
		m.remove(el)
	}
}

// evictLocked forgets the oldest answers until the records fit in maxBytes. Claims stay: their
// requests are running, or their outcome is unknown.
func (m *Memory) evictLocked() {
	for el := m.byAge.Front(); el != nil && m.size > m.maxBytes; {
		next := el.Next()
		if el.Value.(*memoryEntry).res != nil {
			m.remove(el)
			m.evicted++
		}
		el = next
	}
}
