// Package apidocs serves interactive references of OpenAPI documents: Swagger UI, whose assets come
// embedded in the Go module github.com/swaggest/swgui (version pinned in go.mod, Swagger UI 5.29.1,
// licences in ui/licenses), started by a page of our own that has no inline script, so a strict
// Content-Security-Policy holds. Nothing is loaded from elsewhere: the reference works on a machine
// without internet access.
//
// It knows nothing of paylinks' providers or server; the server says which documents to show.
package apidocs

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/swaggest/swgui/v5/static"
	"github.com/vearutop/statigz"
)

//go:embed ui
var ui embed.FS

// CSP is the Content-Security-Policy of a reference page: scripts and styles from this origin
// only, calls ("Try it out") to this origin only, and no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Assets serves Swagger UI (swagger-ui-bundle.js, swagger-ui.css, favicons), the page's own script
// and style, and the licences (licenses/…), at paths relative to where it is mounted.
func Assets() http.Handler { return assets() }

// assets is built once: statigz hashes every file for its ETags when it is made.
var assets = sync.OnceValue(func() http.Handler {
	own, err := fs.Sub(ui, "ui")
	if err != nil {
		panic(err) // the embedded folder exists: a build without it does not compile
	}
	ownFiles := http.FileServerFS(own)
	// statigz serves the gzip files as they are to browsers that take gzip, decompressed to others.
	swagger := statigz.FileServer(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" || strings.HasSuffix(name, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if _, err := fs.Stat(own, name); err == nil {
			ownFiles.ServeHTTP(w, r)
			return
		}
		swagger.ServeHTTP(w, r)
	})
})

// Link is an entry of a page's navigation.
type Link struct {
	Title, URL string
	// Current marks the page the link is on.
	Current bool
}

// Page is one reference page: Swagger UI on one document.
type Page struct {
	Title string
	// Assets is the path Assets is mounted at ("/docs/_assets").
	Assets string
	// SpecURL is where the browser fetches the document (same origin).
	SpecURL string
	// Intro says in a sentence or two what the document describes and how to call it.
	Intro string
	// DemoKey, when set, is shown on the page and filled in as the bearer key ("bearerAuth"), so
	// "Try it out" works at once; set it only where that key is public (sandbox mode).
	DemoKey string
	Nav     []Link
}

// ServeHTTP renders the page with its security headers.
func (p Page) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_ = page.Execute(w, p)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="icon" type="image/png" href="{{.Assets}}/favicon-32x32.png">
<link rel="stylesheet" href="{{.Assets}}/swagger-ui.css">
<link rel="stylesheet" href="{{.Assets}}/paylinks-docs.css">
</head><body>
<header class="pl-bar">
<nav>{{range .Nav}}<a href="{{.URL}}"{{if .Current}} aria-current="page"{{end}}>{{.Title}}</a>{{end}}</nav>
<p>{{.Intro}} Machine-readable: <a href="{{.SpecURL}}">{{.SpecURL}}</a>.</p>
{{if .DemoKey}}<p id="sandbox-hint">Sandbox mode: every provider runs on its embedded sandbox, no real money moves.
Authenticate with the demo key <code>{{.DemoKey}}</code> (already filled in under Authorize).</p>{{end}}
<p class="pl-licenses"><a href="{{.Assets}}/licenses/README.md">Swagger UI licences</a></p>
</header>
<div id="swagger-ui" data-spec-url="{{.SpecURL}}" data-demo-key="{{.DemoKey}}"></div>
<script src="{{.Assets}}/swagger-ui-bundle.js"></script>
<script src="{{.Assets}}/paylinks-docs.js"></script>
</body></html>
`))
