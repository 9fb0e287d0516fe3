package events

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
)

// benchService opens a Service for benchmarks: real clock, loopback allowed, quiet.
func benchService(b *testing.B, cfg Config) *Service {
	cfg.AllowPrivate, cfg.RenderLink = true, render
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Delivery.Idle = 5 * time.Millisecond
	svc, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return svc
}

// seedEvents stores n events, each with a delivery to every endpoint, in batches.
func seedEvents(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	now := time.Now()
	batch := make([]store.Event, 0, 1000)
	for i := 0; i < n; i++ {
		ev := store.Event{ID: store.NewID("evt", now), Type: string(LinkCompleted), Provider: "hub2", LinkID: fmt.Sprint("l", i),
			DedupKey: fmt.Sprint("bench:", i, ":", now.UnixNano()), OccurredAt: now,
			Payload: []byte(`{"id":"evt","type":"payment_link.completed","data":{"link":{"id":"hub2_x","status":"completed"},"previousStatus":"active","source":"poll","sequence":2}}`)}
		if batch = append(batch, ev); len(batch) == cap(batch) || i == n-1 {
			if err := st.InsertEvents(ctx, batch, "", now); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// benchDeliveries measures sustained deliveries per second to a loopback receiver answering 204,
// with the dispatchers of the given Services running.
func benchDeliveries(b *testing.B, svcs ...*Service) {
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rcv.Close)
	ctx := context.Background()
	if _, _, err := svcs[0].CreateEndpoint(ctx, EndpointInput{URL: rcv.URL}); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 2000)
	seedEvents(b, svcs[0].Store(), n)
	b.ResetTimer()
	start := time.Now()
	for _, s := range svcs {
		s.Start()
	}
	for {
		pending, _, err := svcs[0].Store().Backlog(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/el.Seconds(), "deliveries/s")
	b.ReportMetric(float64(got.Load())/float64(n), "posts/delivery")
}

// BenchmarkDeliverySQLite: one instance on SQLite (synchronous=FULL).
func BenchmarkDeliverySQLite(b *testing.B) {
	benchDeliveries(b, benchService(b, Config{DataDir: b.TempDir(), Delivery: DeliveryConfig{PerEndpoint: 32, Concurrency: 64}}))
}

// BenchmarkDeliveryPostgresTwoInstances: two instances on one PostgreSQL (fsync off: the figure is
// the engine's, not the disk's).
func BenchmarkDeliveryPostgresTwoInstances(b *testing.B) {
	url := pgtest.NewDB(b)
	cfg := Config{DatabaseURL: url, Delivery: DeliveryConfig{PerEndpoint: 32, Concurrency: 64}}
	benchDeliveries(b, benchService(b, cfg), benchService(b, cfg))
}

// BenchmarkBacklogMemory: 100 000 deliveries wait for a receiver that is down (connections
// refused) while the dispatcher runs for 3 s; reports the live heap, which must not grow with the
// backlog (the dispatcher holds at most Concurrency deliveries at a time).
func BenchmarkBacklogMemory(b *testing.B) {
	const backlog = 100_000
	for i := 0; i < b.N; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		down := "http://" + ln.Addr().String() + "/hooks"
		ln.Close()
		svc := benchService(b, Config{DataDir: b.TempDir()})
		ctx := context.Background()
		if _, _, err := svc.CreateEndpoint(ctx, EndpointInput{URL: down}); err != nil {
			b.Fatal(err)
		}
		seedEvents(b, svc.Store(), backlog)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		svc.Start()
		time.Sleep(3 * time.Second)
		var during runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&during)
		pending, oldest, err := svc.Store().Backlog(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_ = svc.Stop(ctx)
		b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "MiB-heap-idle")
		b.ReportMetric(float64(during.HeapAlloc)/(1<<20), "MiB-heap-dispatching")
		b.ReportMetric(float64(pending), "pending")
		b.ReportMetric(rssMiB(), "MiB-rss")
		b.ReportMetric(time.Since(oldest).Seconds(), "oldest-age-s")
	}
}

// rssMiB is the process's resident set (SQLite's page cache lives outside the Go heap).
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
