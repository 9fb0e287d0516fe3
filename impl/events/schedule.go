package events

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultPollSchedule is the poller's cadence for a link that is not terminal, by age since paylinks
// started watching it: every 30 s for 10 min, every 2 min until 1 h, every 10 min until 24 h, then
// hourly. Each link also gets one poll just after its expiresAt.
const DefaultPollSchedule = "30s:10m,2m:1h,10m:24h,1h"

// DefaultRetrySchedule is the Standard Webhooks example schedule: the first attempt at once, then
// retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after the previous one (about
// three days in all), each ±20 %.
const DefaultRetrySchedule = "now,5s,5m,30m,2h,5h,10h,14h,20h,24h"

// PollSchedule is a parsed PAYLINKS_POLL_SCHEDULE: a comma list of steps, each an interval
// ("1s") or an interval with the link age it applies until ("30s:10m" = every 30 s until the link
// has been watched 10 min). A step without an age is used once; the last step repeats forever.
type PollSchedule struct {
	steps []pollStep
}

type pollStep struct {
	every, until time.Duration // until 0: one poll
}

// Shortest is the shortest interval of the schedule.
func (ps PollSchedule) Shortest() time.Duration {
	var d time.Duration
	for i, st := range ps.steps {
		if i == 0 || st.every < d {
			d = st.every
		}
	}
	return d
}

// ParsePollSchedule parses a PollSchedule; "" gives DefaultPollSchedule.
func ParsePollSchedule(s string) (PollSchedule, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultPollSchedule
	}
	var ps PollSchedule
	var age time.Duration
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		every, until, hasUntil := strings.Cut(item, ":")
		d, err := time.ParseDuration(every)
		if err != nil || d <= 0 {
			return ps, fmt.Errorf("poll schedule %q: %q is not a positive duration", s, every)
		}
		step := pollStep{every: d}
		if hasUntil {
			u, err := time.ParseDuration(until)
			if err != nil || u <= age {
				return ps, fmt.Errorf("poll schedule %q: %q: the age after ':' must be a duration beyond the previous steps (%s)", s, item, age)
			}
			step.until, age = u, u
		} else {
			age += d
		}
		ps.steps = append(ps.steps, step)
	}
	return ps, nil
}

// Next returns the age (time since watching started) of the first poll strictly after age.
func (ps PollSchedule) Next(age time.Duration) time.Duration {
	var at time.Duration
	last := ps.steps[len(ps.steps)-1].every
	for _, st := range ps.steps {
		if st.until == 0 {
			at += st.every
			if at > age {
				return at
			}
			continue
		}
		for at+st.every <= st.until {
			at += st.every
			if at > age {
				return at
			}
		}
	}
	// The last step repeats.
	n := (age-at)/last + 1
	return at + n*last
}

// First returns the interval of the first step: the base of the error backoff.
func (ps PollSchedule) First() time.Duration { return ps.steps[0].every }

// RetrySchedule is a parsed PAYLINKS_WEBHOOK_RETRY_SCHEDULE: a comma list of delays between
// attempts. A leading "now" (or 0) stands for the first attempt, always immediate.
type RetrySchedule struct {
	delays []time.Duration // delays[k]: before the retry that follows attempt k+1
}

// ParseRetrySchedule parses a RetrySchedule; "" gives DefaultRetrySchedule.
func ParseRetrySchedule(s string) (RetrySchedule, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultRetrySchedule
	}
	var rs RetrySchedule
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "now" {
			item = "0s"
		}
		d, err := time.ParseDuration(item)
		if err != nil || d < 0 {
			return rs, fmt.Errorf("retry schedule %q: %q is not a duration", s, item)
		}
		if i == 0 && d == 0 {
			continue
		}
		rs.delays = append(rs.delays, d)
	}
	return rs, nil
}

// Attempts is how many attempts a delivery gets before it fails: the first and one per delay.
func (rs RetrySchedule) Attempts() int { return 1 + len(rs.delays) }

// After returns the delay before the next attempt once attempt index (0 = the first attempt) has
// failed, with jitter applied, and false when the schedule is exhausted.
func (rs RetrySchedule) After(index int, jitter float64) (time.Duration, bool) {
	if index < 0 || index >= len(rs.delays) {
		return 0, false
	}
	d := rs.delays[index]
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 - jitter + 2*jitter*rand.Float64()))
	}
	return d, true
}
