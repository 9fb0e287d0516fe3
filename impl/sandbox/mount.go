package sandbox

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Handler serves the simulators under prefix (e.g. "/sandbox"):
//
//	{prefix}/{provider}/…                                   the provider's own API
//	{prefix}/{provider}/_control/links/{id}/pay    POST     simulate a successful payment
//	{prefix}/{provider}/_control/links/{id}/fail   POST     simulate a failed attempt
//	{prefix}/{provider}/_control/clock             GET      the simulator's time
//	{prefix}/{provider}/_control/clock/advance     POST     ?by=90m moves it forward
//	{prefix}/checkout/{provider}/{id}              GET      the checkout page (pay / cancel buttons)
//
// The control API needs no credentials: it exists only in sandboxes.
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
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "query parameter by: give a positive Go duration such as 90m or 25h"})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"now": s.Clock().Now().Format(time.RFC3339)})
		})
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
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = checkoutPage.Execute(w, struct {
			Checkout
			Action, Message string
		}{c, r.URL.Path, r.URL.Query().Get("result")})
	})
	mux.HandleFunc("POST "+prefix+"/checkout/{provider}/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := byName[r.PathValue("provider")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		id := r.PathValue("id")
		var err error
		switch r.PathValue("action") {
		case "pay":
			err = s.Pay(id)
		case "cancel":
			err = s.Fail(id)
		default:
			http.NotFound(w, r)
			return
		}
		result := map[string]string{"pay": "Payment received. Thank you!", "cancel": "Payment cancelled."}[r.PathValue("action")]
		if err != nil {
			result = "Not possible: " + err.Error()
		}
		page := prefix + "/checkout/" + url.PathEscape(s.Name()) + "/" + url.PathEscape(id)
		http.Redirect(w, r, page+"?result="+url.QueryEscape(result), http.StatusSeeOther)
	})
	return mux
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

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox checkout — {{.Provider}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
.box{border:1px solid #ccc;border-radius:8px;padding:1.5rem}.amt{font-size:2rem;margin:.5rem 0}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.note{color:#666;font-size:.85rem}</style></head>
<body><div class="box">
<p class="note">paylinks sandbox · {{.Provider}} · no real money moves</p>
<h1>{{if .Description}}{{.Description}}{{else}}Payment{{end}}</h1>
{{if .Amount}}<p class="amt">{{.Amount}}</p>{{end}}
<p>Status: <strong id="status">{{.Status}}</strong></p>
{{if .Message}}<p id="result">{{.Message}}</p>{{end}}
{{if .Payable}}<form method="post" action="{{.Action}}/pay" style="display:inline"><button id="pay">Pay</button></form>
<form method="post" action="{{.Action}}/cancel" style="display:inline"><button id="cancel">Cancel</button></form>{{end}}
</div></body></html>
`))
