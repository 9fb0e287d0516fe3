package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/apidocs"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/validation"
	"github.com/paylinks/paylinks/openapi"
)

// docsAssets is where the reference pages' scripts, styles and licences are served. The
// underscore keeps it apart from /docs/<provider> (provider names have none).
const docsAssets = "/docs/_assets"

// docs registers the API reference: the unified spec at /openapi.yaml rendered at /docs, and each
// provider's curated spec, as its passthrough serves it, at /providers/<p>/openapi.yaml rendered at
// /docs/<p>. Specs and pages are public, like the unified spec always was: they hold no secret.
func (s *Server) docs(e *echo.Echo) error {
	unified, err := apidocs.View{ServerURL: s.cfg.PublicURL, ServerDescription: "this paylinks server"}.Apply(openapi.Paylinks)
	if err != nil {
		return fmt.Errorf("unified spec: %w", err)
	}
	demoKey := ""
	if s.SandboxMode {
		demoKey = DemoAPIKey
	}
	nav := []apidocs.Link{{Title: "Unified API", URL: "/docs"}}
	for _, kit := range s.cfg.Kits {
		if _, ok := s.providers[kit.Name]; ok {
			nav = append(nav, apidocs.Link{Title: kit.Name + " passthrough", URL: "/docs/" + kit.Name})
		}
	}
	page := func(i int, title, specURL, intro string) echo.HandlerFunc {
		p := apidocs.Page{Title: title, Assets: docsAssets, SpecURL: specURL, Intro: intro, DemoKey: demoKey, Nav: append([]apidocs.Link(nil), nav...)}
		p.Nav[i].Current = true
		return echo.WrapHandler(p)
	}

	e.GET("/openapi.yaml", yamlBlob(unified))
	e.GET("/docs", page(0, "paylinks API reference", "/openapi.yaml",
		"The unified API over every provider. Authenticate with Authorization: Bearer <API key>."))
	e.GET(docsAssets+"/*", echo.WrapHandler(http.StripPrefix(docsAssets, apidocs.Assets())))
	specs := map[string]echo.HandlerFunc{}
	pages := map[string]echo.HandlerFunc{}
	for i, l := range nav[1:] {
		name := l.URL[len("/docs/"):]
		p := s.providers[name]
		if err := specRouteFree(p.spec); err != nil {
			return fmt.Errorf("provider %s: %w", name, err)
		}
		raw, err := curatedSpec(p.kit)
		if err != nil {
			return fmt.Errorf("provider %s: %w", name, err)
		}
		served, err := apidocs.View{
			ServerURL:         s.cfg.PublicURL + "/providers/" + name,
			ServerDescription: "the validated passthrough of this paylinks server to " + name,
			Bearer:            "An API key of this paylinks deployment; paylinks adds " + name + "'s own credentials.",
		}.Apply(raw)
		if err != nil {
			return fmt.Errorf("provider %s spec: %w", name, err)
		}
		specs[name] = yamlBlob(served)
		pages[name] = page(i+1, name+" passthrough · paylinks API reference", "/providers/"+name+"/openapi.yaml",
			name+"'s own API through this server's validated passthrough, /providers/"+name+"/…: requests and answers are checked against the curated spec. "+
				"Authenticate with a paylinks API key; paylinks adds "+name+"'s credentials.")
	}
	// Registered on the router itself, outside the authenticated /providers group: a static segment
	// wins over the passthrough's wildcard, and specRouteFree made sure no provider path is hidden.
	e.GET("/providers/:provider/openapi.yaml", lookup(specs))
	e.GET("/docs/:provider", lookup(pages))
	return nil
}

func lookup(handlers map[string]echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h, ok := handlers[c.Param("provider")]
		if !ok {
			return echo.ErrNotFound
		}
		return h(c)
	}
}

func yamlBlob(b []byte) echo.HandlerFunc {
	return func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", b) }
}

// curatedSpec is the provider's spec as written in openapi/ (comments included), or, for a kit
// from elsewhere, its spec as loaded.
func curatedSpec(kit kits.Kit) ([]byte, error) {
	if b, err := openapi.Files.ReadFile(kit.Name + ".yaml"); err == nil {
		return b, nil
	}
	doc, err := kit.Spec()
	if err != nil {
		return nil, err
	}
	return doc.MarshalJSON() // JSON is YAML
}

// specRouteFree fails when the provider documents an operation at /openapi.yaml, which the spec
// route would hide from the passthrough.
func specRouteFree(spec *validation.Spec) error {
	_, err := spec.Find(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/openapi.yaml"}, Header: http.Header{}})
	var verr *validation.Error
	if errors.As(err, &verr) && verr.Kind == validation.NoRoute {
		return nil
	}
	return errors.New("its spec has an operation at /openapi.yaml, where paylinks serves the spec")
}
