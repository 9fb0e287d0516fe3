package sandbox_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// fakeSim is a simulator with one link whose description and amount a test chooses, so the page
// can be fed whatever a provider might send.
type fakeSim struct {
	mu       sync.Mutex
	checkout sandbox.Checkout
	paid     int
	failed   int
}

func newFake(description, amount string) *fakeSim {
	return &fakeSim{checkout: sandbox.Checkout{Provider: "fake", LinkID: "lnk_1", Description: description, Amount: amount, Status: "open", Payable: true}}
}

func (f *fakeSim) Name() string { return "fake" }
func (f *fakeSim) Pay(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.checkout.LinkID {
		return sandbox.ErrNoLink
	}
	if !f.checkout.Payable {
		return fmt.Errorf("%w: it is %s", sandbox.ErrNotPayable, f.checkout.Status)
	}
	f.paid++
	f.checkout.Status, f.checkout.Payable = "paid", false
	return nil
}
func (f *fakeSim) Fail(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.checkout.LinkID {
		return sandbox.ErrNoLink
	}
	f.failed++
	return nil
}
func (f *fakeSim) Checkout(id string) (sandbox.Checkout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.checkout.LinkID {
		return sandbox.Checkout{}, sandbox.ErrNoLink
	}
	return f.checkout, nil
}
func (f *fakeSim) Clock() *sandbox.Clock { return sandbox.WallClock() }
func (f *fakeSim) Handler() http.Handler { return http.NotFoundHandler() }
func (f *fakeSim) counts() (paid, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paid, f.failed
}

const page = "/sandbox/checkout/fake/lnk_1"

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w.Result(), w.Body.String()
}

func TestCheckoutFormatsAmounts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ amount, want string }{
		{"1234.50 EUR", "€1,234.50"},
		{"12.95 EUR", "€12.95"},
		{"1000 XOF", "F\u202fCFA\u00a01,000"},
		{"2500000 XAF", "FCFA\u00a02,500,000"},
		{"1.234 KWD", "KWD\u00a01.234"},
		// What does not parse is shown as the simulator gave it (escaped), not dropped.
		{"a lot", "a lot"},
	} {
		h := sandbox.Handler("/sandbox", newFake("Order", tt.amount))
		res, body := get(t, h, page)
		if res.StatusCode != 200 || !strings.Contains(body, `<p class="amt" id="amount">`+tt.want+`</p>`) {
			t.Errorf("amount %q: %d, want %q shown in\n%s", tt.amount, res.StatusCode, tt.want, body)
		}
	}
	// No amount (Telness links have none): no amount line at all.
	if _, body := get(t, sandbox.Handler("/sandbox", newFake("Order", "")), page); strings.Contains(body, `id="amount"`) {
		t.Errorf("an amount line without an amount:\n%s", body)
	}
}

func TestCheckoutEscapesProviderStrings(t *testing.T) {
	t.Parallel()
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	f := newFake(evil, "12.95 <b>EUR</b>")
	f.checkout.Status = `<i>open</i>`
	_, body := get(t, sandbox.Handler("/sandbox", f), page)
	for _, raw := range []string{"<script>", "<img", "<b>", "<i>"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page contains %q unescaped:\n%s", raw, body)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#34;&#39;&amp;", "12.95 &lt;b&gt;EUR&lt;/b&gt;", "&lt;i&gt;open&lt;/i&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q:\n%s", want, body)
		}
	}
}

// TestCheckoutShowsOnlyItsOwnMessages: ?result= selects one of the page's messages; any other
// text is never rendered on the paylinks origin (issue 15, item 12).
func TestCheckoutShowsOnlyItsOwnMessages(t *testing.T) {
	t.Parallel()
	h := sandbox.Handler("/sandbox", newFake("Order", "12.95 EUR"))
	for _, tt := range []struct{ result, want string }{
		{"pay", "Payment received. Thank you!"},
		{"cancel", "Payment cancelled."},
		{"not_payable", "This link cannot be paid in its current status."},
		{"Your+card+was+declined.+Call+%2B1-555-0100+to+pay+by+phone", ""},
		{"%3Ca+href%3D%22https%3A%2F%2Fevil.example%22%3Elog+in%3C%2Fa%3E", ""},
		{"", ""},
	} {
		_, body := get(t, h, page+"?result="+tt.result)
		if tt.want == "" {
			if strings.Contains(body, `id="result"`) || strings.Contains(body, "declined") || strings.Contains(body, "evil.example") {
				t.Errorf("?result=%s rendered a message:\n%s", tt.result, body)
			}
			continue
		}
		if !strings.Contains(body, `<p id="result" role="status">`+tt.want+`</p>`) {
			t.Errorf("?result=%s: no %q in\n%s", tt.result, tt.want, body)
		}
	}
}

// TestCheckoutPageHeaders: the page cannot be framed (clickjacking the Pay button), loads nothing
// but its own style, and its policy allows exactly the style block it carries.
func TestCheckoutPageHeaders(t *testing.T) {
	t.Parallel()
	res, body := get(t, sandbox.Handler("/sandbox", newFake("Order", "12.95 EUR")), page)
	if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	_, style, _ := strings.Cut(body, "<style>")
	style, _, _ = strings.Cut(style, "</style>")
	sum := sha256.Sum256([]byte(style))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; style == "" || !strings.Contains(csp, want) {
		t.Errorf("Content-Security-Policy %q does not allow the page's style block (%s)", csp, want)
	}
	if !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Error("no viewport meta: phones would render the page at desktop width")
	}
}

// TestCheckoutRefusesCrossSitePosts: a form on another site cannot press Pay (or drive the control
// API); the page's own same-origin form and non-browser clients still can (issue 15, item 12).
func TestCheckoutRefusesCrossSitePosts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		path    string
		header  map[string]string
		allowed bool
	}{
		{"cross-site form", page + "/pay", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, false},
		{"same-site other port", page + "/pay", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://example.com:9999"}, false},
		{"old browser, foreign origin", page + "/pay", map[string]string{"Origin": "https://evil.example"}, false},
		{"cross-site cancel", page + "/cancel", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"cross-site control API", "/sandbox/fake/_control/links/lnk_1/pay", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"the page's own form", page + "/pay", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, true},
		{"old browser, same origin", page + "/pay", map[string]string{"Origin": "http://example.com"}, true},
		{"curl", page + "/pay", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake("Order", "12.95 EUR")
			h := sandbox.Handler("/sandbox", f)
			req := httptest.NewRequest("POST", "http://example.com"+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			paid, failed := f.counts()
			switch {
			case tt.allowed && (w.Code != http.StatusSeeOther || w.Header().Get("Location") != page+"?result=pay" || paid != 1):
				t.Errorf("%d %q, paid %d: want a redirect to the page and the link paid", w.Code, w.Header().Get("Location"), paid)
			case !tt.allowed && (w.Code != http.StatusForbidden || paid+failed != 0):
				t.Errorf("%d, paid %d, failed %d: want 403 and nothing done", w.Code, paid, failed)
			}
		})
	}
}

func TestCheckoutButtonOutcomes(t *testing.T) {
	t.Parallel()
	f := newFake("Order", "12.95 EUR")
	h := sandbox.Handler("/sandbox", f)
	post := func(path string) *http.Response {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		return w.Result()
	}
	for _, tt := range []struct{ path, location string }{
		{page + "/cancel", page + "?result=cancel"},
		{page + "/pay", page + "?result=pay"},
		{page + "/pay", page + "?result=not_payable"},
	} {
		if res := post(tt.path); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tt.location {
			t.Errorf("POST %s: %d %q, want 303 to %s", tt.path, res.StatusCode, res.Header.Get("Location"), tt.location)
		}
	}
	if paid, failed := f.counts(); paid != 1 || failed != 1 {
		t.Errorf("paid %d failed %d, want 1 and 1", paid, failed)
	}
	for _, path := range []string{"/sandbox/checkout/fake/lnk_nope/pay", "/sandbox/checkout/fake/lnk_1/refund", "/sandbox/checkout/nope/lnk_1/pay"} {
		if res := post(path); res.StatusCode != http.StatusNotFound {
			b, _ := io.ReadAll(res.Body)
			t.Errorf("POST %s: %d %s, want 404", path, res.StatusCode, b)
		}
	}
}
