package sandboxtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// SimHarness is what the simulator suite needs to know of one provider's simulator: how to make
// one, and the provider's own requests to create and read a link (the suite sends them, through a
// client holding every answer to the provider's spec).
type SimHarness struct {
	// New makes a simulator.
	New func(cfg sandbox.Config) sandbox.Simulator
	// Spec is the provider's curated spec (its gen package's GetSpec).
	Spec func() (*openapi3.T, error)
	// Authorize puts credential on a request as the provider takes it; an empty one, nowhere.
	Authorize func(r *http.Request, credential string)
	// Form, when set, puts the suite's credentials in the form the provider's take (Mollie's API
	// keys start with test_ or live_); the simulator is configured with them in that form too.
	Form func(credential string) string
	// Create is the POST that creates a single-use link expiring at expiresAt (zero: the
	// provider's default): its path below the base URL, and its JSON body.
	Create func(expiresAt time.Time) (path string, body any)
	// LinkID reads the link's id from the create's answer.
	LinkID func(created []byte) string
	// LinkPath is the path below the base URL at which a GET reads the link.
	LinkPath func(id string) string
}

// create creates a link through the provider API at baseURL: its id, or "" and the status of the
// refusal.
func (h SimHarness) create(t *testing.T, baseURL, credential string, expiresAt time.Time) (string, int) {
	path, body := h.Create(expiresAt)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	status, answer := h.do(t, http.MethodPost, baseURL, path, credential, b)
	if status != http.StatusCreated && status != http.StatusOK {
		return "", status
	}
	return h.LinkID(answer), status
}

// get reads a link through the provider API: the status and body of the answer.
func (h SimHarness) get(t *testing.T, baseURL, credential, id string) (int, []byte) {
	return h.do(t, http.MethodGet, baseURL, h.LinkPath(id), credential, nil)
}

// form is the credential in the provider's form.
func (h SimHarness) form(credential string) string {
	if h.Form == nil || credential == "" {
		return credential
	}
	return h.Form(credential)
}

func (h SimHarness) do(t *testing.T, method, baseURL, path, credential string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	h.Authorize(req, h.form(credential))
	res, err := Client(t, baseURL, h.Spec).Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err) // not Fatal: called from goroutines too
		return 0, nil
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, answer
}

// start is when the suite's clocks begin.
var start = time.Date(2024, 6, 3, 9, 30, 0, 0, time.UTC)

const credential = "sandboxtest-credential"

// RunSimulatorConformance runs the checks every simulator passes: determinism under a seed,
// pay and fail, expiry by the clock, unknown links, credentials, concurrent use, and the same API
// served standalone and mounted with the control API and checkout page.
func RunSimulatorConformance(t *testing.T, h SimHarness) {
	for _, s := range []struct {
		name string
		run  func(*testing.T, SimHarness)
	}{
		{"PayAndFail", payAndFail},
		{"Expiry", expiry},
		{"UnknownLink", unknownLink},
		{"Deterministic", deterministic},
		{"Credentials", credentials},
		{"StandaloneAndMounted", standaloneAndMounted},
		{"Concurrency", concurrency},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, h)
		})
	}
}

// sim is a simulator served standalone, on a clock of its own.
type sim struct {
	sandbox.Simulator
	url string
}

func serve(t *testing.T, h SimHarness, cfg sandbox.Config) sim {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = sandbox.NewClock(start)
	}
	s := h.New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return sim{Simulator: s, url: srv.URL}
}

func (s sim) create(t *testing.T, h SimHarness, expiresAt time.Time) string {
	t.Helper()
	id, status := h.create(t, s.url, credential, expiresAt)
	if id == "" {
		t.Fatalf("creating a link: %d", status)
	}
	return id
}

func (s sim) checkout(t *testing.T, id string) sandbox.Checkout {
	t.Helper()
	c, err := s.Checkout(id)
	if err != nil {
		t.Fatalf("Checkout(%s): %v", id, err)
	}
	if c.Provider != s.Name() || c.LinkID != id || c.Status == "" {
		t.Errorf("Checkout(%s) = %+v", id, c)
	}
	return c
}

func payAndFail(t *testing.T, h SimHarness) {
	s := serve(t, h, sandbox.Config{})
	id := s.create(t, h, time.Time{})
	before := s.checkout(t, id)
	if !before.Payable {
		t.Fatalf("a new link is not payable: %+v", before)
	}
	_, body := h.get(t, s.url, credential, id)
	if err := s.Fail(id); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if c := s.checkout(t, id); !c.Payable || c.Status != before.Status {
		t.Errorf("after a failed attempt: %+v, want it payable in status %q", c, before.Status)
	}
	if err := s.Pay(id); err != nil {
		t.Fatalf("Pay: %v", err)
	}
	after := s.checkout(t, id)
	if after.Payable || after.Status == before.Status {
		t.Errorf("after a payment: %+v, want a status other than %q, not payable", after, before.Status)
	}
	if status, paid := h.get(t, s.url, credential, id); status != http.StatusOK || string(paid) == string(body) {
		t.Errorf("the API shows nothing of the payment: %d %s", status, paid)
	}
	if err := s.Pay(id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("paying a paid link: %v, want ErrNotPayable", err)
	}
	if err := s.Fail(id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("a failed attempt on a paid link: %v, want ErrNotPayable", err)
	}
}

func expiry(t *testing.T, h SimHarness) {
	s := serve(t, h, sandbox.Config{})
	id := s.create(t, h, start.Add(time.Hour))
	lasting := s.create(t, h, start.Add(30*24*time.Hour))
	if !s.checkout(t, id).Payable {
		t.Fatal("a link is not payable before its expiry")
	}
	if err := s.Clock().Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if !s.Clock().Now().Equal(start.Add(48 * time.Hour)) {
		t.Errorf("the clock reads %v after Advance", s.Clock().Now())
	}
	if c := s.checkout(t, id); c.Payable {
		t.Errorf("past its expiry: %+v, still payable", c)
	}
	if !s.checkout(t, lasting).Payable {
		t.Error("a link expiring in 30 days expired after 2")
	}
	if err := s.Pay(id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("paying an expired link: %v, want ErrNotPayable", err)
	}
	if err := s.Clock().Advance(-time.Second); err == nil {
		t.Error("the clock moved back")
	}
}

func unknownLink(t *testing.T, h SimHarness) {
	s := serve(t, h, sandbox.Config{})
	s.create(t, h, time.Time{})
	const unknown = "no-such-link-0"
	if err := s.Pay(unknown); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("Pay: %v, want ErrNoLink", err)
	}
	if err := s.Fail(unknown); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("Fail: %v, want ErrNoLink", err)
	}
	if _, err := s.Checkout(unknown); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("Checkout: %v, want ErrNoLink", err)
	}
	if status, body := h.get(t, s.url, credential, unknown); status != http.StatusNotFound || !json.Valid(body) {
		t.Errorf("the API on an unknown link: %d %s, want a 404 in the provider's JSON", status, body)
	}
}

func deterministic(t *testing.T, h SimHarness) {
	run := func(seed uint64) string {
		s := serve(t, h, sandbox.Config{Seed: seed})
		var out []string
		for i := range 3 {
			id := s.create(t, h, start.Add(time.Duration(i+1)*time.Hour))
			if i == 1 {
				if err := s.Pay(id); err != nil {
					t.Fatal(err)
				}
			}
			_, body := h.get(t, s.url, credential, id)
			// The server's address differs per run (links to itself carry it); ids and times must not.
			out = append(out, id, strings.ReplaceAll(string(body), s.url, "SERVER"))
		}
		return strings.Join(out, "\n")
	}
	a, b, other := run(42), run(42), run(43)
	if a != b {
		t.Errorf("the same seed and clock gave different answers:\n%s\n---\n%s", a, b)
	}
	if a == other {
		t.Error("another seed gave the same ids")
	}
}

func credentials(t *testing.T, h SimHarness) {
	s := serve(t, h, sandbox.Config{Credentials: []string{h.form(credential)}})
	for _, wrong := range []string{"", "wrong-" + credential} {
		if id, status := h.create(t, s.url, wrong, time.Time{}); id != "" || status != http.StatusUnauthorized {
			t.Errorf("create with credential %q: %q %d, want 401", wrong, id, status)
		}
	}
	id := s.create(t, h, time.Time{})
	if status, _ := h.get(t, s.url, "wrong-"+credential, id); status != http.StatusUnauthorized {
		t.Errorf("get with a refused credential: %d, want 401", status)
	}
	open := serve(t, h, sandbox.Config{})
	if id, status := h.create(t, open.url, "any-credential", time.Time{}); id == "" {
		t.Errorf("without configured credentials, any is accepted: %d", status)
	}
}

func standaloneAndMounted(t *testing.T, h SimHarness) {
	s := h.New(sandbox.Config{Clock: sandbox.NewClock(start), CheckoutBase: "https://paylinks.test/sandbox/checkout"})
	if s.Name() == "" || s.Clock() == nil || !s.Clock().Now().Equal(start) {
		t.Fatalf("name %q, clock %v", s.Name(), s.Clock())
	}
	standalone := httptest.NewServer(s.Handler())
	t.Cleanup(standalone.Close)
	mounted := httptest.NewServer(sandbox.Handler("/sandbox", s))
	t.Cleanup(mounted.Close)
	base := mounted.URL + "/sandbox/" + s.Name()

	first, _ := h.create(t, standalone.URL, credential, time.Time{})
	second, _ := h.create(t, base, credential, time.Time{})
	if first == "" || second == "" {
		t.Fatalf("created %q standalone and %q mounted", first, second)
	}
	for _, id := range []string{first, second} {
		for _, url := range []string{standalone.URL, base} {
			if status, body := h.get(t, url, credential, id); status != http.StatusOK || !strings.Contains(string(body), "https://paylinks.test/sandbox/checkout/"+s.Name()+"/") {
				t.Errorf("GET %s at %s: %d %s, want the link with its checkout URL", id, url, status, body)
			}
		}
	}

	post := func(path string) (int, []byte) {
		t.Helper()
		res, err := http.Post(base+"/_control"+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if status, body := post("/links/" + second + "/fail"); status != http.StatusOK || !strings.Contains(string(body), `"Payable":true`) {
		t.Errorf("control fail: %d %s", status, body)
	}
	if status, body := post("/links/" + second + "/pay"); status != http.StatusOK || !strings.Contains(string(body), `"Payable":false`) {
		t.Errorf("control pay: %d %s", status, body)
	}
	if status, _ := post("/links/" + second + "/pay"); status != http.StatusConflict {
		t.Errorf("control pay again: %d, want 409", status)
	}
	if status, _ := post("/links/no-such-link/pay"); status != http.StatusNotFound {
		t.Errorf("control pay of an unknown link: %d, want 404", status)
	}
	res, err := http.Get(mounted.URL + "/sandbox/checkout/" + s.Name() + "/" + first)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="pay"`) {
		t.Errorf("checkout page of a payable link: %d %s", res.StatusCode, page)
	}
	if status, body := post("/clock/advance?by=90m"); status != http.StatusOK || !strings.Contains(string(body), start.Add(90*time.Minute).Format(time.RFC3339)) {
		t.Errorf("control clock: %d %s", status, body)
	}
}

func concurrency(t *testing.T, h SimHarness) {
	s := serve(t, h, sandbox.Config{Seed: 1})
	const n = 24
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, status := h.create(t, s.url, credential, time.Time{})
			if id == "" {
				t.Errorf("create %d: %d", i, status)
				return
			}
			ids[i] = id
			if err := s.Pay(id); err != nil {
				t.Errorf("pay %s: %v", id, err)
			}
			h.get(t, s.url, credential, id)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Errorf("missing or repeated id %q among %v", id, ids)
		}
		seen[id] = true
	}
}
