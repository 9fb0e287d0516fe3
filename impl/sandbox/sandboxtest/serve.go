package sandboxtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// Server is a simulator served as `paylinks serve` mounts it, until the test ends.
type Server struct {
	// Root is the server's URL (http://127.0.0.1:port).
	Root string
	// URL is the base URL of the provider's API on it: Root + "/sandbox/<provider>".
	URL string
	// Client calls the server through a transport that fails every answer breaking the provider's
	// curated spec, as `paylinks serve` does in enforce mode.
	Client *http.Client
}

// Serve serves the simulator, with the control API and the checkout page, under /sandbox on a
// loopback port; spec is the provider's curated spec (its gen package's GetSpec).
func Serve(t testing.TB, sim sandbox.Simulator, spec func() (*openapi3.T, error)) *Server {
	t.Helper()
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sim))
	t.Cleanup(srv.Close)
	base := srv.URL + "/sandbox/" + sim.Name()
	return &Server{Root: srv.URL, URL: base, Client: Client(t, base, spec)}
}

// Client returns a client calling baseURL (a simulator served standalone, or mounted) through a
// transport that fails every answer breaking spec, the provider's curated spec (its gen package's
// GetSpec): simulator tests hold the simulator to it with this client.
func Client(t testing.TB, baseURL string, spec func() (*openapi3.T, error)) *http.Client {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: Transport(spec, u.Path)}
}

// compiled caches the compiled specs of Transport, by their GetSpec function.
var compiled sync.Map

// Transport is a round tripper that fails every answer breaking the provider's curated spec (its
// gen package's GetSpec), the paths of its operations below prefix; tests of adapters and
// simulators call through it. The spec is compiled once per test binary.
func Transport(spec func() (*openapi3.T, error), prefix string) http.RoundTripper {
	key := reflect.ValueOf(spec).Pointer()
	s, ok := compiled.Load(key)
	if !ok {
		doc, err := spec()
		if err != nil {
			panic(err)
		}
		v, err := validation.New(doc)
		if err != nil {
			panic(err)
		}
		s, _ = compiled.LoadOrStore(key, v)
	}
	return &validation.Transport{Spec: s.(*validation.Spec), Prefix: prefix}
}
