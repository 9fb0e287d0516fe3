package mollie

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

var now = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

func ptr2[T any](v T) *T { return &v }

// TestStatusOf lists every combination of the facts a status is derived from, so a change to the
// table in mapping.go shows here row by row.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	single, reusable, unknown := ptr2(false), ptr2(true), (*bool)(nil)
	const (
		A = paylink.StatusActive
		C = paylink.StatusCompleted
		E = paylink.StatusExpired
		X = paylink.StatusClosed
		U = paylink.StatusUnknown
	)
	tests := []struct {
		paid     bool
		reusable *bool
		archived bool
		expired  bool
		want     paylink.Status
	}{
		// A single-use link that took its payment is completed, whatever happened after.
		{true, single, false, false, C},
		{true, single, true, false, C},
		{true, single, false, true, C},
		{true, single, true, true, C},
		// The catch-all: paid, but Mollie does not say whether the link is reusable.
		{true, unknown, false, false, U},
		{true, unknown, true, false, U},
		{true, unknown, false, true, U},
		{true, unknown, true, true, U},
		// A reusable link keeps taking payments: paid changes nothing.
		{true, reusable, false, false, A},
		{true, reusable, true, false, X},
		{true, reusable, false, true, E},
		{true, reusable, true, true, X},
		// Unpaid links, of any reusability.
		{false, single, false, false, A},
		{false, single, true, false, X},
		{false, single, false, true, E},
		{false, single, true, true, X},
		{false, unknown, false, false, A},
		{false, unknown, true, false, X},
		{false, unknown, false, true, E},
		{false, unknown, true, true, X},
		{false, reusable, false, false, A},
		{false, reusable, true, false, X},
		{false, reusable, false, true, E},
		{false, reusable, true, true, X},
	}
	for _, tt := range tests {
		s := linkState{paid: tt.paid, reusable: tt.reusable, archived: tt.archived, expired: tt.expired}
		if got := statusOf(s); got != tt.want {
			r := "null"
			if tt.reusable != nil {
				r = map[bool]string{true: "true", false: "false"}[*tt.reusable]
			}
			t.Errorf("paid=%v reusable=%s archived=%v expired=%v: %s, want %s", tt.paid, r, tt.archived, tt.expired, got, tt.want)
		}
	}
}

func TestProviderStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    linkState
		want string
	}{
		{linkState{}, "open"},
		{linkState{paid: true}, "paid"},
		{linkState{archived: true}, "archived"},
		{linkState{expired: true}, "expired"},
		{linkState{paid: true, archived: true, expired: true}, "paid,archived,expired"},
	} {
		if got := providerStatus(tt.s); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func sample() api.PaymentLink {
	return api.PaymentLink{
		Resource: "payment-link", Id: "pl_4Y0eZitmBnQ6IDoMqZQKh", Mode: api.ModeLive, Description: "Bicycle tires",
		Amount: &api.AmountNullable{Currency: "EUR", Value: "24.95"}, Reusable: ptr2(false),
		CreatedAt: now.Add(-time.Hour).In(time.FixedZone("CET", 3600)),
		UnderscoreLinks: api.PaymentLinkLinks{
			Self:        &api.Url{Href: "https://api.mollie.com/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh", Type: "application/hal+json"},
			PaymentLink: api.Url{Href: "https://payment-links.mollie.com/payment/4Y0eZitmBnQ6IDoMqZQKh", Type: "text/html"},
		},
	}
}

func TestToLink(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"id":"pl_4Y0eZitmBnQ6IDoMqZQKh"}`)

	l, err := toLink(200, sample(), raw, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != paylink.StatusActive || l.URL != "https://payment-links.mollie.com/payment/4Y0eZitmBnQ6IDoMqZQKh" || l.Amount.Minor != 2495 ||
		l.CreatedAt.Location() != time.UTC || !l.CreatedAt.Equal(now.Add(-time.Hour)) || !l.ExpiresAt.IsZero() || !l.CompletedAt.IsZero() {
		t.Errorf("open link %+v", l)
	}
	raw[0] = 'X'
	if l.Raw[0] != '{' {
		t.Error("Raw shares the caller's buffer")
	}

	// Expiry at exactly Mollie's now: expired; a second before: active.
	p := sample()
	p.ExpiresAt = ptr2(now)
	if l, _ := toLink(200, p, nil, now); l.Status != paylink.StatusExpired || l.URL != "" || !l.ExpiresAt.Equal(now) {
		t.Errorf("expiring now %+v", l)
	}
	if l, _ := toLink(200, p, nil, now.Add(-time.Second)); l.Status != paylink.StatusActive {
		t.Errorf("a second before expiry %+v", l)
	}

	// Paid single-use: completed at paidAt, updatedAt kept.
	p = sample()
	p.PaidAt, p.UpdatedAt = ptr2(now.Add(-time.Minute)), ptr2(now.Add(-time.Minute))
	if l, _ := toLink(200, p, nil, now); l.Status != paylink.StatusCompleted || !l.CompletedAt.Equal(now.Add(-time.Minute)) || !l.UpdatedAt.Equal(now.Add(-time.Minute)) || l.URL != "" {
		t.Errorf("paid %+v", l)
	}

	// Open amount: no amount on the link; reusable read from the link.
	p = sample()
	p.Amount, p.MinimumAmount, p.Reusable = nil, &api.AmountNullable{Currency: "EUR", Value: "5.00"}, ptr2(true)
	if l, _ := toLink(200, p, nil, now); l.Amount != nil || !l.Reusable {
		t.Errorf("open amount %+v", l)
	}
	p.Reusable = nil
	if l, _ := toLink(200, p, nil, now); l.Reusable {
		t.Error("unknown reusability read as reusable")
	}

	for _, bad := range []api.AmountNullable{{Currency: "EUR", Value: "1.001"}, {Currency: "JPY", Value: "1.5"}, {Currency: "ZZZ", Value: "1.00"}, {Currency: "EUR", Value: "1e3"}} {
		p := sample()
		p.Amount = &bad
		if _, err := toLink(200, p, nil, now); !errors.Is(err, paylink.ErrContractViolation) {
			t.Errorf("amount %+v: %v", bad, err)
		}
	}
}

func TestNextPage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		next    *api.UrlNullable
		want    string
		wantErr bool
	}{
		{nil, "", false},
		{&api.UrlNullable{Href: "https://api.mollie.com/v2/payment-links?from=pl_ayGNzD4TYuQtUaxNyu8aH&limit=5"}, "pl_ayGNzD4TYuQtUaxNyu8aH", false},
		{&api.UrlNullable{Href: "https://api.mollie.com/v2/payment-links?limit=5"}, "", true},
		{&api.UrlNullable{Href: "https://api.mollie.com/v2/payment-links?from=tr_1"}, "", true},
		{&api.UrlNullable{Href: "http://[::1"}, "", true},
	} {
		got, err := nextPage(tt.next)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%+v: %q %v", tt.next, got, err)
		}
	}
}

func TestCreateRequest(t *testing.T) {
	t.Parallel()
	eur := func(v string) *paylink.Amount { a, _ := paylink.ParseAmount("EUR", v); return &a }
	body, err := createRequest(paylink.CreateInput{
		Description: "Bicycle tires", Amount: eur("24.9"), Reusable: true, ExpiresAt: now.Add(time.Nanosecond),
		Options: Options{RedirectURL: "https://shop.example/thanks", WebhookURL: "https://shop.example/hook", AllowedMethods: []string{"ideal"}, SequenceType: "first", CustomerID: "cst_XimFHuaEzd"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(body)
	want := `{"allowedMethods":["ideal"],"amount":{"currency":"EUR","value":"24.90"},"customerId":"cst_XimFHuaEzd","description":"Bicycle tires",` +
		`"expiresAt":"2024-01-15T12:00:01Z","redirectUrl":"https://shop.example/thanks","reusable":true,"sequenceType":"first","webhookUrl":"https://shop.example/hook"}`
	if string(got) != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}

	for _, tt := range []struct {
		name   string
		in     paylink.CreateInput
		want   error
		fields []string
	}{
		{"reference", paylink.CreateInput{Description: "x", Reference: "R-1"}, paylink.ErrUnsupported, nil},
		{"metadata", paylink.CreateInput{Description: "x", Metadata: map[string]string{"a": "b"}}, paylink.ErrUnsupported, nil},
		{"foreign options", paylink.CreateInput{Description: "x", Options: struct{}{}}, paylink.ErrInvalidInput, []string{optionsField}},
		{"no description", paylink.CreateInput{Description: " "}, paylink.ErrInvalidInput, []string{"/description"}},
		{"long description", paylink.CreateInput{Description: strings.Repeat("é", 256)}, paylink.ErrInvalidInput, []string{"/description"}},
		{"minimum next to an amount", paylink.CreateInput{Description: "x", Amount: eur("1.00"), Options: Options{MinimumAmount: &Money{"EUR", "1.00"}}}, paylink.ErrInvalidInput, []string{optionsField + "/minimumAmount"}},
		{"every option wrong", paylink.CreateInput{Description: "x", Options: &Options{
			RedirectURL: "/thanks", WebhookURL: "ftp://x", AllowedMethods: []string{"ideal", "cash"}, MinimumAmount: &Money{"EUR", "1.001"}, SequenceType: "recurring", CustomerID: "cst_1",
		}}, paylink.ErrInvalidInput, []string{optionsField + "/redirectUrl", optionsField + "/webhookUrl", optionsField + "/allowedMethods/1", optionsField + "/minimumAmount", optionsField + "/sequenceType", optionsField + "/customerId"}},
		{"minimum zero", paylink.CreateInput{Description: "x", Options: Options{MinimumAmount: &Money{"EUR", "0.00"}}}, paylink.ErrInvalidInput, []string{optionsField + "/minimumAmount/value"}},
		{"customer id without first", paylink.CreateInput{Description: "x", Options: Options{CustomerID: "cst_XimFHuaEzd"}}, paylink.ErrInvalidInput, []string{optionsField + "/customerId"}},
	} {
		_, err := createRequest(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			continue
		}
		var ve *paylink.ValidationError
		if tt.fields == nil {
			continue
		}
		if !errors.As(err, &ve) || len(ve.Violations) != len(tt.fields) {
			t.Errorf("%s: %v, want fields %v", tt.name, err, tt.fields)
			continue
		}
		for i, v := range ve.Violations {
			if v.Field != tt.fields[i] || v.Reason == "" {
				t.Errorf("%s: violation %d %+v, want %s", tt.name, i, v, tt.fields[i])
			}
		}
	}
}

func TestInvalidCreate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mollieField, want string
	}{
		{"description", "/description"},
		{"amount.value", "/amount/value"},
		{"amount", "/amount"},
		{"expiresAt", "/expiresAt"},
		{"webhookUrl", optionsField + "/webhookUrl"},
		{"minimumAmount.currency", optionsField + "/minimumAmount/currency"},
		{"allowedMethods.0", optionsField + "/allowedMethods/0"},
		{"profileId", ""},
	} {
		body := `{"status":422,"title":"Unprocessable Entity","detail":"bad","field":"` + tt.mollieField + `","_links":{"documentation":{"href":"h","type":"text/html"}}}`
		err := wire.Failure(call.Answer{Status: 422, Body: []byte(body)})
		var ve *paylink.ValidationError
		var pe *paylink.ProviderError
		if !errors.As(err, &ve) || ve.Violations[0].Field != tt.want || !errors.As(err, &pe) || pe.Status != 422 || !strings.Contains(pe.Message, tt.mollieField) {
			t.Errorf("%s: %v", tt.mollieField, err)
		}
	}
	// A body that is not Mollie's error still says the input was refused.
	if err := wire.Failure(call.Answer{Status: 422, Body: []byte("<html>")}); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Errorf("html 422: %v", err)
	}
}
