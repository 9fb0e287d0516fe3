package idempotency

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store in this process's memory: the default, right for a single instance.
type Memory struct {
	mu      sync.Mutex
	entries map[string]*memoryEntry
	now     func() time.Time
	sweep   time.Time
}

type memoryEntry struct {
	fingerprint string
	res         *Response // nil while in flight
	expires     time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{entries: map[string]*memoryEntry{}, now: time.Now}
}

// Acquire implements Store.
func (m *Memory) Acquire(_ context.Context, key, fingerprint string, lockTTL time.Duration) (*Response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		switch {
		case e.fingerprint != fingerprint:
			return nil, ErrMismatch
		case e.res == nil:
			return nil, ErrInFlight
		default:
			res := *e.res
			return &res, nil
		}
	}
	m.entries[key] = &memoryEntry{fingerprint: fingerprint, expires: now.Add(lockTTL)}
	return nil, nil
}

// Save implements Store.
func (m *Memory) Save(_ context.Context, key, fingerprint string, res Response, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = &memoryEntry{fingerprint: fingerprint, res: &res, expires: m.now().Add(ttl)}
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

// sweepLocked drops expired records at most once a minute, so memory stays bounded by the TTL.
func (m *Memory) sweepLocked(now time.Time) {
	if now.Sub(m.sweep) < time.Minute {
		return
	}
	m.sweep = now
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
}
