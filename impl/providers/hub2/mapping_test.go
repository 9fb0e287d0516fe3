package hub2

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
)

// specEnum returns the enum values of a schema of the curated spec, so the tables below fail when
// the spec gains a value they do not list.
func specEnum(t *testing.T, schema string) []string {
	t.Helper()
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range doc.Components.Schemas[schema].Value.Enum {
		out = append(out, v.(string))
	}
	if len(out) == 0 {
		t.Fatalf("schema %s has no enum", schema)
	}
	return out
}

func TestMapStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hub2 api.PaymentLinkStatus
		want paylink.Status
	}{
		{api.PaymentLinkStatusActive, paylink.StatusActive},
		{api.PaymentLinkStatusCompleted, paylink.StatusCompleted},
		{api.PaymentLinkStatusExpired, paylink.StatusExpired},
		{api.PaymentLinkStatusClosed, paylink.StatusClosed},
		// Values Hub2 might add or send malformed: never a success.
		{"paid", paylink.StatusUnknown},
		{"ACTIVE", paylink.StatusUnknown},
		{"", paylink.StatusUnknown},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[string(tt.hub2)] = true
		if got := statuses.Of(tt.hub2); got != tt.want {
			t.Errorf("statuses.Of(%q) = %q, want %q", tt.hub2, got, tt.want)
		}
	}
	for _, v := range specEnum(t, "PaymentLinkStatus") {
		if !listed[v] {
			t.Errorf("spec status %q is not in the table", v)
		}
	}
}

func TestStatusParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unified paylink.Status
		want    api.PaymentLinkStatus
		ok      bool
	}{
		{paylink.StatusActive, api.PaymentLinkStatusActive, true},
		{paylink.StatusCompleted, api.PaymentLinkStatusCompleted, true},
		{paylink.StatusExpired, api.PaymentLinkStatusExpired, true},
		{paylink.StatusClosed, api.PaymentLinkStatusClosed, true},
		{paylink.StatusUnknown, "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := statuses.Provider(tt.unified)
		if got != tt.want || ok != tt.ok {
			t.Errorf("statuses.Provider(%q) = %q, %v; want %q, %v", tt.unified, got, ok, tt.want, tt.ok)
		}
		// Round trip: the filter asks for exactly the status it maps back to.
		if ok && statuses.Of(got) != tt.unified {
			t.Errorf("statuses.Provider(%q) does not map back", tt.unified)
		}
	}
	for _, s := range paylink.Statuses {
		if _, ok := statuses.Provider(s); !ok && s != paylink.StatusUnknown {
			t.Errorf("unified status %q has no Hub2 filter", s)
		}
	}
}

func TestIsReusable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  api.PaymentLinkType
		want bool
	}{
		{api.PaymentLinkTypeSingleUse, false},
		{api.PaymentLinkTypeMultiUse, true},
		{"multi-use", false},
		{"", false},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[string(tt.typ)] = true
		if got := isReusable(tt.typ); got != tt.want {
			t.Errorf("isReusable(%q) = %v, want %v", tt.typ, got, tt.want)
		}
	}
	for _, v := range specEnum(t, "PaymentLinkType") {
		if !listed[v] {
			t.Errorf("spec type %q is not in the table", v)
		}
	}
}

// linkJSON is a get answer with the given fields replaced.
func linkJSON(t *testing.T, patch map[string]any) []byte {
	t.Helper()
	base := map[string]any{
		"id": "pl_z1urYtVFgEebtcj8fxp4v", "url": "https://pay.hub2.com/pl_z1urYtVFgEebtcj8fxp4v",
		"status": "active", "purchaseReference": "ORDER-12345", "amount": 1000, "currency": "XOF",
		"currentSuccessCount": 0, "maximumAttempts": 3, "createdAt": "2024-01-15T12:00:00.000Z",
		"updatedAt": "2024-01-15T12:00:00.000Z", "expirationDate": "2024-01-15T14:30:00.000Z",
		"customerPhoneNumber": nil, "type": "single_use",
	}
	for k, v := range patch {
		if v == nil && k != "customerPhoneNumber" && k != "amount" {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mapRaw(t *testing.T, raw []byte) (paylink.Link, error) {
	t.Helper()
	var p api.PaymentLink
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return toLink(200, fromPaymentLink(p), raw)
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		amount    any
		currency  string
		wantValue string // "" for no amount
		wantMinor int64
		wantErr   bool
	}{
		{"XOF 1000 is 1000: no decimals", 1000, "XOF", "1000", 1000, false},
		{"XAF 5000", 5000, "XAF", "5000", 5000, false},
		{"smallest", 1, "XOF", "1", 1, false},
		{"zero as read", 0, "XOF", "0", 0, false},
		{"largest int64", int64(9223372036854775807), "XOF", "9223372036854775807", 9223372036854775807, false},
		{"a two-decimal currency is scaled", 1295, "EUR", "12.95", 1295, false},
		{"open amount", nil, "XOF", "", 0, false},
		{"negative", -5, "XOF", "", 0, true},
		{"not an ISO 4217 code", 1000, "ABC", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := mapRaw(t, linkJSON(t, map[string]any{"amount": tt.amount, "currency": tt.currency}))
			if tt.wantErr {
				if !errors.Is(err, paylink.ErrContractViolation) {
					t.Fatalf("err = %v, want a contract violation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantValue == "" {
				if l.Amount != nil {
					t.Fatalf("amount %v, want none", l.Amount)
				}
				return
			}
			if l.Amount == nil || l.Amount.Value() != tt.wantValue || l.Amount.Minor != tt.wantMinor || l.Amount.Currency != tt.currency {
				t.Errorf("amount %+v, want %s %s (%d minor)", l.Amount, tt.wantValue, tt.currency, tt.wantMinor)
			}
		})
	}
}

func TestAmountsOutOfRange(t *testing.T) {
	t.Parallel()
	// Beyond int64 the generated type cannot hold it: the JSON decoder refuses, never rounds.
	var p api.PaymentLink
	if err := json.Unmarshal(linkJSON(t, map[string]any{"amount": json.Number("9223372036854775808")}), &p); err == nil {
		t.Error("an amount beyond int64 was accepted")
	}
	if err := json.Unmarshal(linkJSON(t, map[string]any{"amount": json.Number("1000.5")}), &p); err == nil {
		t.Error("a fractional minor amount was accepted")
	}
}

func TestTimes(t *testing.T) {
	t.Parallel()
	want := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"UTC with milliseconds (Hub2)", "2024-01-15T12:00:00.000Z", want},
		{"UTC without milliseconds", "2024-01-15T12:00:00Z", want},
		{"UTC with a fraction", "2024-01-15T12:00:00.128Z", want.Add(128 * time.Millisecond)},
		{"West Africa Time offset", "2024-01-15T13:00:00.000+01:00", want},
		{"negative offset", "2024-01-15T11:00:00-01:00", want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := mapRaw(t, linkJSON(t, map[string]any{"createdAt": tt.in, "updatedAt": tt.in, "expirationDate": tt.in}))
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]time.Time{"createdAt": l.CreatedAt, "updatedAt": l.UpdatedAt, "expiresAt": l.ExpiresAt} {
				if !got.Equal(tt.want) || got.Location() != time.UTC {
					t.Errorf("%s = %s, want %s in UTC", name, got, tt.want)
				}
			}
		})
	}
}

func TestToLink(t *testing.T) {
	t.Parallel()
	paidAt := "2024-01-15T12:16:26.128Z"
	attempts := []map[string]any{
		{"id": "pay_1", "status": "failed", "updatedAt": "2024-01-15T12:05:00.000Z"},
		{"id": "pay_2", "status": "successful", "createdAt": "2024-01-15T12:09:49.355Z", "updatedAt": paidAt},
		{"id": "pay_3", "status": "pending"},
	}
	tests := []struct {
		name  string
		patch map[string]any
		check func(t *testing.T, l paylink.Link)
	}{
		{"active single use", nil, func(t *testing.T, l paylink.Link) {
			if l.Status != paylink.StatusActive || l.ProviderStatus != "active" || l.Reusable || l.URL == "" ||
				l.Reference != "ORDER-12345" || l.ProviderLinkID != "pl_z1urYtVFgEebtcj8fxp4v" || l.Provider != "hub2" || !l.CompletedAt.IsZero() {
				t.Errorf("%+v", l)
			}
			if p, id, err := l.ID.Parse(); err != nil || p != "hub2" || id != l.ProviderLinkID {
				t.Errorf("id %q does not round-trip", l.ID)
			}
		}},
		{"multi use", map[string]any{"type": "multi_use", "maximumPayments": 50}, func(t *testing.T, l paylink.Link) {
			if !l.Reusable {
				t.Error("multi_use is reusable")
			}
		}},
		{"completed: when the last successful attempt was", map[string]any{"status": "completed", "paymentAttempts": attempts}, func(t *testing.T, l paylink.Link) {
			if l.Status != paylink.StatusCompleted || l.CompletedAt.Format(time.RFC3339Nano) != paidAt || l.URL != "" {
				t.Errorf("status %s completedAt %s url %q", l.Status, l.CompletedAt, l.URL)
			}
		}},
		{"completed without attempts: the last update", map[string]any{"status": "completed", "updatedAt": "2024-01-15T12:20:00.000Z"}, func(t *testing.T, l paylink.Link) {
			if !l.CompletedAt.Equal(time.Date(2024, 1, 15, 12, 20, 0, 0, time.UTC)) {
				t.Errorf("completedAt %s", l.CompletedAt)
			}
		}},
		{"active with a successful attempt is not completed", map[string]any{"type": "multi_use", "paymentAttempts": attempts}, func(t *testing.T, l paylink.Link) {
			if l.Status != paylink.StatusActive || !l.CompletedAt.IsZero() {
				t.Errorf("status %s completedAt %s", l.Status, l.CompletedAt)
			}
		}},
		{"closed has no URL", map[string]any{"status": "closed"}, func(t *testing.T, l paylink.Link) {
			if l.Status != paylink.StatusClosed || l.URL != "" {
				t.Errorf("status %s url %q", l.Status, l.URL)
			}
		}},
		{"unknown status", map[string]any{"status": "suspended"}, func(t *testing.T, l paylink.Link) {
			if l.Status != paylink.StatusUnknown || l.ProviderStatus != "suspended" || l.URL != "" || !l.CompletedAt.IsZero() {
				t.Errorf("%+v", l)
			}
		}},
		{"description when Hub2 sends one", map[string]any{"description": "Order 12345"}, func(t *testing.T, l paylink.Link) {
			if l.Description != "Order 12345" {
				t.Errorf("description %q", l.Description)
			}
		}},
		{"raw is the provider's object", map[string]any{"customerData": map[string]any{"national_id": "AB123456"}}, func(t *testing.T, l paylink.Link) {
			var m map[string]any
			if err := json.Unmarshal(l.Raw, &m); err != nil || m["customerData"] == nil {
				t.Errorf("raw %s", l.Raw)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := mapRaw(t, linkJSON(t, tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, l)
		})
	}
}

func TestCreateBody(t *testing.T) {
	t.Parallel()
	xof := func(v string) *paylink.Amount {
		a, err := paylink.ParseAmount("XOF", v)
		if err != nil {
			t.Fatal(err)
		}
		return &a
	}
	wat := time.FixedZone("WAT", 3600)
	in := paylink.CreateInput{
		Amount: xof("1000"), Reference: "ORDER-1", Description: "Order 1", Reusable: true,
		ExpiresAt: time.Date(2024, 1, 15, 15, 30, 0, 123456789, wat),
		Options: &Options{Country: "CI", CustomerPhoneNumber: "0707070707", MaximumPayments: 5,
			PaymentMethods: []string{"mobile_money"}, Operators: []string{"Orange", "MTN"},
			SuccessURL: "https://shop.example/ok", FailureURL: "https://shop.example/ko"},
	}
	body, err := createBody(in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(body)
	want := `{"amount":1000,"country":"CI","currency":"XOF","customerPhoneNumber":"0707070707","description":"Order 1",` +
		`"expirationDate":"2024-01-15T14:30:00.123Z","failureUrl":"https://shop.example/ko","maximumPayments":5,` +
		`"paymentMethods":["mobile_money"],"providers":["Orange","MTN"],"purchaseReference":"ORDER-1",` +
		`"successUrl":"https://shop.example/ok","type":"multi_use"}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}

	minimal, err := createBody(paylink.CreateInput{Amount: xof("1"), Reference: "R"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(minimal)
	if want := `{"amount":1,"currency":"XOF","purchaseReference":"R","type":"single_use"}`; string(got) != want {
		t.Errorf("minimal body\n got %s\nwant %s", got, want)
	}
}

func TestCreateBodyRefusals(t *testing.T) {
	t.Parallel()
	xof := &paylink.Amount{Currency: "XOF", Minor: 1000}
	tests := []struct {
		name        string
		in          paylink.CreateInput
		unsupported string   // field of an UnsupportedError
		fields      []string // fields of a ValidationError
	}{
		{"metadata", paylink.CreateInput{Amount: xof, Reference: "R", Metadata: map[string]string{"k": "v"}}, "/metadata", nil},
		{"no reference", paylink.CreateInput{Amount: xof}, "", []string{"/reference"}},
		{"options of another provider", paylink.CreateInput{Reference: "R", Amount: xof, Options: struct{ OrderID string }{}}, "", []string{"/providerOptions/hub2"}},
		{"maximumPayments on a single-use link", paylink.CreateInput{Reference: "R", Amount: xof, Options: Options{MaximumPayments: 3}}, "", []string{"/providerOptions/hub2/maximumPayments"}},
		{"everything at once", paylink.CreateInput{Options: Options{Country: "ci", MaximumPayments: 2}}, "",
			[]string{"/reference", "/providerOptions/hub2/country", "/providerOptions/hub2/maximumPayments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := createBody(tt.in)
			if tt.unsupported != "" {
				var ue *paylink.UnsupportedError
				if !errors.As(err, &ue) || ue.Field != tt.unsupported || !errors.Is(err, paylink.ErrUnsupported) {
					t.Fatalf("err = %v, want unsupported %s", err, tt.unsupported)
				}
				return
			}
			var ve *paylink.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, paylink.ErrInvalidInput) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			var fields []string
			for _, v := range ve.Violations {
				fields = append(fields, v.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields %v, want %v", fields, tt.fields)
			}
		})
	}
}
