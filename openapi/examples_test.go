package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
	hub2adapter "github.com/paylinks/paylinks/impl/providers/hub2"
	mkpadapter "github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	teladapter "github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/validation"
)

// call makes the adapter call that gets an operation's answer; linkID is the link it is about.
type call func(ctx context.Context, p paylink.Provider, linkID string) error

func amount(currency, value string) *paylink.Amount {
	a, err := paylink.ParseAmount(currency, value)
	if err != nil {
		panic(err)
	}
	return &a
}

// providerExamples is, per curated provider spec, how to make its adapter and which adapter call
// reads the answer of each operation (an operation paylinks does not call is checked by the
// validation only).
var providerExamples = []struct {
	name      string
	spec      func() (*openapi3.T, error)
	linkID    string
	newClient func(baseURL string, hc *http.Client) (paylink.Provider, error)
	calls     map[string]call
}{
	{
		name: "mijnklantportaal", spec: mijnklantportaal.GetSpec, linkID: "plk_abc12345def678",
		newClient: func(base string, hc *http.Client) (paylink.Provider, error) {
			return mkpadapter.New(mkpadapter.Config{BaseURL: base, Token: "token", HTTPClient: hc})
		},
		calls: map[string]call{
			"CreatePaymentLink": func(ctx context.Context, p paylink.Provider, _ string) error {
				_, err := p.Create(ctx, paylink.CreateInput{Amount: amount("EUR", "12.95"), Description: "Contribution costs"})
				return err
			},
		},
	},
	{
		name: "hub2", spec: hub2.GetSpec, linkID: "pl_z1urYtVFgEebtcj8fxp4v",
		newClient: func(base string, hc *http.Client) (paylink.Provider, error) {
			return hub2adapter.New(hub2adapter.Config{BaseURL: base, APIKey: "k", MerchantID: "16", Environment: "live", HTTPClient: hc})
		},
		calls: map[string]call{
			"CreatePaymentLink": func(ctx context.Context, p paylink.Provider, _ string) error {
				_, err := p.Create(ctx, paylink.CreateInput{Amount: amount("XOF", "1000"), Reference: "ORDER-12345"})
				return err
			},
		},
	},
	{
		name: "telness", spec: telness.GetSpec, linkID: "j47ac10b-58cc-4372-a567-0e02b2c3d479",
		newClient: func(base string, hc *http.Client) (paylink.Provider, error) {
			return teladapter.New(teladapter.Config{BaseURL: base, APIKey: "k", HTTPClient: hc})
		},
		calls: map[string]call{
			"CreatePaymentLink": func(ctx context.Context, p paylink.Provider, _ string) error {
				_, err := p.Create(ctx, paylink.CreateInput{Options: teladapter.Options{OrderID: "o1"}})
				return err
			},
			"CancelPaymentLink": closeCall,
		},
	},
}

// The calls every provider shares, by operationId.
var (
	closeCall call = func(ctx context.Context, p paylink.Provider, linkID string) error {
		_, err := p.Close(ctx, linkID, paylink.CloseInput{})
		return err
	}
	sharedCalls = map[string]call{
		"GetPaymentLink": func(ctx context.Context, p paylink.Provider, linkID string) error {
			_, err := p.Get(ctx, linkID)
			return err
		},
		"ListPaymentLinks": func(ctx context.Context, p paylink.Provider, _ string) error {
			_, err := p.List(ctx, paylink.PageQuery{})
			return err
		},
		"ClosePaymentLink": closeCall,
	}
)

// example is one documented answer of an operation.
type example struct {
	operation, method, path, name string
	status                        int
	body                          []byte
}

// documentedExamples lists every example of every response of the spec. A `default` response is
// taken as a 500.
func documentedExamples(t *testing.T, doc *openapi3.T) []example {
	t.Helper()
	var out []example
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, r := range op.Responses.Map() {
				status := http.StatusInternalServerError
				if code != "default" {
					var err error
					if status, err = strconv.Atoi(code); err != nil {
						t.Fatalf("%s %s: response %q", method, path, code)
					}
				}
				for _, mt := range r.Value.Content {
					add := func(name string, v any) {
						b, err := json.Marshal(v)
						if err != nil {
							t.Fatalf("%s %d %s: %v", op.OperationID, status, name, err)
						}
						out = append(out, example{op.OperationID, method, path, name, status, b})
					}
					if mt.Example != nil {
						add("example", mt.Example)
					}
					for name, ex := range mt.Examples {
						add(name, ex.Value.Value)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b example) int {
		return strings.Compare(fmt.Sprint(a.operation, a.status, a.name), fmt.Sprint(b.operation, b.status, b.name))
	})
	return out
}

// TestDocumentedExamplesAreAccepted holds paylinks to what each provider documents: every example
// answer of each curated provider spec (the Hub2 older build's included) passes the answer
// validation of impl/validation, as the passthrough and the adapters' transport run it, and the
// adapter reads it as what it is: a 2xx as a link or page, an error status as that provider
// error, never as a contract violation.
func TestDocumentedExamplesAreAccepted(t *testing.T) {
	t.Parallel()
	for _, pe := range providerExamples {
		t.Run(pe.name, func(t *testing.T) {
			t.Parallel()
			doc, err := pe.spec()
			if err != nil {
				t.Fatal(err)
			}
			spec, err := validation.New(doc)
			if err != nil {
				t.Fatal(err)
			}
			examples := documentedExamples(t, doc)
			if len(examples) == 0 {
				t.Fatal("no examples")
			}
			ran := map[string]bool{}
			for _, ex := range examples {
				name := fmt.Sprintf("%s %d %s", ex.operation, ex.status, ex.name)
				ran[ex.operation+" "+ex.name] = true
				header := http.Header{"Content-Type": {"application/json"}}

				// The validation, as the passthrough runs it.
				req, err := http.NewRequest(ex.method, withLinkID(ex.path, pe.linkID), nil)
				if err != nil {
					t.Fatal(err)
				}
				op, err := spec.Find(req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := spec.ValidateResponse(context.Background(), op, ex.status, header, ex.body); err != nil {
					t.Errorf("%s: the validation refuses the documented answer: %v\n%s", name, err, ex.body)
				}

				// The adapter, through the validating transport in enforce mode.
				c := pe.calls[ex.operation]
				if c == nil {
					c = sharedCalls[ex.operation]
				}
				if c == nil {
					continue // not an operation paylinks calls (e.g. the payments of a MijnKlantportaal link)
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(ex.status)
					_, _ = w.Write(ex.body)
				}))
				p, err := pe.newClient(srv.URL, &http.Client{Transport: &validation.Transport{Spec: spec}})
				if err != nil {
					t.Fatal(err)
				}
				err = c(context.Background(), p, pe.linkID)
				srv.Close()
				var perr *paylink.ProviderError
				switch {
				case errors.Is(err, paylink.ErrContractViolation):
					t.Errorf("%s: the adapter takes the documented answer for a contract violation: %v\n%s", name, err, ex.body)
				case ex.status < 300 && err != nil:
					t.Errorf("%s: the adapter fails on the documented answer: %v\n%s", name, err, ex.body)
				case ex.status >= 300 && (!errors.As(err, &perr) || perr.Status != ex.status || perr.Provider != pe.name):
					t.Errorf("%s: the adapter reads the documented error answer as %v, want a %s error with status %d", name, err, pe.name, ex.status)
				}
			}
			if pe.name == "hub2" {
				// The older build's shape (no currentSuccessCount, older attempt fields) stays covered.
				for _, op := range []string{"ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink"} {
					if !ran[op+" olderBuild"] {
						t.Errorf("%s has no olderBuild example", op)
					}
				}
			}
		})
	}
}

// withLinkID fills the path's parameter (each path has at most one: the link's id).
func withLinkID(path, id string) string {
	before, rest, ok := strings.Cut(path, "{")
	if !ok {
		return path
	}
	_, after, _ := strings.Cut(rest, "}")
	return before + id + after
}
