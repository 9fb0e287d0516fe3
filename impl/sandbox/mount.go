package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// Handler serves the simulators under prefix (e.g. "/sandbox"):
//
//	{prefix}/{provider}/…                                   the provider's own API
//	{prefix}/{provider}/_control/links/{id}/pay    POST     simulate a successful payment
//	{prefix}/{provider}/_control/links/{id}/fail   POST     simulate a failed attempt
//	{prefix}/{provider}/_control/clock             GET      the simulator's time
//	{prefix}/{provider}/_control/clock/advance     POST     ?by=90m moves it forward (what became due, such as expiries, happens)
//	{prefix}/{provider}/_control/webhooks          GET/POST the switches of its webhook deliveries (providers that send them)
//	{prefix}/{provider}/_control/webhooks/log      GET      what it sent
//	{prefix}/{provider}/_control/webhooks/rotate   POST     new webhook secrets (providers that rotate them: Hub2)
//	{prefix}/checkout/{provider}/{id}              GET      the checkout page (pay / cancel buttons)
//
// The control API needs no credentials: it exists only in sandboxes. Unsafe requests a browser
// sends from another origin are refused (403), so no other site can pay a link through it or
// through the checkout page.
func Handler(prefix string, sims ...Simulator) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	byName := map[string]Simulator{}
	mux := http.NewServeMux()
	for _, s := range sims {
		name := s.Name()
		byName[name] = s
		base := prefix + "/" + name
		mux.Handle(base+"/", http.StripPrefix(base, s.Handler()))
		mux.HandleFunc("POST "+base+"/_control/links/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
			control(w, s, r.PathValue("id"), s.Pay)
		})
		mux.HandleFunc("POST "+base+"/_control/links/{id}/fail", func(w http.ResponseWriter, r *http.Request) {
			control(w, s, r.PathValue("id"), s.Fail)
		})
		mux.HandleFunc("GET "+base+"/_control/clock", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"now": s.Clock().Now().Format(time.RFC3339)})
		})
		mux.HandleFunc("POST "+base+"/_control/clock/advance", func(w http.ResponseWriter, r *http.Request) {
			d, err := time.ParseDuration(r.URL.Query().Get("by"))
			if err == nil {
				err = s.Clock().Advance(d)
			}
			if errors.Is(err, ErrClockRange) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "query parameter by: " + err.Error()})
				return
			}
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "query parameter by: give a positive Go duration such as 90m or 25h"})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"now": s.Clock().Now().Format(time.RFC3339)})
		})
		controlWebhooks(mux, base, s)
	}
	mux.HandleFunc("GET "+prefix+"/checkout/{provider}/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := byName[r.PathValue("provider")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		c, err := s.Checkout(r.PathValue("id"))
		if err != nil {
			http.Error(w, "No such payment link in this sandbox.", http.StatusNotFound)
			return
		}
		pageHeaders(w.Header())
		_ = checkoutPage.Execute(w, checkoutView{
			Checkout: c,
			Amount:   formatAmount(c.Amount),
			Action:   checkoutPath(prefix, s.Name(), c.LinkID),
			// Only a known result code shows a message, and always one of ours: the query string is
			// anyone's to write, and the page is served on the paylinks origin.
			Message: results[r.URL.Query().Get("result")],
		})
	})
	mux.HandleFunc("POST "+prefix+"/checkout/{provider}/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := byName[r.PathValue("provider")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		id := r.PathValue("id")
		var err error
		result := r.PathValue("action")
		switch result {
		case "pay":
			err = s.Pay(id)
		case "cancel":
			err = s.Fail(id)
		default:
			http.NotFound(w, r)
			return
		}
		switch {
		case errors.Is(err, ErrNoLink):
			http.Error(w, "No such payment link in this sandbox.", http.StatusNotFound)
			return
		case errors.Is(err, ErrNotPayable):
			result = "not_payable"
		case err != nil:
			result = "failed"
		}
		http.Redirect(w, r, checkoutPath(prefix, s.Name(), id)+"?result="+result, http.StatusSeeOther)
	})
	// Browsers on other sites must not drive a sandbox: a form there could otherwise pay a link
	// through the checkout page or the control API. Non-browser clients (no Sec-Fetch-Site, no
	// Origin) are not affected.
	return http.NewCrossOriginProtection().Handler(mux)
}

// results are the messages the checkout page shows after a button, by the code its redirect
// carries; any other value of ?result= shows nothing.
var results = map[string]string{
	"pay":         "Payment received. Thank you!",
	"cancel":      "Payment cancelled.",
	"not_payable": "This link cannot be paid in its current status.",
	"failed":      "That did not work. Try again.",
}

func checkoutPath(prefix, provider, id string) string {
	return prefix + "/checkout/" + url.PathEscape(provider) + "/" + url.PathEscape(id)
}

// locale is how the page writes amounts for people, as the CLI does: "€12.95", "F CFA 1,000".
const locale = "en"

// formatAmount formats an amount given as "<value> <currency>" ("1234.50 EUR") with the currency's
// symbol, grouping and decimals; what does not parse is shown as the simulator gave it.
func formatAmount(s string) string {
	value, code, ok := strings.Cut(s, " ")
	if !ok {
		return s
	}
	a, err := paylink.ParseAmount(code, value)
	if err != nil {
		return s
	}
	return a.Format(locale)
}

// pageHeaders keep the page out of frames, stop it loading anything but its own style block, and
// let its forms post only to this origin.
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", checkoutCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func control(w http.ResponseWriter, s Simulator, id string, act func(string) error) {
	err := act(id)
	switch {
	case errors.Is(err, ErrNoLink):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		c, _ := s.Checkout(id)
		writeJSON(w, http.StatusOK, c)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type checkoutView struct {
	Checkout
	Amount, Action, Message string
}

// checkoutCSS is the page's only style; the Content-Security-Policy allows exactly it, by hash.
const checkoutCSS = `*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;padding:1rem;line-height:1.4;color:#1b1b1b;background:#f4f4f4}
main{max-width:28rem;margin:1rem auto;background:#fff;border:1px solid #d0d0d0;border-radius:8px;padding:1.25rem}
h1{font-size:1.4rem;margin:.25rem 0 .75rem;overflow-wrap:anywhere}
.amt{font-size:2rem;font-weight:600;margin:.5rem 0;overflow-wrap:anywhere}
.note{color:#595959;font-size:.85rem;overflow-wrap:anywhere}
#result{padding:.6rem .8rem;border-radius:6px;background:#eef4ff}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
.actions form{flex:1 1 8rem;margin:0}
button{width:100%;min-height:2.75rem;font-size:1.05rem;padding:.6rem 1rem;border-radius:6px;border:1px solid #767676;background:#fff;cursor:pointer}
#pay{background:#1a7f37;border-color:#1a7f37;color:#fff}`

var checkoutCSP = "default-src 'none'; style-src 'sha256-" + func() string {
	sum := sha256.Sum256([]byte(checkoutCSS))
	return base64.StdEncoding.EncodeToString(sum[:])
}() + "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// checkoutPage is html/template: every value the simulator supplies is escaped for its context.
var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout · {{.Provider}}</title>
<style>` + checkoutCSS + `</style></head>
<body><main>
<p class="note">paylinks sandbox · {{.Provider}} · no real money moves</p>
<h1 id="description">{{if .Description}}{{.Description}}{{else}}Payment{{end}}</h1>
{{if .Amount}}<p class="amt" id="amount">{{.Amount}}</p>{{end}}
<p>Status: <strong id="status">{{.Status}}</strong></p>
{{if .Message}}<p id="result" role="status">{{.Message}}</p>{{end}}
{{if .Payable}}<div class="actions">
<form method="post" action="{{.Action}}/pay"><button id="pay">Pay</button></form>
<form method="post" action="{{.Action}}/cancel"><button id="cancel">Cancel</button></form>
</div>{{end}}
</main></body></html>
`))
