package sandbox

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClockNeverMovesBackwards advances the clock by amounts whose sum overflows its offset: the
// advance that would overflow is refused and time stays where it was.
func TestClockNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	for _, c := range []*Clock{NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), WallClock()} {
		half := time.Duration(math.MaxInt64/2 + 1)
		if err := c.Advance(half); err != nil {
			t.Fatalf("first advance: %v", err)
		}
		before := c.Now()
		if err := c.Advance(half); !errors.Is(err, ErrClockRange) {
			t.Errorf("second advance: %v, want ErrClockRange", err)
		}
		if err := c.Advance(time.Duration(math.MaxInt64)); !errors.Is(err, ErrClockRange) {
			t.Errorf("largest advance: %v, want ErrClockRange", err)
		}
		if now := c.Now(); now.Before(before) {
			t.Errorf("clock moved backwards: %s, then %s", before, now)
		}
		if err := c.Advance(-time.Second); err == nil {
			t.Error("a negative advance was accepted")
		}
	}
}

// TestControlClockOverflow drives the same through the control API, as anyone reaching a sandbox can.
func TestControlClockOverflow(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := Handler("/sandbox", fakeSim{clock: clock})
	advance := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/sandbox/fake/_control/clock/advance?by=1000000h", nil))
		return w.Code
	}
	for i := range 2 {
		if code := advance(); code != http.StatusOK {
			t.Fatalf("advance %d: %d", i, code)
		}
	}
	before := clock.Now()
	for advance() == http.StatusOK {
		if clock.Now().Before(before) {
			t.Fatalf("the clock moved backwards to %s", clock.Now())
		}
		before = clock.Now()
	}
	if now := clock.Now(); now.Before(before) {
		t.Errorf("the clock moved backwards to %s", now)
	}
}

// fakeSim is a Simulator with nothing but a clock.
type fakeSim struct{ clock *Clock }

func (fakeSim) Name() string                      { return "fake" }
func (fakeSim) Pay(string) error                  { return ErrNoLink }
func (fakeSim) Fail(string) error                 { return ErrNoLink }
func (fakeSim) Checkout(string) (Checkout, error) { return Checkout{}, ErrNoLink }
func (f fakeSim) Clock() *Clock                   { return f.clock }
func (fakeSim) Handler() http.Handler             { return http.NotFoundHandler() }
