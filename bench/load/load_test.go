package main

import (
	"strings"
	"testing"
	"time"
)

const wrkOut = `Running 1s test @ http://127.0.0.1:41234/providers/mijnklantportaal/payment-links
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  20.00ms   80.00%
    Req/Sec     2.60k   200.00     3.00k    70.00%
  Latency Distribution
     50%    2.90ms
     75%    3.50ms
     90%    4.20ms
     99%    7.81ms
  5203 requests in 1.01s, 24.50MB read
Requests/sec:   5151.49
Transfer/sec:     24.26MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name       string
		out        string
		done, errs int64
		elapsed    time.Duration
		p99        time.Duration
		wantErr    string
	}{
		{name: "clean run", out: wrkOut, done: 5203, elapsed: 1010 * time.Millisecond, p99: 7810 * time.Microsecond},
		{name: "microseconds and minutes", out: strings.NewReplacer("7.81ms", "850.00us", "1.01s", "1.50m").Replace(wrkOut),
			done: 5203, elapsed: 90 * time.Second, p99: 850 * time.Microsecond},
		{name: "failed answers are not done", out: strings.Replace(wrkOut, "Requests/sec", "  Non-2xx or 3xx responses: 3\nRequests/sec", 1),
			done: 5200, errs: 3, elapsed: 1010 * time.Millisecond, p99: 7810 * time.Microsecond},
		{name: "socket errors", out: strings.Replace(wrkOut, "Requests/sec", "  Socket errors: connect 0, read 2, write 0, timeout 5\nRequests/sec", 1),
			done: 5203, errs: 7, elapsed: 1010 * time.Millisecond, p99: 7810 * time.Microsecond},
		{name: "zero socket errors", out: strings.Replace(wrkOut, "Requests/sec", "  Socket errors: connect 0, read 0, write 0, timeout 0\nRequests/sec", 1),
			done: 5203, elapsed: 1010 * time.Millisecond, p99: 7810 * time.Microsecond},
		{name: "no latency distribution", out: strings.Replace(wrkOut, "     99%    7.81ms\n", "", 1), wantErr: "--latency"},
		{name: "no count", out: strings.Replace(wrkOut, "  5203 requests in 1.01s, 24.50MB read\n", "", 1), wantErr: "no request count"},
		{name: "garbled run time", out: strings.Replace(wrkOut, "1.01s", "1.01 s", 1), wantErr: "run time"},
		{name: "garbled socket errors", out: strings.Replace(wrkOut, "Requests/sec", "  Socket errors: connect x\nRequests/sec", 1), wantErr: "Socket errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseWrk([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.done != tt.done || r.errors != tt.errs || r.elapsed != tt.elapsed || r.p99() != tt.p99 {
				t.Errorf("done %d, errors %d, elapsed %s, p99 %s; want %d, %d, %s, %s", r.done, r.errors, r.elapsed, r.p99(), tt.done, tt.errs, tt.elapsed, tt.p99)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 1234 and 66 ticks; the command name holds ") (".
	stat := "4242 (pay) (links) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 66 0 0 20 0 8 0 100 800000000 5000 18446744073709551615"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 13 * time.Second; got != want {
		t.Errorf("CPU time %s, want %s", got, want)
	}
	for _, bad := range []string{"4242 paylinks S 1", "4242 (paylinks) S 1 2 3", "4242 (p) S 1 4242 4242 0 -1 4194560 5000 0 0 0 12x 66 0"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tpaylinks\nVmPeak:\t 1300000 kB\nVmHWM:\t   29876 kB\nVmRSS:\t   25000 kB\nRssAnon:\t   9000 kB\n")
	for field, want := range map[string]int64{"VmHWM": 29876, "RssAnon": 9000, "VmRSS": 25000} {
		if got, err := parseStatusKB(status, field); err != nil || got != want {
			t.Errorf("%s %d, %v; want %d", field, got, err, want)
		}
	}
	for _, bad := range []string{"Name:\tpaylinks\nVmRSS:\t 25000 kB\n", "VmHWM:\t 29876 MB\n", "VmHWM:\t lots kB\n", "VmHWMx:\t 1 kB\n"} {
		if _, err := parseStatusKB([]byte(bad), "VmHWM"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{0.9}, 0.9}, {[]float64{0.95, 0.80, 0.90}, 0.90}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
