package openapi_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/gen/mijnklantportaal"
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
	{"mijnklantportaal.yaml", mijnklantportaal.GetSwagger, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink", "ListPaymentLinkPayments"}},
	{"hub2.yaml", hub2.GetSwagger, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink"}},
	{"telness.yaml", telness.GetSwagger, []string{"CreatePaymentLink", "GetPaymentLink", "CancelPaymentLink"}},
	{"paylinks.yaml", paylinks.GetSwagger, []string{"CreatePaymentLink", "ListPaymentLinks", "GetPaymentLink", "ClosePaymentLink", "ListProviders",
		"ListEvents", "StreamEvents", "GetEvent", "ListEventDeliveries", "RedeliverEvent",
		"CreateWebhookEndpoint", "ListWebhookEndpoints", "GetWebhookEndpoint", "UpdateWebhookEndpoint", "DeleteWebhookEndpoint",
		"RotateWebhookEndpointSecret", "TestWebhookEndpoint", "RecoverWebhookEndpoint", "ListEndpointDeliveries"}},
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
func TestProviderOperationsHaveDescriptions(t *testing.T) {
	for _, s := range specs {
		if s.file == "paylinks.yaml" {
			continue
		}
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
	heading := regexp.MustCompile(`^### (MKP|HUB2|TEL)-(\d+) `)
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
	for _, p := range []string{"MKP", "HUB2", "TEL"} {
		if next[p] == 0 {
			t.Errorf("no %s entries", p)
		}
	}
}
