package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/openapi"
)

// TestProviderSpecs: each provider's curated spec is served without a key at
// /providers/<p>/openapi.yaml, as its passthrough speaks it (this server, a paylinks key), with
// the curated operations; the passthrough beside it still wants a key.
func TestProviderSpecs(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{PublicURL: "https://pay.example/base"})
	for _, kit := range kits.All {
		t.Run(kit.Name, func(t *testing.T) {
			t.Parallel()
			status, h, body := ts.raw(t, "GET", "/providers/"+kit.Name+"/openapi.yaml", "", "", nil)
			if status != 200 || h.Get("Content-Type") != "application/yaml" {
				t.Fatalf("%d %s %.200s", status, h.Get("Content-Type"), body)
			}
			doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if want := "https://pay.example/base/providers/" + kit.Name; len(doc.Servers) != 1 || doc.Servers[0].URL != want {
				t.Errorf("servers %+v, want %s", doc.Servers, want)
			}
			if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil || len(doc.Components.SecuritySchemes) != 1 {
				t.Errorf("security %+v, schemes %v: want the paylinks key only", doc.Security, doc.Components.SecuritySchemes)
			}
			curated, err := kit.Spec()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := operations(t, doc), operations(t, curated); len(got) != len(want) {
				t.Errorf("operations %v, want %v", got, want)
			}
			// The same path with another method, and the passthrough, are the passthrough's.
			if status, _, _ := ts.raw(t, "POST", "/providers/"+kit.Name+"/openapi.yaml", "", "{}", nil); status != 401 {
				t.Errorf("POST /providers/%s/openapi.yaml without a key: %d, want 401", kit.Name, status)
			}
			if status, _, _ := ts.raw(t, "GET", "/providers/"+kit.Name+"/payment-links", "", "", nil); status != 401 {
				t.Errorf("the passthrough without a key: %d, want 401", status)
			}
			page := ts.get(t, "/docs/"+kit.Name)
			if !strings.Contains(page, `data-spec-url="/providers/`+kit.Name+`/openapi.yaml"`) || !strings.Contains(page, `aria-current="page">`+kit.Name) {
				t.Errorf("/docs/%s:\n%s", kit.Name, page)
			}
		})
	}
	for _, path := range []string{"/providers/nope/openapi.yaml", "/docs/nope", "/docs/_assets/", "/docs/_assets/nothing.js"} {
		if status, _, body := ts.raw(t, "GET", path, "", "", nil); status != 404 {
			t.Errorf("GET %s: %d %.200s, want 404", path, status, body)
		}
	}
	status, _, body := ts.raw(t, "GET", "/openapi.yaml", "", "", nil)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	if status != 200 || err != nil || len(doc.Servers) != 1 || doc.Servers[0].URL != "https://pay.example/base" {
		t.Errorf("/openapi.yaml: %d %v servers %+v", status, err, doc.Servers)
	}
	if !strings.Contains(body, "operationId: CreatePaymentLink") || len(body) < len(openapi.Paylinks)*9/10 {
		t.Error("/openapi.yaml is not the unified spec as written")
	}
}

// TestDocsPages: the reference pages carry their policy, point at the embedded assets, and show
// the demo key only in sandbox mode.
func TestDocsPages(t *testing.T) {
	t.Parallel()
	sandboxed, err := New(Config{Logger: NewLogger(io.Discard, 0)})
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := New(Config{Logger: NewLogger(io.Discard, 0), APIKeys: []string{"a-real-key"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		srv      *Server
		path     string
		demoHint bool
	}{
		{sandboxed, "/docs", true},
		{sandboxed, "/docs/hub2", true},
		{keyed, "/docs", false},
		{keyed, "/docs/telness", false},
	} {
		w := httptest.NewRecorder()
		tt.srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d %v", tt.path, w.Code, w.Header())
		}
		if strings.Contains(body, DemoAPIKey) != tt.demoHint || strings.Contains(body, "sandbox-hint") != tt.demoHint {
			t.Errorf("%s: demo key shown %v, want %v", tt.path, strings.Contains(body, DemoAPIKey), tt.demoHint)
		}
		for _, asset := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "paylinks-docs.js"} {
			if !strings.Contains(body, docsAssets+"/"+asset) {
				t.Errorf("%s does not load %s", tt.path, asset)
			}
			w := httptest.NewRecorder()
			tt.srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", docsAssets+"/"+asset, nil))
			if w.Code != 200 || w.Body.Len() == 0 {
				t.Errorf("%s: %d", asset, w.Code)
			}
		}
	}
}

// TestSpecRouteShadowingIsRefused: a provider documenting a path the spec route would take
// (here any single segment) cannot be wired: its operation would be unreachable.
func TestSpecRouteShadowingIsRefused(t *testing.T) {
	t.Parallel()
	kit := kits.All[0]
	spec := kit.Spec
	kit.Spec = func() (*openapi3.T, error) {
		doc, err := spec()
		if err != nil {
			return nil, err
		}
		desc := "ok"
		op := &openapi3.Operation{OperationID: "GetAnything", Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc}}))}
		op.Parameters = openapi3.Parameters{{Value: openapi3.NewPathParameter("name").WithSchema(openapi3.NewStringSchema())}}
		doc.Paths.Set("/{name}", &openapi3.PathItem{Get: op})
		return doc, nil
	}
	_, err := New(Config{Logger: NewLogger(io.Discard, 0), Kits: []kits.Kit{kit}})
	if err == nil || !strings.Contains(err.Error(), "/openapi.yaml") {
		t.Fatalf("New: %v, want a refusal naming /openapi.yaml", err)
	}
	// And none of the built-in providers does.
	if _, err := New(Config{Logger: NewLogger(io.Discard, 0)}); err != nil {
		t.Fatal(err)
	}
}
