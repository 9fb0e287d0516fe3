package events

import (
	"testing"
	"time"
)

func TestPollScheduleDefault(t *testing.T) {
	ps, err := ParsePollSchedule("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ age, next time.Duration }{
		{0, 30 * time.Second},
		{29 * time.Second, 30 * time.Second},
		{30 * time.Second, time.Minute},
		{9*time.Minute + 45*time.Second, 10 * time.Minute},
		{10 * time.Minute, 12 * time.Minute},
		{59 * time.Minute, time.Hour},
		{time.Hour, time.Hour + 10*time.Minute},
		{23*time.Hour + 55*time.Minute, 24 * time.Hour},
		{24 * time.Hour, 25 * time.Hour},
		{100*time.Hour + time.Minute, 101 * time.Hour},
	}
	for _, tt := range tests {
		if got := ps.Next(tt.age); got != tt.next {
			t.Errorf("Next(%v) = %v, want %v", tt.age, got, tt.next)
		}
	}
	// Polls made by following the schedule from 0 to 24 h: 20 + 25 + 138.
	n, age := 0, time.Duration(0)
	for age < 24*time.Hour {
		age = ps.Next(age)
		n++
	}
	if n != 20+25+138 {
		t.Fatalf("polls in the first day = %d", n)
	}
}

func TestPollSchedulePlainList(t *testing.T) {
	ps, err := ParsePollSchedule("1s, 2s,5s")
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	age := time.Duration(0)
	for i := 0; i < 6; i++ {
		age = ps.Next(age)
		got = append(got, age)
	}
	want := []time.Duration{1 * time.Second, 3 * time.Second, 8 * time.Second, 13 * time.Second, 18 * time.Second, 23 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("polls at %v, want %v", got, want)
		}
	}
	if ps.Next(9*time.Second) != 13*time.Second {
		t.Fatal("a late poll does not land on the timeline")
	}
}

func TestParsePollScheduleErrors(t *testing.T) {
	for _, s := range []string{"0s", "-1s", "fast", "30s:10m,2m:5m", "1s,", "30s:x"} {
		if _, err := ParsePollSchedule(s); err == nil {
			t.Errorf("ParsePollSchedule(%q) accepted", s)
		}
	}
}

func TestRetrySchedule(t *testing.T) {
	rs, err := ParseRetrySchedule("")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Attempts() != 10 {
		t.Fatalf("attempts = %d", rs.Attempts())
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	var total time.Duration
	for i, w := range want {
		d, ok := rs.After(i, 0)
		if !ok || d != w {
			t.Fatalf("After(%d) = %v, %v; want %v", i, d, ok, w)
		}
		total += d
		for k := 0; k < 50; k++ {
			j, _ := rs.After(i, 0.2)
			if j < w*8/10 || j > w*12/10 {
				t.Fatalf("jittered %v outside ±20%% of %v", j, w)
			}
		}
	}
	if total < 75*time.Hour || total > 76*time.Hour {
		t.Fatalf("schedule spans %v, want about 75.6 h", total)
	}
	if _, ok := rs.After(9, 0); ok {
		t.Fatal("the schedule does not end")
	}
	short, err := ParseRetrySchedule("0s,100ms,300ms")
	if err != nil || short.Attempts() != 3 {
		t.Fatalf("short = %v, %v", short, err)
	}
	for _, bad := range []string{"soon", "1s,-2s", "1s,,2s"} {
		if _, err := ParseRetrySchedule(bad); err == nil {
			t.Errorf("ParseRetrySchedule(%q) accepted", bad)
		}
	}
}
