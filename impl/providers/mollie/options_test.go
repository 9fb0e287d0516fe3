package mollie_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mollie"
)

func TestDecodeOptions(t *testing.T) {
	t.Parallel()
	a, err := mollie.New(mollie.Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.DecodeOptions(json.RawMessage(`{"redirectUrl":"https://shop.example/thanks","allowedMethods":["ideal"],"minimumAmount":{"currency":"EUR","value":"5.00"},"sequenceType":"first","customerId":"cst_1"}`))
	want := mollie.Options{RedirectURL: "https://shop.example/thanks", AllowedMethods: []string{"ideal"}, MinimumAmount: &mollie.Money{Currency: "EUR", Value: "5.00"}, SequenceType: "first", CustomerID: "cst_1"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%+v %v", got, err)
	}
	if got, err := a.DecodeOptions(nil); err != nil || !reflect.DeepEqual(got, mollie.Options{}) {
		t.Errorf("empty: %+v %v", got, err)
	}
	for _, tt := range []struct{ json, field string }{
		{`{"redirect_url":"https://x"}`, "/providerOptions/mollie/redirect_url"},
		{`{"allowedMethods":"ideal"}`, "/providerOptions/mollie/allowedMethods"},
		{`{"minimumAmount":{"currency":"EUR","value":5}}`, "/providerOptions/mollie/minimumAmount/value"},
		{`[]`, "/providerOptions/mollie"},
		{`{} {}`, "/providerOptions/mollie"},
		{`{"webhookUrl":`, "/providerOptions/mollie"},
	} {
		_, err := a.DecodeOptions(json.RawMessage(tt.json))
		var ve *paylink.ValidationError
		if !errors.As(err, &ve) || ve.Violations[0].Field != tt.field || ve.Violations[0].Reason == "" {
			t.Errorf("%s: %v, want a violation of %s", tt.json, err, tt.field)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	open := mollie.Options{MinimumAmount: &mollie.Money{Currency: "JPY", Value: "500"}, WebhookURL: "https://shop.example/hook"}
	if err := open.Validate(false); err != nil {
		t.Errorf("open amount with a minimum: %v", err)
	}
	if err := open.Validate(true); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Errorf("minimum next to an amount: %v", err)
	}
	if err := (mollie.Options{MinimumAmount: &mollie.Money{Currency: "JPY", Value: "500.00"}}).Validate(false); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Errorf("yen with decimals: %v", err)
	}
}
