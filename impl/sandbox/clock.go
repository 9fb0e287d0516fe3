package sandbox

import (
	"container/heap"
	"time"
)

// timers are the functions scheduled on a Clock, soonest first.
type timers struct {
	queue timerQueue
	seq   uint64
	// wake is armed for the soonest timer on a clock that follows the wall clock; a frozen clock
	// moves only by Advance, so it arms nothing.
	wake *time.Timer
}

type timer struct {
	at  time.Time
	seq uint64 // ties at the same instant run in the order they were scheduled
	f   func()
}

// AfterFunc runs f once the clock reaches at: when Advance moves it there (before Advance
// returns), or, on a clock that follows the wall clock, when that much real time has passed. f
// never runs with the clock locked, nor on the caller's goroutine: a simulator schedules under its
// own lock, and f takes that lock. It runs once.
func (c *Clock) AfterFunc(at time.Time, f func()) {
	c.mu.Lock()
	c.timers.seq++
	heap.Push(&c.timers.queue, timer{at: at, seq: c.timers.seq, f: f})
	now := c.nowLocked()
	due := !at.After(now)
	if !due {
		c.arm(now)
	}
	c.mu.Unlock()
	if due {
		go c.fire()
	}
}

// fire runs every timer that is due, soonest first, and arms the wall timer for the next.
func (c *Clock) fire() {
	c.mu.Lock()
	now := c.nowLocked()
	var due []timer
	for c.timers.queue.Len() > 0 && !c.timers.queue[0].at.After(now) {
		due = append(due, heap.Pop(&c.timers.queue).(timer))
	}
	c.arm(now)
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// arm sets the wall timer to the soonest timer; the caller holds c.mu.
func (c *Clock) arm(now time.Time) {
	if !c.fixed.IsZero() {
		return
	}
	if c.timers.queue.Len() == 0 {
		if c.timers.wake != nil {
			c.timers.wake.Stop()
		}
		return
	}
	d := c.timers.queue[0].at.Sub(now)
	if c.timers.wake == nil {
		c.timers.wake = time.AfterFunc(d, c.fire)
		return
	}
	c.timers.wake.Reset(d)
}

// nowLocked is Now for a caller that holds c.mu.
func (c *Clock) nowLocked() time.Time {
	if c.fixed.IsZero() {
		return time.Now().UTC().Add(c.offset)
	}
	return c.fixed.Add(c.offset)
}

// timerQueue is a min-heap of timers by instant, then by order of scheduling.
type timerQueue []timer

func (q timerQueue) Len() int { return len(q) }
func (q timerQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q timerQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timerQueue) Push(x any)   { *q = append(*q, x.(timer)) }
func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*q = old[:len(old)-1]
	return t
}
