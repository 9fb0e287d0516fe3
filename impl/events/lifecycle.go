package events

import (
	"context"
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
