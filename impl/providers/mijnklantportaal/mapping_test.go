package mijnklantportaal

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

type statusCase struct {
	provider api.PaymentLinkStatus
	want     paylink.Status
}

// statusTable lists every status of the curated spec and some it does not know.
var statusTable = []statusCase{
	{api.PaymentLinkStatusOpen, paylink.StatusActive},
	{api.PaymentLinkStatusPaid, paylink.StatusCompleted},
	{api.PaymentLinkStatusExpired, paylink.StatusExpired},
	{api.PaymentLinkStatusClosed, paylink.StatusClosed},
	{"refunded", paylink.StatusUnknown},
	{"OPEN", paylink.StatusUnknown},
	{"", paylink.StatusUnknown},
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for _, tt := range statusTable {
		if got := statuses.Of(tt.provider); got != tt.want {
			t.Errorf("statuses.Of(%q) = %s, want %s", tt.provider, got, tt.want)
		}
	}
}

// TestStatusTableCoversSpec fails when the spec gains a status the table above does not list.
func TestStatusTableCoversSpec(t *testing.T) {
	t.Parallel()
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas["PaymentLink"].Value.Properties["status"].Value.Enum
	if len(enum) == 0 {
		t.Fatal("PaymentLink.status has no enum in the spec")
	}
	for _, v := range enum {
		if !slices.ContainsFunc(statusTable, func(c statusCase) bool { return string(c.provider) == v }) {
			t.Errorf("status %q of the spec is missing from the mapping table", v)
		}
	}
}

func TestExpiryDate(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"midnight in Amsterdam, summer", time.Date(2024, 5, 14, 22, 0, 0, 0, time.UTC), "2024-05-14"},
		{"a nanosecond after midnight", time.Date(2024, 5, 14, 22, 0, 0, 1, time.UTC), "2024-05-15"},
		{"a second before midnight", time.Date(2024, 5, 14, 21, 59, 59, 0, time.UTC), "2024-05-14"},
		{"noon", time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC), "2024-05-14"},
		{"midnight UTC is 02:00 in Amsterdam", time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC), "2024-05-15"},
		{"midnight in Amsterdam, winter", time.Date(2024, 12, 1, 23, 0, 0, 0, time.UTC), "2024-12-01"},
		{"winter, a nanosecond later", time.Date(2024, 12, 1, 23, 0, 0, 1, time.UTC), "2024-12-02"},
		{"same instant given in Tokyo", time.Date(2024, 5, 15, 7, 0, 0, 0, tokyo), "2024-05-14"},
		{"midnight after the switch to summer time", time.Date(2024, 3, 31, 22, 0, 0, 0, time.UTC), "2024-03-31"},
		{"midnight after the switch to winter time", time.Date(2024, 10, 27, 23, 0, 0, 0, time.UTC), "2024-10-27"},
		{"new year", time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC), "2024-12-31"},
	}
	for _, tt := range tests {
		got := expiryDate(tt.in)
		if got.String() != tt.want {
			t.Errorf("%s: expiryDate(%s) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
		// The provider ends the link at the end of the date: never before the asked instant,
		// and less than a day (plus a DST hour) after it.
		end := time.Date(got.Year(), got.Month(), got.Day()+1, 0, 0, 0, 0, amsterdam)
		if end.Before(tt.in) || end.Sub(tt.in) > 25*time.Hour {
			t.Errorf("%s: link would end at %s for %s", tt.name, end, tt.in)
		}
	}
}

func TestToLink(t *testing.T) {
	t.Parallel()
	item := func(amount, createdAt, expiresAt, checkout, status string) []byte {
		return fmt.Appendf(nil, `{"id":"plk_abc12345def678","description":"Contribution costs","currency":"EUR","amount":%q,"reusable":true,`+
			`"expiresAt":%s,"status":%q,"checkoutUrl":%s,"createdAt":%q}`, amount, expiresAt, status, checkout, createdAt)
	}
	const atom = "2024-04-29T21:00:00+02:00"
	tests := []struct {
		name        string
		raw         []byte
		wantMinor   int64
		wantCreated time.Time
		wantExpires time.Time
		wantURL     string
		wantStatus  paylink.Status
		wantErr     error
	}{
		{"docs example", item("12.95", atom, `"2024-05-14T21:00:00+02:00"`, `"https://demo.mijnklantportaal.nl/payment-link/plk_abc12345def678"`, "open"),
			1295, time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC), time.Date(2024, 5, 14, 19, 0, 0, 0, time.UTC), "https://demo.mijnklantportaal.nl/payment-link/plk_abc12345def678", paylink.StatusActive, nil},
		{"one cent, winter offset, no expiry, closed", item("0.01", "2024-12-01T10:00:00+01:00", "null", "null", "closed"),
			1, time.Date(2024, 12, 1, 9, 0, 0, 0, time.UTC), time.Time{}, "", paylink.StatusClosed, nil},
		{"whole euros", item("100000.00", "2024-04-29T19:00:00Z", "null", "null", "paid"),
			10000000, time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC), time.Time{}, "", paylink.StatusCompleted, nil},
		{"largest amount in int64 cents", item("92233720368547758.07", atom, "null", "null", "expired"),
			1<<63 - 1, time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC), time.Time{}, "", paylink.StatusExpired, nil},
		{"unknown status kept raw", item("1.00", atom, "null", "null", "refunded"),
			100, time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC), time.Time{}, "", paylink.StatusUnknown, nil},
		{"three decimals", item("12.955", atom, "null", "null", "open"), 0, time.Time{}, time.Time{}, "", "", paylink.ErrContractViolation},
		{"beyond int64 cents", item("92233720368547758.08", atom, "null", "null", "open"), 0, time.Time{}, time.Time{}, "", "", paylink.ErrContractViolation},
		{"exponent", item("1e3", atom, "null", "null", "open"), 0, time.Time{}, time.Time{}, "", "", paylink.ErrContractViolation},
		{"comma", item("12,95", atom, "null", "null", "open"), 0, time.Time{}, time.Time{}, "", "", paylink.ErrContractViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l api.PaymentLink
			if err := json.Unmarshal(tt.raw, &l); err != nil {
				t.Fatal(err)
			}
			got, err := toLink(http.StatusOK, l, tt.raw)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Amount == nil || *got.Amount != (paylink.Amount{Currency: "EUR", Minor: tt.wantMinor}) {
				t.Errorf("amount %v, want %d EUR cents", got.Amount, tt.wantMinor)
			}
			if !got.CreatedAt.Equal(tt.wantCreated) || got.CreatedAt.Location() != time.UTC {
				t.Errorf("createdAt %s, want %s in UTC", got.CreatedAt, tt.wantCreated)
			}
			if !got.ExpiresAt.Equal(tt.wantExpires) || (!got.ExpiresAt.IsZero() && got.ExpiresAt.Location() != time.UTC) {
				t.Errorf("expiresAt %s, want %s in UTC", got.ExpiresAt, tt.wantExpires)
			}
			if got.URL != tt.wantURL || got.Status != tt.wantStatus || got.ProviderStatus != string(l.Status) {
				t.Errorf("url %q status %s (%s)", got.URL, got.Status, got.ProviderStatus)
			}
			if got.Provider != Name || got.ProviderLinkID != "plk_abc12345def678" || got.ID != paylink.NewID(Name, "plk_abc12345def678") ||
				!got.Reusable || got.Description != "Contribution costs" || string(got.Raw) != string(tt.raw) {
				t.Errorf("link %+v", got)
			}
		})
	}
}

func TestNextPage(t *testing.T) {
	t.Parallel()
	u := func(s string) *string { return &s }
	tests := []struct {
		current int
		next    *string
		want    string
	}{
		{1, nil, ""},
		{1, u("https://api.mijnklantportaal.nl/v1/payment-links?page=2"), "2"},
		{4, u("http://127.0.0.1:1/sandbox/mijnklantportaal/payment-links?page=5"), "5"},
		{2, u("https://api.mijnklantportaal.nl/v1/payment-links?cursor=x"), "3"}, // no page number: the next one
		{2, u("https://api.mijnklantportaal.nl/v1/payment-links?page=2"), "3"},   // not forward: never loop
		{2, u("https://api.mijnklantportaal.nl/v1/payment-links?page=abc"), "3"}, // not a number
		{2, u("://not a url"), "3"},
	}
	for _, tt := range tests {
		if got := nextPage(api.PaymentLinkPage{CurrentPage: tt.current, NextPageUrl: tt.next}); got != tt.want {
			t.Errorf("nextPage(%d, %v) = %q, want %q", tt.current, tt.next, got, tt.want)
		}
	}
}

func TestCreateRequest(t *testing.T) {
	t.Parallel()
	eur := func(minor int64) *paylink.Amount { return &paylink.Amount{Currency: "EUR", Minor: minor} }
	ok := paylink.CreateInput{Amount: eur(1295), Description: "Contribution costs"}
	with := func(f func(*paylink.CreateInput)) paylink.CreateInput { in := ok; f(&in); return in }
	tests := []struct {
		name            string
		in              paylink.CreateInput
		wantBody        string // JSON of the request body
		wantUnsupported string // field
		wantViolations  []string
	}{
		{"minimal", ok, `{"amount":"12.95","description":"Contribution costs","reusable":false}`, "", nil},
		{"reusable with expiry", with(func(in *paylink.CreateInput) {
			in.Reusable, in.ExpiresAt = true, time.Date(2024, 5, 14, 22, 0, 0, 0, time.UTC)
		}), `{"amount":"12.95","description":"Contribution costs","expiresAt":"2024-05-14","reusable":true}`, "", nil},
		{"whole euros keep two decimals", with(func(in *paylink.CreateInput) { in.Amount = eur(1200) }), `{"amount":"12.00","description":"Contribution costs","reusable":false}`, "", nil},
		{"one cent", with(func(in *paylink.CreateInput) { in.Amount = eur(1) }), `{"amount":"0.01","description":"Contribution costs","reusable":false}`, "", nil},
		{"255 characters", with(func(in *paylink.CreateInput) { in.Description = strings.Repeat("é", 255) }), "", "", nil},
		{"reference", with(func(in *paylink.CreateInput) { in.Reference = "INV-1" }), "", "/reference", nil},
		{"metadata", with(func(in *paylink.CreateInput) { in.Metadata = map[string]string{"k": "v"} }), "", "/metadata", nil},
		{"options", with(func(in *paylink.CreateInput) { in.Options = struct{}{} }), "", "/providerOptions", nil},
		{"empty metadata is nothing", with(func(in *paylink.CreateInput) { in.Metadata = map[string]string{} }), "", "", nil},
		// The Client checks amounts against the capabilities; called directly, the adapter leaves
		// a missing one to the provider rather than failing on it.
		{"no amount", with(func(in *paylink.CreateInput) { in.Amount = nil }), `{"amount":"","description":"Contribution costs","reusable":false}`, "", nil},
		{"no description", with(func(in *paylink.CreateInput) { in.Description = "" }), "", "", []string{"/description"}},
		{"blank description", with(func(in *paylink.CreateInput) { in.Description = " \t" }), "", "", []string{"/description"}},
		{"256 characters", with(func(in *paylink.CreateInput) { in.Description = strings.Repeat("é", 256) }), "", "", []string{"/description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := createRequest(tt.in)
			var ue *paylink.UnsupportedError
			var ve *paylink.ValidationError
			switch {
			case tt.wantUnsupported != "":
				if !errors.As(err, &ue) || ue.Field != tt.wantUnsupported || !errors.Is(err, paylink.ErrUnsupported) {
					t.Fatalf("err %v, want unsupported %s", err, tt.wantUnsupported)
				}
			case tt.wantViolations != nil:
				if !errors.As(err, &ve) || !errors.Is(err, paylink.ErrInvalidInput) {
					t.Fatalf("err %v, want violations %v", err, tt.wantViolations)
				}
				var fields []string
				for _, v := range ve.Violations {
					fields = append(fields, v.Field)
				}
				if !slices.Equal(fields, tt.wantViolations) {
					t.Errorf("violations %v, want %v", fields, tt.wantViolations)
				}
			case err != nil:
				t.Fatal(err)
			case tt.wantBody != "":
				b, _ := json.Marshal(body)
				if string(b) != tt.wantBody {
					t.Errorf("body %s, want %s", b, tt.wantBody)
				}
			}
		})
	}
}

func TestInvalidCreate(t *testing.T) {
	t.Parallel()
	body := []byte(`{"message":"The amount field format is invalid. (and 2 more errors)","errors":{"amount":["The amount field format is invalid."],` +
		`"expiresAt":["The expires at field must be a date after or equal to today."],"body":["The request body is invalid."]}}`)
	err := wire.Failure(call.Answer{Status: http.StatusUnprocessableEntity, Body: body})
	var pe *paylink.ProviderError
	var ve *paylink.ValidationError
	if !errors.As(err, &pe) || pe.Status != 422 || pe.Message != "The amount field format is invalid. (and 2 more errors)" || !errors.Is(err, paylink.ErrInvalidInput) {
		t.Fatalf("err %#v", err)
	}
	if !errors.As(err, &ve) {
		t.Fatal("no ValidationError")
	}
	want := []paylink.Violation{
		{Field: "/amount/value", Reason: "The amount field format is invalid."},
		{Field: "", Reason: "The request body is invalid."},
		{Field: "/expiresAt", Reason: "The expires at field must be a date after or equal to today."},
	}
	if !slices.Equal(ve.Violations, want) {
		t.Errorf("violations %+v, want %+v", ve.Violations, want)
	}
	// Without per-field errors the message is the one violation.
	err = wire.Failure(call.Answer{Status: 422, Body: []byte(`{"message":"The given data was invalid."}`)})
	if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Reason != "The given data was invalid." {
		t.Errorf("without errors: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{BaseURL: "", Token: "t"},
		{BaseURL: "api.mijnklantportaal.nl/v1", Token: "t"},
		{BaseURL: "ftp://api.mijnklantportaal.nl/v1", Token: "t"},
		{BaseURL: "https://api.mijnklantportaal.nl/v1", Token: ""},
		{BaseURL: "https://api.mijnklantportaal.nl/v1", Token: "  "},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		}
	}
	a, err := New(Config{BaseURL: "https://api.mijnklantportaal.nl/v1", Token: "t"})
	if err != nil || a.Name() != "mijnklantportaal" {
		t.Fatalf("%v %v", a, err)
	}
}

func TestConfigHidesToken(t *testing.T) {
	t.Parallel()
	cfg := Config{BaseURL: "https://api.mijnklantportaal.nl/v1", Token: "s3cret-token"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logged.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("token leaked: %s", s)
		}
		if !strings.Contains(s, "api.mijnklantportaal.nl") {
			t.Errorf("base URL missing: %s", s)
		}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("token leaked by the adapter: %s", s)
		}
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, _ := New(Config{BaseURL: "https://api.mijnklantportaal.nl/v1", Token: "t"})
	c := a.Capabilities()
	for _, op := range []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpList, paylink.OpClose} {
		if !c.Supports(op) {
			t.Errorf("%s not supported", op)
		}
	}
	if !c.Amounts || !c.ReusableLinks || c.OpenAmount || c.NativeIdempotency || !slices.Equal(c.Currencies, []string{"EUR"}) || len(c.Notes) == 0 {
		t.Errorf("capabilities %+v", c)
	}
	if _, ok := any(a).(paylink.OptionsDecoder); ok {
		t.Error("the adapter decodes options, but MijnKlantportaal takes none")
	}
}
