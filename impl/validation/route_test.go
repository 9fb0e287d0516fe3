package validation

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
	for _, id := range []string{"a%25b", "!", "(x)", "a*b", "a'b", "%2e", "a%2Fb"} {
		f.Add("/payment-links/" + id)
	}
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

// TestFastRoutesOnRandomSpecs: on specs of random templates (literals that share prefixes or hold
// reserved characters, parameters at any segment, methods sharing templates), Find answers the
// same with the fast route table as with kin-openapi's router alone, for random paths (empty,
// dot and escaped segments, trailing slashes) as a server reads them and as a client builds them.
func TestFastRoutesOnRandomSpecs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(18, 2026))
	literals := []string{"a", "b", "ab", "c:d", "x;y", "e.f", "a-b"}
	pathSegs := append(literals, "", ".", "..", "%2F", "%61", "%25", "!", "(x)", "a*", "p", "A")
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, "get"}
	answered := 0
	for range 400 {
		doc := &openapi3.T{OpenAPI: "3.0.3", Info: &openapi3.Info{Title: "random", Version: "1"}, Paths: openapi3.NewPaths()}
		for range 2 + rng.IntN(4) {
			var segs []string
			var params openapi3.Parameters
			for i := range 1 + rng.IntN(3) {
				if rng.IntN(3) == 0 {
					name := fmt.Sprintf("p%d", i)
					segs = append(segs, "{"+name+"}")
					params = append(params, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(name).WithSchema(openapi3.NewStringSchema())})
				} else {
					segs = append(segs, literals[rng.IntN(len(literals))])
				}
			}
			path := "/" + strings.Join(segs, "/")
			item := doc.Paths.Value(path)
			if item == nil {
				item = &openapi3.PathItem{}
				doc.Paths.Set(path, item)
			}
			op := openapi3.NewOperation()
			op.OperationID = fmt.Sprintf("op%d", doc.Paths.Len()*10+rng.IntN(10))
			op.Parameters = params
			op.Responses = openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("ok")}))
			item.SetOperation([]string{http.MethodGet, http.MethodPost, http.MethodHead}[rng.IntN(3)], op)
		}
		withTable, err := New(doc)
		if err != nil {
			continue // a spec kin-openapi refuses (e.g. two operations with one id)
		}
		if withTable.routes == nil {
			t.Fatalf("no route table for %v", doc.Paths.InMatchingOrder())
		}
		routerOnly, err := New(doc)
		if err != nil {
			t.Fatal(err)
		}
		routerOnly.routes = nil
		for range 60 {
			var segs []string
			for range 1 + rng.IntN(4) {
				segs = append(segs, pathSegs[rng.IntN(len(pathSegs))])
			}
			target := "/" + strings.Join(segs, "/")
			if rng.IntN(8) == 0 {
				target += "/"
			}
			parsed, err := url.ParseRequestURI(target)
			if err != nil {
				continue
			}
			for _, u := range []*url.URL{parsed, {Path: parsed.Path}} {
				for _, m := range methods {
					if _, _, ok := withTable.routes.find(m, u); ok {
						answered++
					}
					got, gotErr := withTable.Find(&http.Request{Method: m, URL: u, Header: http.Header{}})
					want, wantErr := routerOnly.Find(&http.Request{Method: m, URL: u, Header: http.Header{}})
					switch {
					case (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error():
						t.Fatalf("%v: %s %q (%#v): table %v, router %v", doc.Paths.InMatchingOrder(), m, target, u, gotErr, wantErr)
					case gotErr == nil && (got.route.Operation != want.route.Operation || !maps.Equal(got.params, want.params)):
						t.Fatalf("%v: %s %q: table %s %v, router %s %v", doc.Paths.InMatchingOrder(), m, target, got.route.Path, got.params, want.route.Path, want.params)
					}
				}
			}
		}
	}
	if answered < 1000 {
		t.Errorf("the table answered %d lookups: the random paths hardly reach it", answered)
	}
}
