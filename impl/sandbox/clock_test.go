package sandbox_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// What is scheduled on a frozen clock happens when Advance reaches it, before Advance returns,
// soonest first (ties in the order scheduled), once.
func TestClockAfterFuncOnAdvance(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 6, 3, 9, 30, 0, 0, time.UTC)
	c := sandbox.NewClock(t0)
	var mu sync.Mutex
	var ran []string
	note := func(s string) func() {
		return func() { mu.Lock(); ran = append(ran, s); mu.Unlock() }
	}
	c.AfterFunc(t0.Add(2*time.Hour), note("2h"))
	c.AfterFunc(t0.Add(time.Hour), note("1h-a"))
	c.AfterFunc(t0.Add(time.Hour), note("1h-b"))
	c.AfterFunc(t0.Add(48*time.Hour), note("48h"))
	got := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(ran) }
	if err := c.Advance(59 * time.Minute); err != nil || len(got()) != 0 {
		t.Fatalf("ran %v before their time (%v)", got(), err)
	}
	if err := c.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1h-a", "1h-b", "2h"}; !slices.Equal(got(), want) {
		t.Errorf("ran %v, want %v", got(), want)
	}
	_ = c.Advance(time.Hour)
	if len(got()) != 3 {
		t.Errorf("ran again: %v", got())
	}
	// Something scheduled in the past runs at once, on its own goroutine.
	done := make(chan struct{})
	c.AfterFunc(t0, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a past instant did not run")
	}
}

// A clock that follows the wall clock runs what is scheduled when that much real time has
// passed, and earlier if Advance gets there first.
func TestClockAfterFuncOnTheWallClock(t *testing.T) {
	t.Parallel()
	c := sandbox.WallClock()
	fired := make(chan string, 2)
	c.AfterFunc(c.Now().Add(30*time.Millisecond), func() { fired <- "soon" })
	c.AfterFunc(c.Now().Add(time.Hour), func() { fired <- "later" })
	select {
	case s := <-fired:
		if s != "soon" {
			t.Fatalf("%s first", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing ran after its time passed")
	}
	if err := c.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-fired:
		if s != "later" {
			t.Fatalf("%s", s)
		}
	default:
		t.Fatal("Advance past it did not run it")
	}
}
