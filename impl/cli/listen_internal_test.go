package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is an output a command writes while the test reads it; exported for the tests of
// package cli_test too.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestListenDropsASilentStream checks the cases a real server hardly makes: a connection that
// stays open but carries nothing (a peer gone without closing it) is dropped after the idle time
// and resumed with Last-Event-ID, and a 503 on the way is retried rather than ending listen.
func TestListenDropsASilentStream(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls []http.Header
	)
	event := func(id, link string) string {
		return fmt.Sprintf("id: %s\nevent: payment_link.created\ndata: {\"id\":%q,\"type\":\"payment_link.created\",\"timestamp\":\"2030-01-02T03:04:05Z\",\"data\":{\"link\":{\"id\":%q,\"provider\":\"hub2\",\"status\":\"active\",\"providerStatus\":\"active\",\"providerLinkId\":\"x\",\"reusable\":false,\"createdAt\":\"2030-01-02T03:04:05Z\"},\"source\":\"api\",\"sequence\":1}}\n\n", id, id, link)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Header.Clone())
		n := len(calls)
		mu.Unlock()
		if r.URL.Path != "/v1/events/stream" || r.URL.Query().Get("type") != "payment_link.created" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		switch n {
		case 1, 3:
			w.Header().Set("Content-Type", "text/event-stream")
			if n == 1 {
				fmt.Fprint(w, event("evt_1", "hub2_first"))
			} else {
				fmt.Fprint(w, ": keep-alive\n\n"+event("evt_2", "hub2_second"))
			}
			w.(http.Flusher).Flush()
			<-r.Context().Done() // silent from now on, without closing
		case 2:
			http.Error(w, "restarting", http.StatusServiceUnavailable)
		default:
			<-r.Context().Done()
		}
	}))
	defer srv.Close()

	var stdout, stderr SyncBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		g: globals{server: srv.URL, apiKey: "k", output: "table", timeout: 5 * time.Second, cmd: "paylinks listen"}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.listen(ctx, &listenOptions{events: []string{"payment_link.created"}, idle: 300 * time.Millisecond}, false)
	}()

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stdout.String(), "hub2_second") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("listen ended with %v, want nil after an interrupt", err)
	}
	out, logs := stdout.String(), stderr.String()
	for _, want := range []string{"2030-01-02T03:04:05Z  payment_link.created    active     hub2              hub2_first  [evt_1]",
		"hub2_second  [evt_2]"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"Ready! (^C to quit)", "Lost the event stream (nothing received for 300ms)",
		"Lost the event stream (the server answered 503 Service Unavailable)", "Reconnected; resuming after evt_1."} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) < 3 || calls[0].Get("Last-Event-ID") != "" || calls[1].Get("Last-Event-ID") != "evt_1" || calls[2].Get("Last-Event-ID") != "evt_1" {
		var ids []string
		for _, h := range calls {
			ids = append(ids, h.Get("Last-Event-ID"))
		}
		t.Errorf("Last-Event-ID of the connections: %q, want none, then evt_1 twice", ids)
	}
}
