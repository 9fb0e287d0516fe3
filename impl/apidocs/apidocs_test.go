package apidocs

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/swaggest/swgui/v5/static"

	"github.com/paylinks/paylinks/openapi"
)

// TestPinnedSwaggerUI fails when the embedded Swagger UI changes (a new swgui version in go.mod):
// ui/licenses/README.md names the version and its licences must be refreshed with it.
func TestPinnedSwaggerUI(t *testing.T) {
	t.Parallel()
	// sha256 of the files of the npm package swagger-ui-dist@5.29.1.
	for name, want := range map[string]string{
		"swagger-ui-bundle.js": "a600ebf8f885c92373e2210b1fd7422b24a4ff9cad93d3d7d6481f40b7704564",
		"swagger-ui.css":       "bc5e8d5c013477cf1f35e2fb8ba1dff66be0f72f24e669a509635657145e1acb",
	} {
		f, err := static.FS.Open(name + ".gz")
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, z); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s is not Swagger UI 5.29.1 (sha256 %s): update ui/licenses and this test for the new version", name, got)
		}
	}
	readme, err := ui.ReadFile("ui/licenses/README.md")
	if err != nil || !strings.Contains(string(readme), "Swagger UI 5.29.1") || !strings.Contains(string(readme), "swgui v1.8.5") {
		t.Errorf("ui/licenses/README.md does not name the embedded versions: %v", err)
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := Assets()
	for _, tt := range []struct {
		path, gzip string
		status     int
		contains   string
	}{
		{"/swagger-ui-bundle.js", "", 200, "SwaggerUIBundle"},
		{"/swagger-ui-bundle.js", "gzip", 200, ""},
		{"/swagger-ui.css", "", 200, ".swagger-ui"},
		{"/paylinks-docs.js", "", 200, "SwaggerUIBundle({"},
		{"/paylinks-docs.css", "", 200, ".pl-bar"},
		{"/licenses/swagger-ui.LICENSE", "", 200, "Apache License"},
		{"/licenses/swagger-ui.NOTICE", "", 200, "SmartBear"},
		{"/licenses/swagger-ui-bundle.js.LICENSE.txt", "", 200, "@license"},
		{"/licenses/swgui.LICENSE", "", 200, "Apache License"},
		{"/licenses/README.md", "", 200, "Swagger UI 5.29.1"},
		{"/licenses/", "", 404, ""},
		{"/", "", 404, ""},
		{"/nothing.js", "", 404, ""},
	} {
		req := httptest.NewRequest("GET", tt.path, nil)
		if tt.gzip != "" {
			req.Header.Set("Accept-Encoding", tt.gzip)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s (%s): %d %.100q, want %d containing %q", tt.path, tt.gzip, w.Code, w.Body.String(), tt.status, tt.contains)
		}
		if tt.gzip != "" && w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("GET %s with gzip: Content-Encoding %q", tt.path, w.Header().Get("Content-Encoding"))
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tt.path)
		}
	}
}

// TestPageHasNoInlineCode: the page's policy forbids inline scripts and styles, so the page must
// carry none; what varies (spec URL, demo key) is escaped into attributes.
func TestPageHasNoInlineCode(t *testing.T) {
	t.Parallel()
	p := Page{Title: `<Title>`, Assets: "/docs/_assets", SpecURL: `/openapi.yaml?x="><script>`, Intro: "Intro <i>.", DemoKey: `k"><script>`,
		Nav: []Link{{Title: "A", URL: "/docs", Current: true}, {Title: "B", URL: "/docs/b"}}}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("GET", "/docs", nil))
	body := w.Body.String()
	if got := w.Header().Get("Content-Security-Policy"); got != CSP || !strings.Contains(CSP, "script-src 'self';") || !strings.Contains(CSP, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", got)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("no X-Frame-Options")
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
	if len(scripts) != 2 {
		t.Errorf("scripts %q, want Swagger UI's and ours", scripts)
	}
	for _, s := range scripts {
		if !strings.Contains(s, ` src="/docs/_assets/`) {
			t.Errorf("inline or foreign script %s", s)
		}
	}
	for _, bad := range []string{"<style", " style=", "<Title>", "<i>", `"><script>`} {
		if strings.Contains(body, bad) {
			t.Errorf("the page contains %q:\n%s", bad, body)
		}
	}
	for _, want := range []string{`id="sandbox-hint"`, `aria-current="page">A</a>`, `data-demo-key="k&#34;&gt;&lt;script&gt;"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
	w = httptest.NewRecorder()
	Page{Title: "t", Assets: "/a", SpecURL: "/s"}.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if strings.Contains(w.Body.String(), "sandbox-hint") || !strings.Contains(w.Body.String(), `data-demo-key=""`) {
		t.Errorf("a page without demo key mentions one:\n%s", w.Body.String())
	}
}

func TestViewApply(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file string
		view View
	}{
		{"paylinks.yaml", View{ServerURL: "https://pay.example", ServerDescription: "here"}},
		{"hub2.yaml", View{ServerURL: "https://pay.example/providers/hub2", ServerDescription: "passthrough", Bearer: "a paylinks key"}},
		{"telness.yaml", View{ServerURL: "https://pay.example/providers/telness", Bearer: "a paylinks key"}},
		{"mijnklantportaal.yaml", View{ServerURL: "https://pay.example/providers/mijnklantportaal", Bearer: "a paylinks key"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw, err := openapi.Files.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tt.view.Apply(raw)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := openapi3.NewLoader().LoadFromData(raw)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := openapi3.NewLoader().LoadFromData(out)
			if err != nil {
				t.Fatalf("the served document does not load: %v", err)
			}
			if err := doc.Validate(t.Context()); err != nil {
				t.Errorf("the served document is invalid: %v", err)
			}
			if len(doc.Servers) != 1 || doc.Servers[0].URL != tt.view.ServerURL || doc.Servers[0].Description != tt.view.ServerDescription {
				t.Errorf("servers %+v", doc.Servers)
			}
			// Paths, operations and schemas are the curated ones.
			if a, b := marshal(t, orig.Paths), marshal(t, doc.Paths); a != b {
				t.Error("paths changed")
			}
			if a, b := marshal(t, orig.Components.Schemas), marshal(t, doc.Components.Schemas); a != b {
				t.Error("schemas changed")
			}
			if tt.view.Bearer == "" {
				if a, b := marshal(t, orig.Security), marshal(t, doc.Security); a != b {
					t.Errorf("security changed without a Bearer: %s", b)
				}
				return
			}
			s := doc.Components.SecuritySchemes
			if len(s) != 1 || s["bearerAuth"] == nil || s["bearerAuth"].Value.Type != "http" || s["bearerAuth"].Value.Scheme != "bearer" || s["bearerAuth"].Value.Description != tt.view.Bearer {
				t.Errorf("security schemes %s", marshal(t, s))
			}
			if len(doc.Security) != 1 || len(doc.Security[0]) != 1 || doc.Security[0]["bearerAuth"] == nil {
				t.Errorf("security %s", marshal(t, doc.Security))
			}
			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					if op.Security != nil {
						t.Errorf("%s %s has security of its own, which the view does not replace", method, path)
					}
				}
			}
			// Comments (the curation notes) survive.
			if !strings.Contains(string(out), "\n#") && strings.Contains(string(raw), "\n#") {
				t.Error("comments were dropped")
			}
		})
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestViewApplyRefusesWhatIsNotAMapping(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"- a\n- b\n", "just text", "{a: [}"} {
		if _, err := (View{ServerURL: "x"}).Apply([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

var _ http.Handler = Page{}
