package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/internal/browsertest"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/openapi"
)

// The tests in this file drive the server's web pages in headless Chromium (impl/internal/
// browsertest): skipped without it, failed under CI.

const pageTimeout = 30 * time.Second

// operations lists the operation ids of a spec with their summaries.
func operations(t *testing.T, doc *openapi3.T) map[string]string {
	t.Helper()
	ops := map[string]string{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops[op.OperationID] = op.Summary
		}
	}
	if len(ops) == 0 {
		t.Fatal("the spec has no operations")
	}
	return ops
}

// rendered reads the operations Swagger UI shows: operation id → summary.
func rendered(t *testing.T, tab *browsertest.Tab) map[string]string {
	t.Helper()
	return browsertest.Eval[map[string]string](t, tab, `Object.fromEntries([...document.querySelectorAll(".opblock")].map(op => [
		op.querySelector(".opblock-summary-operation-id")?.textContent.trim(),
		op.querySelector(".opblock-summary-description")?.textContent.trim()]))`)
}

// TestBrowserAPIReference: /docs renders every operation of the unified spec as the file in
// openapi/ has it (so an operation added later is checked too), each /docs/<provider> every
// operation of that provider's curated spec, with the sandbox hint, without a script error or a
// Content-Security-Policy violation; and "Try it out" calls this server with the demo key.
func TestBrowserAPIReference(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	browser := browsertest.Start(t)

	unified, err := openapi3.NewLoader().LoadFromData(openapi.Paylinks)
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct {
		path string
		ops  map[string]string
	}{{"/docs", operations(t, unified)}}
	for _, kit := range kits.All {
		doc, err := kit.Spec()
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, struct {
			path string
			ops  map[string]string
		}{"/docs/" + kit.Name, operations(t, doc)})
	}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			tab := browser.Tab(t)
			// Swagger UI fetches the spec, then renders: wait until it shows as many operations as
			// the spec has (or time out and report what it shows).
			tab.Do(t, pageTimeout, chromedp.Navigate(ts.URL+p.path),
				chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll(".opblock").length >= %d`, len(p.ops)), chromedp.WithPollingTimeout(pageTimeout)))
			got := rendered(t, tab)
			for id, summary := range p.ops {
				if s, ok := got[id]; !ok || s != summary {
					t.Errorf("operation %s (%q) not rendered; the page shows %v", id, summary, got)
				}
			}
			if len(got) != len(p.ops) {
				t.Errorf("the page shows %d operations, the spec has %d: %v", len(got), len(p.ops), got)
			}
			hint := browsertest.Eval[string](t, tab, `document.getElementById("sandbox-hint")?.innerText ?? ""`)
			if !strings.Contains(hint, DemoAPIKey) {
				t.Errorf("no sandbox hint with the demo key: %q", hint)
			}
			if problems := tab.Problems(); len(problems) > 0 {
				t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
			}
		})
	}

	t.Run("try it out", func(t *testing.T) {
		tab := browser.Tab(t)
		op := "#operations-Providers-ListProviders"
		tab.Do(t, pageTimeout,
			chromedp.Navigate(ts.URL+"/docs"),
			chromedp.Click(chromedp.CSS(op+" .opblock-summary-control")),
			chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
			chromedp.Click(chromedp.CSS(op+" .execute")),
			chromedp.WaitVisible(chromedp.CSS(op+" .live-responses-table .response-col_status")),
		)
		status := browsertest.Eval[string](t, tab, `document.querySelector("`+op+` .live-responses-table tbody .response-col_status").textContent.trim()`)
		curl := browsertest.Eval[string](t, tab, `document.querySelector("`+op+` .curl-command")?.textContent ?? ""`)
		if status != "200" || !strings.Contains(curl, ts.URL+"/v1/providers") || !strings.Contains(curl, "Bearer "+DemoAPIKey) {
			t.Errorf("Try it out: status %q, request %s", status, curl)
		}
		if problems := tab.Problems(); len(problems) > 0 {
			t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
		}
	})
}

// checkoutSample is the link the checkout test creates at a provider: its kit's sample, with a
// description holding markup and a long unbroken word (escaping, wrapping on a phone) and an amount
// large enough to be grouped.
func checkoutSample(t *testing.T, k kits.Kit) api.CreatePaymentLinkRequest {
	t.Helper()
	in := k.Sample()
	in.Description = checkoutDescription
	if in.Amount != nil {
		in.Amount.Minor *= 100
	}
	b, err := kits.CreateBody(in)
	if err != nil {
		t.Fatal(err)
	}
	var body api.CreatePaymentLinkRequest
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	return body
}

const checkoutDescription = `<b>Invoice</b> & "more" <script>x()</script> ` + "Kontraktsförnyelseavgiftsberäkningsunderlagsdokumentationen"

// TestBrowserCheckout: for each provider, the sandbox checkout page of a link created through the
// unified API shows its amount formatted as the CLI formats it and its status, fits a 375 px phone
// screen, and its Pay button makes the link completed in the unified API; its Cancel button does
// what the provider's sandbox does on a failed attempt.
func TestBrowserCheckout(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	browser := browsertest.Start(t)
	c := ts.client(t, DemoAPIKey)
	ctx := context.Background()
	created := 0
	create := func(t *testing.T, body api.CreatePaymentLinkRequest) api.PaymentLink {
		t.Helper()
		if created++; body.Reference != nil {
			body.Reference = ptr(fmt.Sprintf("%s-%d", *body.Reference, created))
		}
		res, err := c.CreatePaymentLinkWithResponse(ctx, nil, body)
		if err != nil || res.JSON201 == nil {
			t.Fatalf("create: %v %d %s", err, res.StatusCode(), res.Body)
		}
		return *res.JSON201
	}
	status := func(t *testing.T, id string) api.PaymentLinkStatus {
		t.Helper()
		res, err := c.GetPaymentLinkWithResponse(ctx, id, nil)
		if err != nil || res.JSON200 == nil {
			t.Fatalf("get: %v %d %s", err, res.StatusCode(), res.Body)
		}
		return res.JSON200.Status
	}

	for _, kit := range kits.All {
		t.Run(kit.Name, func(t *testing.T) {
			sample := checkoutSample(t, kit)
			sim, _ := ts.Simulator(kit.Name)
			tab := browser.Tab(t)
			tab.Do(t, pageTimeout, chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile, chromedp.EmulateTouch))
			open := func(link api.PaymentLink) {
				t.Helper()
				if link.Url == nil {
					t.Fatalf("link %s has no url", link.Id)
				}
				tab.Do(t, pageTimeout, chromedp.Navigate(*link.Url), chromedp.WaitVisible(chromedp.ID("status")))
			}
			text := func(expr string) string { t.Helper(); return browsertest.Eval[string](t, tab, expr) }
			click := func(id string) {
				t.Helper()
				tctx, cancel := context.WithTimeout(tab, pageTimeout)
				defer cancel()
				// The button posts its form; the answer redirects back to the page.
				if _, err := chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID(id)))); err != nil {
					t.Fatalf("click %s: %v", id, err)
				}
			}

			link := create(t, sample)
			open(link)
			co, err := sim.Checkout(link.ProviderLinkId)
			if err != nil {
				t.Fatal(err)
			}
			wantAmount := ""
			if link.Amount != nil {
				wantAmount = paylink.Amount{Currency: link.Amount.Currency, Minor: link.Amount.Minor}.Format("en")
			}
			if got := text(`document.getElementById("amount")?.textContent ?? ""`); got != wantAmount {
				t.Errorf("amount %q, want %q", got, wantAmount)
			}
			if got := text(`document.getElementById("status").textContent`); got != co.Status {
				t.Errorf("status %q, want the sandbox's %q", got, co.Status)
			}
			if got := text(`document.getElementById("description").textContent`); got != checkoutDescription {
				t.Errorf("description %q, want %q shown as text", got, checkoutDescription)
			}
			if n := browsertest.Eval[int](t, tab, `document.querySelectorAll("main b, main script").length`); n != 0 {
				t.Errorf("the description's markup became %d elements", n)
			}
			fitsPhone(t, tab)

			click("pay")
			if got := text(`document.getElementById("result")?.textContent ?? ""`); got != "Payment received. Thank you!" {
				t.Errorf("after Pay the page says %q", got)
			}
			paid, _ := sim.Checkout(link.ProviderLinkId)
			if got := text(`document.getElementById("status").textContent`); got != paid.Status || paid.Status == co.Status {
				t.Errorf("after Pay the page shows status %q, the sandbox %q (before: %q)", got, paid.Status, co.Status)
			}
			if got := status(t, link.Id); got != api.PaymentLinkStatusCompleted {
				t.Errorf("after Pay the unified API says %s, want completed", got)
			}
			if n := browsertest.Eval[int](t, tab, `document.querySelectorAll("#pay, #cancel").length`); n != 0 {
				t.Errorf("a paid link still shows %d buttons", n)
			}

			// Cancel is the sandbox's failed attempt: compare with a twin link failed directly.
			cancelled, twin := create(t, sample), create(t, sample)
			if err := sim.Fail(twin.ProviderLinkId); err != nil {
				t.Fatal(err)
			}
			open(cancelled)
			click("cancel")
			if got := text(`document.getElementById("result")?.textContent ?? ""`); got != "Payment cancelled." {
				t.Errorf("after Cancel the page says %q", got)
			}
			want, _ := sim.Checkout(twin.ProviderLinkId)
			got, _ := sim.Checkout(cancelled.ProviderLinkId)
			if got.Status != want.Status || got.Payable != want.Payable {
				t.Errorf("after Cancel the sandbox has %+v, a failed attempt gives %+v", got, want)
			}
			if got, want := status(t, cancelled.Id), status(t, twin.Id); got != want {
				t.Errorf("after Cancel the unified API says %s, after a failed attempt %s", got, want)
			}
			if pay := browsertest.Eval[int](t, tab, `document.querySelectorAll("#pay").length`); (pay == 1) != want.Payable {
				t.Errorf("after Cancel the page has %d Pay buttons, the link is payable: %v", pay, want.Payable)
			}
			fitsPhone(t, tab)
			if problems := tab.Problems(); len(problems) > 0 {
				t.Errorf("the page reported errors:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
}

// fitsPhone checks the page as a 375 px phone shows it: laid out at the phone's width (not a
// zoomed-out desktop page), nothing wider than the screen, every button on screen and big enough
// to tap.
func fitsPhone(t *testing.T, tab *browsertest.Tab) {
	t.Helper()
	type box struct {
		Left   float64 `json:"left"`
		Right  float64 `json:"right"`
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
	}
	layout := browsertest.Eval[struct {
		ClientWidth float64        `json:"clientWidth"`
		ScrollWidth float64        `json:"scrollWidth"`
		InnerHeight float64        `json:"innerHeight"`
		Buttons     map[string]box `json:"buttons"`
	}](t, tab, `({
		clientWidth: document.documentElement.clientWidth,
		scrollWidth: document.documentElement.scrollWidth,
		innerHeight: window.innerHeight,
		buttons: Object.fromEntries([...document.querySelectorAll("button")].map(b => [b.id, b.getBoundingClientRect().toJSON()])),
	})`)
	if layout.ClientWidth != 375 {
		t.Errorf("laid out %v px wide on a 375 px phone (no viewport meta?)", layout.ClientWidth)
	}
	if layout.ScrollWidth > layout.ClientWidth {
		t.Errorf("the page is %v px wide, wider than the %v px screen", layout.ScrollWidth, layout.ClientWidth)
	}
	for id, b := range layout.Buttons {
		if b.Left < 0 || b.Right > layout.ClientWidth || b.Top < 0 || b.Bottom > layout.InnerHeight {
			t.Errorf("button %s at %+v is not on the %vx%v screen", id, b, layout.ClientWidth, layout.InnerHeight)
		}
		if b.Height < 40 || b.Width < 40 {
			t.Errorf("button %s is %vx%v px, too small to tap", id, b.Width, b.Height)
		}
	}
}
