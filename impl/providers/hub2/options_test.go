package hub2

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
)

func TestDecodeOptions(t *testing.T) {
	t.Parallel()
	a := &Adapter{}
	tests := []struct {
		name   string
		json   string
		want   Options
		field  string // of the violation, when decoding fails
		reason string // part of its reason
	}{
		{"every option", `{"country":"CI","customerPhoneNumber":"0707070707","maximumPayments":50,"paymentMethods":["mobile_money"],"operators":["Orange","MTN"],"successUrl":"https://s.example/ok","failureUrl":"https://s.example/ko"}`,
			Options{Country: "CI", CustomerPhoneNumber: "0707070707", MaximumPayments: 50, PaymentMethods: []string{"mobile_money"}, Operators: []string{"Orange", "MTN"}, SuccessURL: "https://s.example/ok", FailureURL: "https://s.example/ko"}, "", ""},
		{"empty object", `{}`, Options{}, "", ""},
		{"null", `null`, Options{}, "", ""},
		{"nothing", ``, Options{}, "", ""},
		{"unknown field", `{"country":"CI","providers":["Orange"]}`, Options{}, "/providerOptions/hub2/providers", "unknown option"},
		{"wrong type", `{"maximumPayments":"50"}`, Options{}, "/providerOptions/hub2/maximumPayments", "integer"},
		{"wrong element type", `{"operators":[1]}`, Options{}, "/providerOptions/hub2/operators", "string"},
		{"fraction", `{"maximumPayments":1.5}`, Options{}, "/providerOptions/hub2/maximumPayments", "integer"},
		{"not an object", `["CI"]`, Options{}, "/providerOptions/hub2", "object"},
		{"two objects", `{} {}`, Options{}, "/providerOptions/hub2", "one JSON object"},
		{"broken JSON", `{"country":`, Options{}, "/providerOptions/hub2", "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := a.DecodeOptions(json.RawMessage(tt.json))
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %#v, want %#v", got, tt.want)
				}
				return
			}
			var ve *paylink.ValidationError
			if !errors.As(err, &ve) || len(ve.Violations) != 1 {
				t.Fatalf("err = %v, want one violation", err)
			}
			if v := ve.Violations[0]; v.Field != tt.field || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("violation %+v, want field %s and a reason with %q", v, tt.field, tt.reason)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     Options
		reusable bool
		fields   []string
	}{
		{"none", Options{}, false, nil},
		{"all valid, reusable", Options{Country: "SN", CustomerPhoneNumber: "+221771234567", MaximumPayments: 10, PaymentMethods: []string{"mobile_money"}, Operators: []string{"Wave"}, SuccessURL: "http://localhost:8080/ok"}, true, nil},
		{"country lower case", Options{Country: "ci"}, false, []string{"/providerOptions/hub2/country"}},
		{"country alpha-3", Options{Country: "CIV"}, false, []string{"/providerOptions/hub2/country"}},
		{"phone too short", Options{CustomerPhoneNumber: "070"}, false, []string{"/providerOptions/hub2/customerPhoneNumber"}},
		{"phone with letters", Options{CustomerPhoneNumber: "07O7070707"}, false, []string{"/providerOptions/hub2/customerPhoneNumber"}},
		{"phone too long", Options{CustomerPhoneNumber: "+2250707070707070707070"}, false, []string{"/providerOptions/hub2/customerPhoneNumber"}},
		{"maximumPayments on single use", Options{MaximumPayments: 1}, false, []string{"/providerOptions/hub2/maximumPayments"}},
		{"negative maximumPayments", Options{MaximumPayments: -1}, true, []string{"/providerOptions/hub2/maximumPayments"}},
		{"empty method and operator", Options{PaymentMethods: []string{"mobile_money", ""}, Operators: []string{" "}}, false, []string{"/providerOptions/hub2/operators/0", "/providerOptions/hub2/paymentMethods/1"}},
		{"relative and scheme-less URLs", Options{SuccessURL: "/ok", FailureURL: "pay.hub2.io/failure"}, false, []string{"/providerOptions/hub2/failureUrl", "/providerOptions/hub2/successUrl"}},
		{"non-http URL", Options{SuccessURL: "javascript:alert(1)"}, false, []string{"/providerOptions/hub2/successUrl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate(tt.reusable)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
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
				if v.Reason == "" {
					t.Errorf("violation %s without a reason", v.Field)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields %v, want %v", fields, tt.fields)
			}
		})
	}
}
