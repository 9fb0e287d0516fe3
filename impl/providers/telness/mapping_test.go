package telness

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// Every status Telness documents, and values it does not: none of the latter may read as paid.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		telness api.PaymentLinkStatus
		want    paylink.Status
	}{
		{api.PaymentLinkStatusActive, paylink.StatusActive},
		{api.PaymentLinkStatusCompleted, paylink.StatusCompleted},
		{api.PaymentLinkStatusExpired, paylink.StatusExpired},
		{api.PaymentLinkStatusCancelled, paylink.StatusClosed},
		{"PAID", paylink.StatusUnknown},
		{"completed", paylink.StatusUnknown}, // the docs' lowercase prose (TEL-5) is not the enum
		{"", paylink.StatusUnknown},
	}
	for _, tt := range tests {
		if got := statuses.Of(tt.telness); got != tt.want {
			t.Errorf("statuses.Of(%q) = %s, want %s", tt.telness, got, tt.want)
		}
	}
	// The table above must list every value of the generated enum.
	for _, s := range []api.PaymentLinkStatus{api.PaymentLinkStatusActive, api.PaymentLinkStatusCompleted, api.PaymentLinkStatusExpired, api.PaymentLinkStatusCancelled} {
		if statuses.Of(s) == paylink.StatusUnknown {
			t.Errorf("%s maps to unknown", s)
		}
	}
}

func TestDecodeLink(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		raw  string
		want paylink.Link
	}{{
		name: "completed, UTC",
		raw:  `{"paymentLinkId":"j47ac10b-58cc-4372-a567-0e02b2c3d479","url":"https://checkout.yourapp.com/pay/j47","status":"COMPLETED","description":"Pay your monthly subscription","paymentId":"k47","expiresAt":"2024-12-31T23:59:59Z","completedAt":"2024-01-15T14:30:00Z","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T14:30:00Z","metadata":{}}`,
		want: paylink.Link{
			ProviderLinkID: "j47ac10b-58cc-4372-a567-0e02b2c3d479", // no URL: it takes no more payments
			Status:         paylink.StatusCompleted, ProviderStatus: "COMPLETED", Description: "Pay your monthly subscription",
			ExpiresAt: at("2024-12-31T23:59:59Z"), CompletedAt: at("2024-01-15T14:30:00Z"),
			CreatedAt: at("2024-01-15T10:00:00Z"), UpdatedAt: at("2024-01-15T14:30:00Z"),
		},
	}, {
		name: "offsets become UTC",
		raw:  `{"paymentLinkId":"a","url":"https://x.test/a","status":"ACTIVE","createdAt":"2024-01-15T12:00:00+02:00","updatedAt":"2024-01-15T05:00:00.250-05:00","expiresAt":"2024-03-31T03:00:00+02:00"}`,
		want: paylink.Link{
			ProviderLinkID: "a", URL: "https://x.test/a", Status: paylink.StatusActive, ProviderStatus: "ACTIVE",
			CreatedAt: at("2024-01-15T10:00:00Z"), UpdatedAt: at("2024-01-15T10:00:00.25Z"), ExpiresAt: at("2024-03-31T01:00:00Z"),
		},
	}, {
		name: "reference out of metadata, the rest kept",
		raw:  `{"paymentLinkId":"b","url":"https://x.test/b","status":"CANCELLED","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T11:00:00Z","metadata":{"reference":"INV-42","campaign":"spring"}}`,
		want: paylink.Link{
			ProviderLinkID: "b", Status: paylink.StatusClosed, ProviderStatus: "CANCELLED",
			CreatedAt: at("2024-01-15T10:00:00Z"), UpdatedAt: at("2024-01-15T11:00:00Z"),
			Reference: "INV-42", Metadata: map[string]string{"campaign": "spring"},
		},
	}, {
		name: "an amount Telness might add later is not read",
		raw:  `{"paymentLinkId":"c","url":"https://x.test/c","status":"ACTIVE","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z","amount":29.5,"currency":"USD"}`,
		want: paylink.Link{
			ProviderLinkID: "c", URL: "https://x.test/c", Status: paylink.StatusActive, ProviderStatus: "ACTIVE",
			CreatedAt: at("2024-01-15T10:00:00Z"), UpdatedAt: at("2024-01-15T10:00:00Z"),
		},
	}, {
		name: "unknown status kept raw",
		raw:  `{"paymentLinkId":"d","url":"https://x.test/d","status":"REFUNDED","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"}`,
		want: paylink.Link{
			ProviderLinkID: "d", Status: paylink.StatusUnknown, ProviderStatus: "REFUNDED",
			CreatedAt: at("2024-01-15T10:00:00Z"), UpdatedAt: at("2024-01-15T10:00:00Z"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeLink(call.Answer{Status: http.StatusOK, Body: []byte(tt.raw)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != tt.raw {
				t.Errorf("Raw = %s", got.Raw)
			}
			if got.Amount != nil {
				t.Errorf("Amount = %v, want nil", got.Amount)
			}
			for _, ts := range []time.Time{got.CreatedAt, got.UpdatedAt, got.ExpiresAt, got.CompletedAt} {
				if !ts.IsZero() && ts.Location() != time.UTC {
					t.Errorf("time %s is not in UTC", ts)
				}
			}
			tt.want.ID, tt.want.Provider, tt.want.Raw = paylink.NewID(Name, tt.want.ProviderLinkID), Name, got.Raw
			if g, w := mustJSON(t, got), mustJSON(t, tt.want); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeLinkRefusesBrokenAnswers(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"not JSON":            `<html>`,
		"no id":               `{"url":"https://x.test","status":"ACTIVE","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"}`,
		"time without offset": `{"paymentLinkId":"a","url":"https://x.test","status":"ACTIVE","createdAt":"2024-01-15T10:00:00","updatedAt":"2024-01-15T10:00:00Z"}`,
	} {
		_, err := decodeLink(call.Answer{Status: http.StatusOK, Body: []byte(raw)}, nil)
		var pe *paylink.ProviderError
		if !errors.Is(err, paylink.ErrContractViolation) || !errors.As(err, &pe) || pe.Status != http.StatusOK {
			t.Errorf("%s: %v, want a contract violation", name, err)
		}
	}
}

// TEL-19: Telness's published schema allows metadata values of any JSON type; none may make the
// link unreadable, and none is dropped.
func TestDecodeLinkReadsMetadataOfAnyType(t *testing.T) {
	t.Parallel()
	raw := `{"paymentLinkId":"a","url":"https://x.test","status":"ACTIVE","createdAt":"2024-01-15T10:00:00Z",` +
		`"metadata":{"campaign":"spring","seats":3,"big":12345678901234567890,"renewal":true,"tags":[ "a", "b" ],"owner":{"id":7},"source":null,"reference":"ORDER-1"}}`
	got, err := decodeLink(call.Answer{Status: http.StatusOK, Body: []byte(raw)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"campaign": "spring", "seats": "3", "big": "12345678901234567890", "renewal": "true",
		"tags": `["a","b"]`, "owner": `{"id":7}`, "source": "null",
	}
	if g, w := mustJSON(t, got.Metadata), mustJSON(t, want); g != w {
		t.Errorf("Metadata = %s\nwant       %s", g, w)
	}
	if got.Reference != "ORDER-1" {
		t.Errorf("Reference = %q, want ORDER-1", got.Reference)
	}
	if !got.UpdatedAt.IsZero() {
		t.Errorf("UpdatedAt = %s, want zero: the answer has none", got.UpdatedAt)
	}
}

func TestResponseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		kind     error
		code     string
		message  string
		fields   []string // violations, when the answer names properties
		retryAft time.Duration
	}{
		{"unauthorized", 401, `{"message":"Invalid API key","code":"unauthorized"}`, paylink.ErrProviderAuth, "unauthorized", "Invalid API key", nil, 0},
		{"not found", 404, `{"message":"Payment link not found","code":"not_found"}`, paylink.ErrNotFound, "not_found", "Payment link not found", nil, 0},
		{"key mismatch", 409, `{"message":"Idempotency key was used with a different request","code":"idempotency_key_mismatch"}`, paylink.ErrInvalidInput, "idempotency_key_mismatch", "Idempotency key was used with a different request", nil, 0},
		{"key locked", 409, `{"message":"in progress","code":"idempotency_key_locked"}`, paylink.ErrProviderUnavailable, "idempotency_key_locked", "in progress", nil, 0},
		{"not cancellable", 409, `{"message":"Payment link is not active","code":"payment_link_not_cancellable"}`, paylink.ErrProvider, "payment_link_not_cancellable", "Payment link is not active", nil, 0},
		{"rate limited", 429, `{"message":"Too many requests","code":"rate_limited"}`, paylink.ErrProviderUnavailable, "rate_limited", "Too many requests", nil, 0},
		{"server error, no body", 500, ``, paylink.ErrProvider, "", "", nil, 0},
		{"bad gateway, HTML", 502, `<html>`, paylink.ErrProviderUnavailable, "", "", nil, 0},
		{"validation", 400, `{"message":"Validation failed","code":"validation_error","details":[
			{"message":"Exactly one of orderId and invoiceId must be set","property":"orderId"},
			{"message":"must be in the future","property":"expiresAt"},
			{"message":"value must be a string","property":"metadata.n"},
			{"message":"reserved","property":"metadata.reference"},
			{"message":"too long","property":"X-Idempotency-Key"},
			{"message":"value must be a boolean","property":"setAsDefaultPaymentProfile"},
			{"message":"failed to decode request body"}]}`,
			paylink.ErrInvalidInput, "validation_error", "Validation failed",
			[]string{"/providerOptions/telness/orderId", "/expiresAt", "/metadata/n", "/reference", "header.Idempotency-Key", "/providerOptions/telness", "/"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.status == 429 {
				h.Set("Retry-After", "30")
				tt.retryAft = 30 * time.Second
			}
			pe := wire.Failure(call.Answer{Status: tt.status, Header: h, Body: []byte(tt.body)})
			if !errors.Is(pe, tt.kind) || pe.Status != tt.status || pe.Code != tt.code || pe.Message != tt.message || pe.RetryAfter != tt.retryAft {
				t.Errorf("got %+v (%v)", pe, pe)
			}
			var ve *paylink.ValidationError
			if tt.fields == nil {
				if errors.As(pe, &ve) {
					t.Errorf("unexpected violations %v", ve)
				}
				return
			}
			if !errors.As(pe, &ve) || len(ve.Violations) != len(tt.fields) {
				t.Fatalf("violations: %v", pe)
			}
			for i, f := range tt.fields {
				if ve.Violations[i].Field != f {
					t.Errorf("violation %d: field %s, want %s", i, ve.Violations[i].Field, f)
				}
			}
		})
	}
}

func TestDecodeOptions(t *testing.T) {
	t.Parallel()
	a := &Adapter{}
	tests := []struct {
		name  string
		json  string
		want  Options
		field string // the violation expected; "" for none
	}{
		{"order", `{"orderId":"o1","successUrl":"https://shop.test/ok","cancelUrl":"https://shop.test/no","savePaymentProfile":true,"paymentProfileId":"pp1"}`,
			Options{OrderID: "o1", SuccessURL: "https://shop.test/ok", CancelURL: "https://shop.test/no", SavePaymentProfile: true, PaymentProfileID: "pp1"}, ""},
		{"invoice", `{"invoiceId":"i1"}`, Options{InvoiceID: "i1"}, ""},
		{"both", `{"orderId":"o1","invoiceId":"i1"}`, Options{}, "/providerOptions/telness/orderId"},
		{"neither", `{"savePaymentProfile":true}`, Options{}, "/providerOptions/telness/orderId"},
		{"empty ids", `{"orderId":"","invoiceId":""}`, Options{}, "/providerOptions/telness/orderId"},
		{"empty object", `{}`, Options{}, "/providerOptions/telness/orderId"},
		{"null", `null`, Options{}, "/providerOptions/telness/orderId"},
		{"nothing", ``, Options{}, "/providerOptions/telness/orderId"},
		{"unknown field", `{"orderId":"o1","orderID2":"x"}`, Options{}, "/providerOptions/telness/orderID2"},
		{"amount is not an option", `{"orderId":"o1","amount":"12.95"}`, Options{}, "/providerOptions/telness/amount"},
		{"wrong type", `{"orderId":5}`, Options{}, "/providerOptions/telness/orderId"},
		{"wrong boolean", `{"orderId":"o","savePaymentProfile":"yes"}`, Options{}, "/providerOptions/telness/savePaymentProfile"},
		{"relative successUrl", `{"orderId":"o","successUrl":"/ok"}`, Options{}, "/providerOptions/telness/successUrl"},
		{"cancelUrl without host", `{"orderId":"o","cancelUrl":"https://"}`, Options{}, "/providerOptions/telness/cancelUrl"},
		{"array", `[]`, Options{}, "/providerOptions/telness"},
		{"two objects", `{"orderId":"o"}{"orderId":"p"}`, Options{}, "/providerOptions/telness"},
		{"broken JSON", `{"orderId":`, Options{}, "/providerOptions/telness"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.DecodeOptions(json.RawMessage(tt.json))
			if tt.field == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var ve *paylink.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, paylink.ErrInvalidInput) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if ve.Violations[0].Field != tt.field || ve.Violations[0].Reason == "" {
				t.Errorf("violations %+v, want field %s", ve.Violations, tt.field)
			}
		})
	}
}

func TestOptionsTypes(t *testing.T) {
	t.Parallel()
	valid := Options{OrderID: "o"}
	tests := []struct {
		name string
		in   any
		ok   bool
	}{
		{"value", valid, true},
		{"pointer", &valid, true},
		{"nil pointer", (*Options)(nil), false},
		{"nil", nil, false},
		{"another provider's options", struct{ Country string }{"CI"}, false},
		{"a map", map[string]any{"orderId": "o"}, false},
	}
	for _, tt := range tests {
		got, err := options(tt.in)
		if tt.ok != (err == nil) || (tt.ok && got != valid) {
			t.Errorf("%s: %+v, %v", tt.name, got, err)
		}
		if err != nil && !errors.Is(err, paylink.ErrInvalidInput) {
			t.Errorf("%s: %v is not ErrInvalidInput", tt.name, err)
		}
	}
}
