package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by every instance that points at the same Redis: a key claimed or
// answered on one instance is honoured on all.
type Redis struct {
	client *redis.Client
	prefix string
}

// NewRedis connects to the Redis at url (redis://[user:password@]host:port/db, or rediss:// for TLS).
func NewRedis(url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("PAYLINKS_REDIS_URL: %w", err)
	}
	// Fail fast when Redis is down: a guarded request should not wait seconds to learn it.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 500*time.Millisecond, time.Second, time.Second
	opts.MaxRetries = 1
	opts.DialerRetries = 1
	return &Redis{client: redis.NewClient(opts), prefix: "paylinks:idem:"}, nil
}

// LogRedisTo sends the Redis client's own messages (failed dials, pool trouble) to the logger,
// as warnings, instead of to stderr. The Redis client has one logger per process.
func LogRedisTo(l *slog.Logger) { redis.SetLogger(redisLogger{l}) }

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// redisRecord is what is stored under a key: the request's fingerprint and, once done, its answer;
// until then the deadline of the claim (Unix milliseconds), after which its outcome is unknown.
type redisRecord struct {
	Fingerprint string    `json:"fp"`
	Response    *Response `json:"res,omitempty"`
	Deadline    int64     `json:"dl,omitempty"`
}

// Acquire implements Store: SET NX claims the key atomically across instances. The claim is kept
// ttl, like an answer, so that a claim whose instance died is seen as outcome unknown, never as a
// free key; its deadline is compared with this instance's clock (instances are assumed to agree
// within a fraction of lockTTL).
func (r *Redis) Acquire(ctx context.Context, key, fingerprint string, lockTTL, ttl time.Duration) (*Response, error) {
	claim, _ := json.Marshal(redisRecord{Fingerprint: fingerprint, Deadline: time.Now().Add(lockTTL).UnixMilli()})
	for range 3 {
		ok, err := r.client.SetNX(ctx, r.prefix+key, claim, ttl).Result()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if ok {
			return nil, nil
		}
		raw, err := r.client.Get(ctx, r.prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired between the two calls: try to claim again
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		var rec redisRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%w: unreadable record: %v", ErrUnavailable, err)
		}
		switch {
		case rec.Fingerprint != fingerprint:
			return nil, ErrMismatch
		case rec.Response == nil && time.Now().UnixMilli() < rec.Deadline:
			return nil, ErrInFlight
		case rec.Response == nil:
			return nil, ErrOutcomeUnknown
		default:
			return rec.Response, nil
		}
	}
	return nil, ErrInFlight
}

// Save implements Store.
func (r *Redis) Save(ctx context.Context, key, fingerprint string, res Response, ttl time.Duration) error {
	raw, err := json.Marshal(redisRecord{Fingerprint: fingerprint, Response: &res})
	if err != nil {
		return err
	}
	if err := r.client.Set(ctx, r.prefix+key, raw, ttl).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Ping checks that Redis answers (used by /readyz).
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }
