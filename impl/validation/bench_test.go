package validation

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// listPage is a 15-link MijnKlantportaal page, the passthrough's heaviest common answer.
func listPage() []byte {
	var b bytes.Buffer
	b.WriteString(`{"current_page":1,"data":[`)
	for i := range 15 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"plk_%014d","description":"Contribution costs","currency":"EUR","amount":"12.95","reusable":false,"expiresAt":"2030-05-14T21:00:00+02:00","status":"open","checkoutUrl":"https://demo.mijnklantportaal.nl/payment-link/plk_%014d","createdAt":"2024-04-29T21:00:00+02:00"}`, i, i)
	}
	b.WriteString(`],"first_page_url":"https://api.mijnklantportaal.nl/v1/payment-links?page=1","from":1,"next_page_url":null,"path":"https://api.mijnklantportaal.nl/v1/payment-links","per_page":15,"prev_page_url":null,"to":15}`)
	return b.Bytes()
}

func BenchmarkFind(b *testing.B) {
	s := specs(b)["mijnklantportaal"]
	r := httptest.NewRequest("DELETE", "/payment-links/plk_00000000000001", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Find(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateResponse(b *testing.B) {
	s := specs(b)["mijnklantportaal"]
	op, err := s.Find(httptest.NewRequest("GET", "/payment-links", nil))
	if err != nil {
		b.Fatal(err)
	}
	body := listPage()
	h := http.Header{"Content-Type": {"application/json"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ValidateResponse(context.Background(), op, 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponseBody is the answer body check alone: the fast path next to kin-openapi.
func BenchmarkResponseBody(b *testing.B) {
	s := specs(b)["mijnklantportaal"]
	body := listPage()
	op, err := s.Find(httptest.NewRequest("GET", "/payment-links", nil))
	if err != nil {
		b.Fatal(err)
	}
	schema := op.route.Operation.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	k := s.fast[schema]
	if k == nil || !k.accepts(body) || !kinAccepts(schema, body) {
		b.Fatal("the page is not valid on both paths")
	}
	b.Run("fast-path", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			k.accepts(body)
		}
	})
	b.Run("kin-openapi", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			kinAccepts(schema, body)
		}
	})
}
