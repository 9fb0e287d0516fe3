package validation

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/paylinks/paylinks/gen/mollie"
)

// routeSpecs are the curated specs, Mollie's included.
func routeSpecs(t testing.TB) map[string]*Spec {
	t.Helper()
	all := specs(t)
	doc, err := mollie.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	if all["mollie"], err = New(doc); err != nil {
		t.Fatal(err)
	}
	return all
}

var templateParam = regexp.MustCompile(`\{[^}]*\}`)

// Every operation of the curated specs is found by the fast route table for a plain path, as the
// router finds it: else the table would be worth nothing and every request would go to the router.
func TestFastRoutesFindEveryOperation(t *testing.T) {
	t.Parallel()
	for name, s := range routeSpecs(t) {
		if s.routes == nil {
			t.Errorf("%s: the fast route table does not model the spec's paths", name)
			continue
		}
		for path, item := range s.doc.Paths.Map() {
			for method, op := range item.Operations() {
				target := templateParam.ReplaceAllString(path, "x_1")
				u, _ := url.ParseRequestURI(target)
				route, params, ok := s.routes.find(method, u)
				if !ok || route.Operation != op {
					t.Errorf("%s: %s %s: fast table found %v (%v), want %s", name, method, target, route, ok, op.OperationID)
					continue
				}
				if len(params) != len(templateParam.FindAllString(path, -1)) {
					t.Errorf("%s: %s %s: params %v", name, method, target, params)
				}
				for k, v := range params {
					if v != "x_1" || k == "" {
						t.Errorf("%s: %s %s: param %q = %q", name, method, target, k, v)
					}
				}
			}
		}
	}
}

// FuzzFastRoutesAreTheRouters: where the fast route table answers, kin-openapi's router (which
// Find asks otherwise) answers the same operation with the same parameters, for every curated
// spec and method.
func FuzzFastRoutesAreTheRouters(f *testing.F) {
	all := routeSpecs(f)
	for _, s := range all {
		for path := range s.doc.Paths.Map() {
			for _, v := range []string{"x", "", ".", "..", "a:b", "a@b;c=d", "x/y", "%41", "a b", "payment-links", "{id}"} {
				target := templateParam.ReplaceAllString(path, v)
				f.Add(target)
				f.Add(target + "/")
				f.Add(target + "/x")
				f.Add("/" + target)
			}
		}
	}
	f.Add("/")
	f.Add("")
	f.Add("//payment-links")
	f.Add("/payment-links/%C3%A9")
	f.Add("/payment-links/a%3Fb")
	f.Fuzz(func(t *testing.T, target string) {
		parsed, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		// As a server reads it, and as a client builds it (a decoded path, no RawPath).
		for _, u := range []*url.URL{parsed, {Path: parsed.Path}} {
			routesAgree(t, all, target, u)
		}
	})
}

func routesAgree(t *testing.T, all map[string]*Spec, target string, u *url.URL) {
	for name, s := range all {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
			route, params, ok := s.routes.find(method, u)
			if !ok {
				continue
			}
			want, wantParams, err := s.router.FindRoute(&http.Request{Method: method, URL: u})
			switch {
			case err != nil:
				t.Fatalf("%s: %s %q: fast table found %s, the router %v", name, method, target, route.Path, err)
			case emptyParam(wantParams):
				t.Fatalf("%s: %s %q: fast table found %s %v, the router %s with an empty parameter %v", name, method, target, route.Path, params, want.Path, wantParams)
			case want.Operation != route.Operation || want.Path != route.Path || !maps.Equal(params, wantParams):
				t.Fatalf("%s: %s %q: fast table found %s %v, the router %s %v", name, method, target, route.Path, params, want.Path, wantParams)
			}
		}
	}
}

// The answers read once from the spec are those kin-openapi's Responses.Status and Default find,
// for every operation of the curated specs and every status.
func TestDocumentedAnswersAreKinOpenAPIs(t *testing.T) {
	t.Parallel()
	for name, s := range routeSpecs(t) {
		for path, item := range s.doc.Paths.Map() {
			for method, op := range item.Operations() {
				o := &Operation{spec: s, route: &routers.Route{PathItem: item, Operation: op}}
				for status := -1; status <= 1000; status++ {
					want := op.Responses.Status(status)
					if want == nil {
						want = op.Responses.Default()
					}
					if got := documentedAnswer(o, status); got != want {
						t.Fatalf("%s: %s %s, status %d: %p, kin-openapi finds %p", name, method, path, status, got, want)
					}
					if o.Documents(status) != (want != nil) {
						t.Fatalf("%s: %s %s, status %d: Documents %v", name, method, path, status, o.Documents(status))
					}
				}
			}
		}
	}
	// Keys Responses.Status never looks up are not taken for a status.
	a := compileAnswers(openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{}), openapi3.WithName("0201", &openapi3.Response{}), openapi3.WithName("2xx", &openapi3.Response{}), openapi3.WithName("4XX", &openapi3.Response{})))
	if a.status(201) != nil || a.status(202) != nil || a.status(200) == nil || a.status(404) == nil || a.status(4) != nil {
		t.Errorf("answers %+v", a)
	}
}
