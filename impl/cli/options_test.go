package cli

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 14, 12, 0, 0, 500, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"2030-05-14T21:00:00Z", time.Date(2030, 5, 14, 21, 0, 0, 0, time.UTC), ""},
		{"2030-05-14T23:00:00+02:00", time.Date(2030, 5, 14, 21, 0, 0, 0, time.UTC), ""},
		{"24h", time.Date(2030, 5, 15, 10, 0, 0, 0, time.UTC), ""},
		{"90m", time.Date(2030, 5, 14, 11, 30, 0, 0, time.UTC), ""},
		{"7d", time.Date(2030, 5, 21, 10, 0, 0, 0, time.UTC), ""},
		{"0s", time.Time{}, "in the future"},
		{"-2h", time.Time{}, "in the future"},
		{"2030-05-14", time.Time{}, "RFC 3339"},
		{"1.5d", time.Time{}, "RFC 3339"},
		{"soon", time.Time{}, "RFC 3339"},
	}
	for _, tt := range tests {
		got, err := parseExpiry(tt.in, now)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseExpiry(%q) error %v, want one about %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !got.Equal(tt.want) || got.Location() != time.UTC):
			t.Errorf("parseExpiry(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
		}
	}
}

func TestProviderOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		provider string
		options  keyValues
		want     string // JSON of providerOptions
		wantErr  string
	}{
		{"hub2", keyValues{"country": "CI"}, `{"hub2":{"country":"CI"}}`, ""},
		{"hub2", keyValues{"maximumPayments": "10", "operators": "orange, mtn", "paymentMethods": "mobile_money"},
			`{"hub2":{"maximumPayments":10,"operators":["orange","mtn"],"paymentMethods":["mobile_money"]}}`, ""},
		{"telness", keyValues{"orderId": "ord_1", "savePaymentProfile": "true"}, `{"telness":{"orderId":"ord_1","savePaymentProfile":true}}`, ""},
		{"telness", keyValues{"orderId": "42"}, `{"telness":{"orderId":"42"}}`, ""}, // a string stays a string
		{"hub2", keyValues{"maximumPayments": "1.5"}, "", "whole number"},
		{"telness", keyValues{"savePaymentProfile": "maybe"}, "", "true or false"},
		{"telness", keyValues{"country": "CI"}, "", `telness has no option "country"; it has cancelUrl, invoiceId, orderId`},
		{"mijnklantportaal", keyValues{"a": "b"}, "", "mijnklantportaal takes no provider options (providers with options: hub2, mollie, telness)"},
		{"mollie", keyValues{"minimumAmount": `{"currency":"EUR","value":"5.00"}`, "allowedMethods": "ideal"},
			`{"mollie":{"allowedMethods":["ideal"],"minimumAmount":{"currency":"EUR","value":"5.00"}}}`, ""},
		{"mollie", keyValues{"minimumAmount": "5.00"}, "", `give a JSON object such as {"currency":"EUR","value":"12.95"}`},
	}
	for _, tt := range tests {
		got, err := providerOptions(tt.provider, tt.options)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s %v: error %v, want one about %q", tt.provider, tt.options, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %v: %v", tt.provider, tt.options, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tt.want {
			t.Errorf("%s %v: %s, want %s", tt.provider, tt.options, b, tt.want)
		}
	}
}

func TestKeyValues(t *testing.T) {
	t.Parallel()
	kv := keyValues{}
	for _, s := range []string{"a=1", "b=x=y", "c="} {
		if err := kv.Set(s); err != nil {
			t.Errorf("Set(%q): %v", s, err)
		}
	}
	if got := kv.String(); got != "a=1,b=x=y,c=" {
		t.Errorf("String() = %q", got)
	}
	for _, s := range []string{"a=2", "novalue", "=v"} {
		if err := kv.Set(s); err == nil {
			t.Errorf("Set(%q) accepted", s)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	tests := []struct {
		args       []string
		positional string
		output     string
	}{
		{[]string{"ID"}, "ID", "table"},
		{[]string{"ID", "--output", "json"}, "ID", "json"},
		{[]string{"--output=json", "ID"}, "ID", "json"},
		{[]string{"--output", "json", "--", "--ID"}, "--ID", "json"},
	}
	for _, tt := range tests {
		cmd := c.linksGetCmd()
		c.clientFlags(cmd)
		g := &c.g
		err := cmd.ParseFlags(tt.args)
		got := cmd.Flags().Args()
		if err != nil || strings.Join(got, " ") != tt.positional || g.output != tt.output {
			t.Errorf("parse(%q) = %q, --output %s, %v; want %q, %s", tt.args, got, g.output, err, tt.positional, tt.output)
		}
	}
}
