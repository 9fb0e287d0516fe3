package sandboxtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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
	doc, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	s, err := validation.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &validation.Transport{Spec: s, Prefix: u.Path}}
}
