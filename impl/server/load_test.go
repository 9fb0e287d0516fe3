package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadClients is the number of concurrent clients, each on its own keep-alive connection.
const loadClients = 16

// TestLoad runs 16 clients doing create, get, list, close, close again and idempotent replays on
// the sandboxes through the unified API, over loopback, for PAYLINKS_LOAD_SECONDS (default 5):
// every answer must be the expected one. Afterwards the goroutines must come back to where they
// were, and the live heap must not have grown beyond what the links created keep.
//
//	PAYLINKS_LOAD_SECONDS=60 go test -run '^TestLoad$' -count=1 -v ./impl/server/
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	seconds := 5
	if v := os.Getenv("PAYLINKS_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("PAYLINKS_LOAD_SECONDS=%q: give a positive number of seconds", v)
		}
		seconds = n
	}
	url := startQuiet(t, Config{})
	base := settledGoroutines()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
	lt := &loadTest{t: t, url: url, client: client}

	// Warm-up: a fixed number of cycles, so pools, caches and lazily built state exist before the
	// heap is measured.
	lt.run(func(int, int) bool { return true }, 8)
	if lt.failed.Load() > 0 {
		t.Fatalf("%d failures during the warm-up", lt.failed.Load())
	}
	warmHeap, warmLinks := liveHeap(), lt.created.Load()

	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	started := time.Now()
	lt.run(func(int, int) bool { return time.Now().Before(deadline) }, -1)
	elapsed := time.Since(started)
	requests, created := lt.requests.Load(), lt.created.Load()-warmLinks
	t.Logf("%d clients, %v: %d requests (%.0f/s), %d links created, %d failures",
		loadClients, elapsed.Round(time.Millisecond), requests, float64(requests)/elapsed.Seconds(), created, lt.failed.Load())
	if n := lt.failed.Load(); n > 0 {
		t.Errorf("%d answers were not the expected ones", n)
	}

	// Goroutines: once the clients hang up, the server's connection goroutines end and nothing the
	// requests started may linger (a request goroutine stuck on a provider call, say).
	client.CloseIdleConnections()
	var now int
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= base+2 {
			break
		}
	}
	if now > base+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the load, %d before:\n%s", now, base, buf[:runtime.Stack(buf, true)])
	}

	// Heap: the sandboxes keep every link and the idempotency store every answer (24 h), so the live
	// heap grows with the links created, by about 1.7 KiB a link (measured over 60 s). The bound
	// allows 4 KiB a link plus 4 MiB for the runtime's own swings. There are about seven requests
	// per link, so a leak of about 400 bytes per request breaks it over a 60 s run, and one of about
	// 2 KiB over the default 5 s (where the 4 MiB weigh more).
	after := liveHeap()
	allowed := warmHeap + uint64(created)*4<<10 + 4<<20
	t.Logf("live heap: %d KiB after the warm-up, %d KiB after the load (allowed %d KiB)", warmHeap>>10, after>>10, allowed>>10)
	if after > allowed {
		t.Errorf("live heap grew from %d KiB to %d KiB over %d links, more than the %d KiB they may keep", warmHeap>>10, after>>10, created, allowed>>10)
	}
}

type loadTest struct {
	t                         *testing.T
	url                       string
	client                    *http.Client
	requests, created, failed atomic.Int64
	runs                      int // tags links and keys apart across runs
	mu                        sync.Mutex
	reported                  int
}

// run starts the clients; each does cycles while more(client, cycle) holds, at most max of them
// (-1: no limit).
func (lt *loadTest) run(more func(client, cycle int) bool, max int) {
	lt.runs++
	var wg sync.WaitGroup
	for c := range loadClients {
		wg.Go(func() {
			for i := 0; (max < 0 || i < max) && more(c, i); i++ {
				lt.cycle(c, i)
			}
		})
	}
	wg.Wait()
}

var loadBodies = []struct{ provider, body, list string }{
	{"mijnklantportaal", `{"provider":"mijnklantportaal","description":"Load %s","amount":{"currency":"EUR","value":"12.95"}}`, "provider=mijnklantportaal&limit=10"},
	{"hub2", `{"provider":"hub2","reference":"LOAD-%s","amount":{"currency":"XOF","value":"1000"},"providerOptions":{"hub2":{"country":"CI"}}}`, "provider=hub2&status=active&limit=10"},
	{"telness", `{"provider":"telness","description":"Load %s","providerOptions":{"telness":{"orderId":"ord_%[1]s"}}}`, "limit=5&provider=mijnklantportaal"},
}

// cycle is one link's life: create, get, list, close, get, close again; every 10th cycle replays its
// create under the same Idempotency-Key, and every 25th lists all providers. Lists are kept to what
// stays cheap as links pile up (one provider page, or the few active Hub2 links).
func (lt *loadTest) cycle(client, i int) {
	b := loadBodies[(client+i)%len(loadBodies)]
	tag := fmt.Sprintf("r%dc%d-%d", lt.runs, client, i)
	create := fmt.Sprintf(b.body, tag)
	key := map[string]string{"Idempotency-Key": "load-" + tag}
	var link struct{ ID, Status string }
	if !lt.expect("create", "POST", "/v1/payment-links", create, key, 201, &link) {
		return
	}
	lt.created.Add(1)
	if i%10 == 0 {
		var again struct{ ID string }
		if lt.expect("replay", "POST", "/v1/payment-links", create, key, 201, &again) && again.ID != link.ID {
			lt.fail("replay: link %s, first answer %s", again.ID, link.ID)
		}
	}
	var got struct{ Status string }
	if lt.expect("get", "GET", "/v1/payment-links/"+link.ID, "", nil, 200, &got) && got.Status != "active" {
		lt.fail("get %s: status %s, want active", link.ID, got.Status)
	}
	lt.expect("list", "GET", "/v1/payment-links?"+b.list, "", nil, 200, nil)
	if i%25 == 0 {
		lt.expect("list all", "GET", "/v1/payment-links?limit=20", "", nil, 200, nil)
	}
	lt.expect("close", "POST", "/v1/payment-links/"+link.ID+"/close", "", nil, 200, nil)
	if lt.expect("get closed", "GET", "/v1/payment-links/"+link.ID, "", nil, 200, &got) && got.Status != "closed" {
		lt.fail("get %s after close: status %s, want closed", link.ID, got.Status)
	}
	lt.expect("close again", "POST", "/v1/payment-links/"+link.ID+"/close", "", nil, 409, nil)
}

// expect sends a request and counts a failure unless the answer has the status; a 2xx answer is
// decoded into out.
func (lt *loadTest) expect(op, method, path, body string, header map[string]string, status int, out any) bool {
	lt.requests.Add(1)
	req, err := http.NewRequest(method, lt.url+path, strings.NewReader(body))
	if err != nil {
		lt.fail("%s: %v", op, err)
		return false
	}
	req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := lt.client.Do(req)
	if err != nil {
		lt.fail("%s %s: %v", op, path, err)
		return false
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	switch {
	case err != nil:
		lt.fail("%s %s: reading the answer: %v", op, path, err)
	case res.StatusCode != status:
		lt.fail("%s %s: %d, want %d: %.300s", op, path, res.StatusCode, status, raw)
	case out != nil && json.Unmarshal(raw, out) != nil:
		lt.fail("%s %s: undecodable answer %.300s", op, path, raw)
	default:
		return true
	}
	return false
}

func (lt *loadTest) fail(format string, args ...any) {
	lt.failed.Add(1)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.reported++; lt.reported <= 10 {
		lt.t.Errorf(format, args...)
	}
}

// startQuiet runs a server on a loopback port until the test ends, logging nowhere (a log kept in
// memory would grow with the load and blur the heap measurement).
func startQuiet(t *testing.T, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	cfg.Logger = NewLogger(io.Discard, 0)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	url := "http://" + cfg.Addr
	waitReady(t, url)
	return url
}

// settledGoroutines counts goroutines once the count stops changing (connections of a readiness
// probe closing, say).
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 40 {
		time.Sleep(25 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// liveHeap is the heap still in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
