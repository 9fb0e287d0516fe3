package openapi_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/openapi"
)

// The operations each curated spec must cover (DESIGN.md, issue 2).
var specs = []struct {
	file       string
	embedded   func() (*openapi3.T, error)
	operations []string
}{
	{"mijnklantportaal.yaml", mijnklantportaal.GetSpec, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink", "ListPaymentLinkPayments",
		"CreateWebhookRecord", "ListWebhookRecords", "GetWebhookRecord"}},
	{"hub2.yaml", hub2.GetSpec, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink", "CreateWebhook"}},
	{"telness.yaml", telness.GetSpec, []string{"CreatePaymentLink", "GetPaymentLink", "CancelPaymentLink"}},
	{"mollie.yaml", mollie.GetSpec, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "UpdatePaymentLink", "DeletePaymentLink", "ListPaymentLinkPayments"}},
	{"paylinks.yaml", paylinks.GetSpec, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink", "ListProviders",
		"ListEvents", "StreamEvents", "GetEvent", "ListEventDeliveries", "RedeliverEvent",
		"CreateWebhookEndpoint", "ListWebhookEndpoints", "GetWebhookEndpoint", "UpdateWebhookEndpoint", "DeleteWebhookEndpoint",
		"RotateWebhookEndpointSecret", "TestWebhookEndpoint", "RecoverWebhookEndpoint", "ListEndpointDeliveries",
		"ListProviderWebhooks", "RegisterProviderWebhooks"}},
}

func load(t *testing.T, file string) *openapi3.T {
	t.Helper()
	data, err := fs.ReadFile(openapi.Files, file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc
}

func TestEverySpecIsCovered(t *testing.T) {
	files, err := fs.Glob(openapi.Files, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range specs {
		known[s.file] = true
	}
	for _, f := range files {
		if !known[f] {
			t.Errorf("%s has no gen package and no entry in this test", f)
		}
	}
}

func TestSpecsValidate(t *testing.T) {
	for _, s := range specs {
		t.Run(s.file, func(t *testing.T) {
			t.Parallel()
			doc := load(t, s.file)
			if doc.OpenAPI != "3.0.3" {
				t.Errorf("openapi version %q, want 3.0.3", doc.OpenAPI)
			}
			if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
				t.Fatalf("invalid: %v", err)
			}
			var got []string
			for _, item := range doc.Paths.Map() {
				for _, op := range item.Operations() {
					got = append(got, op.OperationID)
				}
			}
			if len(got) != len(s.operations) {
				t.Errorf("%d operations %v, want %d %v", len(got), got, len(s.operations), s.operations)
			}
			for _, want := range s.operations {
				if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+want+" ") {
					t.Errorf("operation %s missing (have %v)", want, got)
				}
			}
		})
	}
}

func TestEmbeddedSpecsMatchFiles(t *testing.T) {
	for _, s := range specs {
		t.Run(s.file, func(t *testing.T) {
			t.Parallel()
			embedded, err := s.embedded()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(load(t, s.file))
			got, _ := json.Marshal(embedded)
			if string(got) != string(want) {
				t.Errorf("the spec embedded in gen differs from openapi/%s: run go generate ./...", s.file)
			}
		})
	}
}

// Every operation of a provider spec says what it does beyond its summary (linters flag the
// ones that do not). The unified spec is left to its own test.
func TestOperationsHaveDescriptions(t *testing.T) {
	for _, s := range specs {
		doc := load(t, s.file)
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if strings.TrimSpace(op.Summary) == "" || strings.TrimSpace(op.Description) == "" {
					t.Errorf("%s: %s %s (%s) lacks a summary or a description", s.file, method, path, op.OperationID)
				}
			}
		}
	}
}

// CURATION.md states the rule for response schemas at the top, and every entry says whether its
// facts are documented, inferred or unverified; entry ids run from 1 without gaps per provider.
func TestCurationLog(t *testing.T) {
	data, err := os.ReadFile("CURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	top, _, _ := strings.Cut(text, "\n## MijnKlantportaal")
	plain := strings.Join(strings.Fields(strings.ReplaceAll(top, "**", "")), " ")
	for _, want := range []string{"requires only what every published build", "every documented example carries, and what paylinks actually needs", "Everything else is optional"} {
		if !strings.Contains(plain, want) {
			t.Errorf("the top of CURATION.md does not state the rule (%q)", want)
		}
	}
	heading := regexp.MustCompile(`^### (MKP|HUB2|TEL|MOL)-(\d+) `)
	label := regexp.MustCompile(`\b(documented|inferred|unverified)\b`)
	lines := strings.Split(text, "\n")
	next := map[string]int{}
	for i, line := range lines {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id := m[1] + "-" + m[2]
		if n, _ := strconv.Atoi(m[2]); n != next[m[1]]+1 {
			t.Errorf("%s follows %s-%d", id, m[1], next[m[1]])
		} else {
			next[m[1]] = n
		}
		basis := ""
		if i+1 < len(lines) {
			basis = lines[i+1]
		}
		if !strings.HasPrefix(basis, "Basis: ") || !label.MatchString(basis) {
			t.Errorf("%s: no Basis line saying documented, inferred or unverified (got %q)", id, basis)
		}
	}
	for _, p := range []string{"MKP", "HUB2", "TEL", "MOL"} {
		if next[p] == 0 {
			t.Errorf("no %s entries", p)
		}
	}
}

// The facts of Mollie's published reference that the adapter and the sandbox rely on: a change to
// one of them in openapi/mollie.yaml must be a deliberate, logged curation (CURATION.md, MOL-n).
func TestMolliePublishedFacts(t *testing.T) {
	doc := load(t, "mollie.yaml")

	t.Run("bearer API key on every operation", func(t *testing.T) {
		if len(doc.Security) != 1 || len(doc.Security[0]) != 1 || doc.Security[0]["apiKey"] == nil {
			t.Fatalf("global security %v, want the one bearer scheme apiKey", doc.Security)
		}
		s := doc.Components.SecuritySchemes["apiKey"]
		if s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
			t.Fatalf("apiKey scheme %+v, want http bearer", s)
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.Security != nil {
					t.Errorf("%s %s overrides the global security", method, path)
				}
			}
		}
	})

	t.Run("paths, methods and documented statuses", func(t *testing.T) {
		want := map[string]map[string][]string{
			"/v2/payment-links": {
				"POST": {"201", "401", "404", "422", "429"},
				"GET":  {"200", "400", "401", "429"},
			},
			"/v2/payment-links/{paymentLinkId}": {
				"GET":    {"200", "400", "401", "404", "429"},
				"PATCH":  {"200", "401", "404", "422", "429"},
				"DELETE": {"204", "401", "404", "422", "429"},
			},
			"/v2/payment-links/{paymentLinkId}/payments": {
				"GET": {"200", "400", "401", "404", "429"},
			},
		}
		if got := len(doc.Paths.Map()); got != len(want) {
			t.Errorf("%d paths, want %d", got, len(want))
		}
		for path, methods := range want {
			item := doc.Paths.Value(path)
			if item == nil {
				t.Errorf("path %s missing", path)
				continue
			}
			if got := len(item.Operations()); got != len(methods) {
				t.Errorf("%s: %d operations, want %d", path, got, len(methods))
			}
			for method, statuses := range methods {
				op := item.GetOperation(method)
				if op == nil {
					t.Errorf("%s %s missing", method, path)
					continue
				}
				var got []string
				for code, r := range op.Responses.Map() {
					got = append(got, code)
					// Mollie answers, errors included, are HAL; a 204 has no body at all.
					if code == "204" {
						if len(r.Value.Content) != 0 {
							t.Errorf("%s %s 204 has a body", method, path)
						}
					} else if r.Value.Content.Get("application/hal+json") == nil || len(r.Value.Content) != 1 {
						t.Errorf("%s %s %s is not application/hal+json only", method, path, code)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, statuses) {
					t.Errorf("%s %s documents %v, want %v", method, path, got, statuses)
				}
			}
		}
	})

	t.Run("cursor pagination", func(t *testing.T) {
		for path, prefix := range map[string]string{"/v2/payment-links": "^pl_", "/v2/payment-links/{paymentLinkId}/payments": "^tr_"} {
			op := doc.Paths.Value(path).Get
			from, limit := op.Parameters.GetByInAndName("query", "from"), op.Parameters.GetByInAndName("query", "limit")
			if from == nil || !strings.HasPrefix(from.Schema.Value.Pattern, prefix) {
				t.Errorf("%s: from %+v, want an id pattern %s", path, from, prefix)
			}
			if limit == nil || limit.Schema.Value.Min == nil || *limit.Schema.Value.Min != 1 || limit.Schema.Value.Max == nil || *limit.Schema.Value.Max != 250 {
				t.Errorf("%s: limit must be 1..250", path)
			}
		}
		// The response rule (top of CURATION.md, MOL-24): of the published links only next, which the
		// adapter pages by, is required; the others are documented and optional.
		links := doc.Components.Schemas["ListLinks"].Value
		if !slices.Equal(links.Required, []string{"next"}) {
			t.Errorf("ListLinks requires %v, want [next]", links.Required)
		}
		for _, f := range []string{"self", "previous", "documentation"} {
			if links.Properties[f] == nil {
				t.Errorf("ListLinks.%s not documented", f)
			}
		}
		if !doc.Components.Schemas["UrlNullable"].Value.Nullable {
			t.Error("previous/next must be nullable (null on the first/last page)")
		}
		if !slices.Contains(doc.Components.Schemas["PaymentLinkListEmbedded"].Value.Required, "payment_links") {
			t.Error("_embedded.payment_links not required")
		}
	})

	t.Run("the link fields the status is derived from", func(t *testing.T) {
		// Required: what every published build and example carries and the adapter needs (MOL-24).
		link := doc.Components.Schemas["PaymentLink"].Value
		required := slices.Sorted(slices.Values(link.Required))
		if want := []string{"_links", "amount", "archived", "createdAt", "expiresAt", "id", "paidAt", "reusable"}; !slices.Equal(required, want) {
			t.Errorf("PaymentLink requires %v, want %v", required, want)
		}
		if got := doc.Components.Schemas["PaymentLinkLinks"].Value.Required; !slices.Equal(got, []string{"paymentLink"}) {
			t.Errorf("PaymentLink._links requires %v, want [paymentLink]", got)
		}
		for _, f := range []string{"paidAt", "expiresAt"} {
			p := link.Properties[f].Value
			if p.Format != "date-time" || !p.Nullable {
				t.Errorf("PaymentLink.%s is %s nullable=%v, want a nullable date-time", f, p.Format, p.Nullable)
			}
		}
		if !link.Properties["reusable"].Value.Nullable || !link.Properties["amount"].Value.Nullable {
			t.Error("reusable and amount are documented nullable")
		}
		if got := link.Properties["id"].Value.Pattern; got != "^pl_.+$" {
			t.Errorf("PaymentLink.id pattern %q", got)
		}
		amount := doc.Components.Schemas["Amount"].Value
		if amount.Properties["value"].Value.Type.Is("string") == false || !slices.Equal(amount.Required, []string{"currency", "value"}) {
			t.Error("amounts are {currency, value} with value a string")
		}
		e := doc.Components.Schemas["Error"].Value
		// An error is read by its status even without a body: nothing in it is required (MOL-24).
		if len(e.Required) != 0 {
			t.Errorf("Error requires %v", e.Required)
		}
		for _, f := range []string{"status", "title", "detail", "field", "_links"} {
			if e.Properties[f] == nil {
				t.Errorf("Error.%s not documented", f)
			}
		}
	})
}

// The README lists every problem code the unified spec declares, so users can switch on them.
func TestReadmeListsEveryProblemCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := load(t, "paylinks.yaml")
	for _, code := range doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		if !strings.Contains(string(readme), "`"+code.(string)+"`") {
			t.Errorf("README.md does not list the problem code %s", code)
		}
	}
}
