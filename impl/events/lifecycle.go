package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// lifecycle runs one background loop (the poller's, the dispatcher's) from start until stop.
type lifecycle struct {
	mu               sync.Mutex
	started, stopped bool
	stopCh           chan struct{} // closed by stop: claim nothing more
	done             chan struct{} // closed when the loop has returned
	ctx              context.Context
	cancel           context.CancelFunc // cuts the work in flight short once stop's ctx ends
}

func newLifecycle() lifecycle {
	ctx, cancel := context.WithCancel(context.Background())
	return lifecycle{stopCh: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// start runs loop in a goroutine, once; never after stop.
func (l *lifecycle) start(loop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.stopped {
		return
	}
	l.started = true
	go func() {
		defer close(l.done)
		loop()
	}()
}

// stop closes stopCh and waits for the loop until ctx ends, then cancels l.ctx and waits again.
func (l *lifecycle) stop(ctx context.Context) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	started := l.started
	l.mu.Unlock()
	close(l.stopCh)
	if !started {
		return
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancel()
		<-l.done
	}
}

// sleep waits for d, a wake-up (wake may be nil) or stop; it reports false on stop.
func (l *lifecycle) sleep(d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.stopCh:
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

// run starts a loop that calls step until stop: again at once after a step that did work without
// error, otherwise after idle or a wake-up (wake may be nil). Errors are logged as what failed.
func (l *lifecycle) run(log *slog.Logger, what string, idle time.Duration, wake <-chan struct{}, step func(context.Context) (int, error)) {
	l.start(func() {
		for {
			n, err := step(l.ctx)
			if err != nil && l.ctx.Err() == nil {
				log.Warn("events: "+what, "err", err)
			}
			if n > 0 && err == nil {
				select {
				case <-l.stopCh:
					return
				default:
					continue
				}
			}
			if !l.sleep(idle, wake) {
				return
			}
		}
	})
}

// each calls fn on every item, at most n at once, and joins their errors.
func each[T any](items []T, n int, fn func(T) error) error {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
