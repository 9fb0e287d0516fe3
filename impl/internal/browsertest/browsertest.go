// Package browsertest starts headless Chromium for tests and opens tabs in it (driven with
// chromedp). Without Chromium the test is skipped, except under CI (CI=true), where that is a
// failure: .ci/run installs Debian's chromium.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a running headless Chromium.
type Browser struct {
	ctx context.Context
}

// binaries are where Chromium is looked for: Debian's package first.
var binaries = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// Start runs headless Chromium with a fresh profile until the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin := ""
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (.ci/run should have installed it)")
		}
		t.Skip("chromium not installed: apt-get install chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		// Without these Chromium reaches out to Google services at start and, on a machine with no
		// internet, stalls waiting for them.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit, before the profile directory goes
	})
	// The first Do binds the browser's life to its context: give it ctx itself, and bound the
	// wait for the start separately.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within a minute", bin)
	}
	return &Browser{ctx: ctx}
}

// Tab is one browser tab; its context runs chromedp actions.
type Tab struct {
	context.Context
	mu       sync.Mutex
	problems []string
}

// Tab opens a new tab, closed when the test ends. It records what the pages it loads report as
// errors (uncaught exceptions, console.error, and the browser's own errors: Content-Security-Policy
// violations, failed loads), for Problems.
func (b *Browser) Tab(t testing.TB) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tab := &Tab{Context: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		cancel()
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the tab is closed
			}
			// Chromium asks for /favicon.ico on its own when a page names no icon: not the page's error.
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException) && !strings.HasSuffix(m.URL, "/favicon.ico") {
				tab.mu.Lock()
				tab.problems = append(tab.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				tab.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return tab
}

// Problems returns the errors the tab's pages reported so far, and forgets them.
func (t *Tab) Problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.problems
	t.problems = nil
	return p
}

// Do runs the actions in the tab, failing the test on an error or after timeout.
func (t *Tab) Do(tb testing.TB, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(t.Context, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression in the tab's page and decodes its value.
func Eval[T any](tb testing.TB, tab *Tab, expression string) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tab.Context, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		tb.Fatalf("%s: %v", expression, err)
	}
	return v
}
