package paylink_test

import (
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		currency, value string
		minor           int64
		canonical       string // Value() of the parsed amount
	}{
		{"EUR", "12.95", 1295, "12.95"},
		{"EUR", "0.01", 1, "0.01"},
		{"EUR", "12.9", 1290, "12.90"},
		{"EUR", "12", 1200, "12.00"},
		{"EUR", "0012.95", 1295, "12.95"},
		{"EUR", "92233720368547758.07", 1<<63 - 1, "92233720368547758.07"}, // the largest int64 of cents
		// Negative amounts parse: refusing them is the Client's job, with a field violation.
		{"EUR", "-1.00", -100, "-1.00"},
		{"XOF", "1000", 1000, "1000"},
		{"XAF", "2500", 2500, "2500"},
		{"JPY", "500", 500, "500"},
		{"KWD", "1.234", 1234, "1.234"},
		{"KWD", "1", 1000, "1.000"},
		{"BHD", "0.5", 500, "0.500"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+" "+tt.value, func(t *testing.T) {
			t.Parallel()
			a, err := paylink.ParseAmount(tt.currency, tt.value)
			if err != nil {
				t.Fatalf("ParseAmount(%q, %q): %v", tt.currency, tt.value, err)
			}
			want := paylink.Amount{Currency: tt.currency, Minor: tt.minor}
			if a != want {
				t.Errorf("ParseAmount(%q, %q) = %+v, want %+v", tt.currency, tt.value, a, want)
			}
			if got := a.Value(); got != tt.canonical {
				t.Errorf("Value() = %q, want %q", got, tt.canonical)
			}
			if got, want := a.String(), tt.canonical+" "+tt.currency; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			// The canonical value parses back to the same amount.
			if again, err := paylink.ParseAmount(tt.currency, a.Value()); err != nil || again != a {
				t.Errorf("ParseAmount(%q, Value()) = %+v, %v; want %+v", tt.currency, again, err, a)
			}
		})
	}
}

func TestParseAmountRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, currency, value string
	}{
		{"more decimals than EUR has", "EUR", "12.999"},
		{"decimals in a currency without", "XOF", "10.5"},
		{"decimals in XAF", "XAF", "1.0"},
		{"decimals in JPY", "JPY", "1.5"},
		{"four decimals in KWD", "KWD", "1.2345"},
		{"exponent", "EUR", "1e3"},
		{"leading space", "EUR", " 12"},
		{"trailing space", "EUR", "12 "},
		{"trailing dot", "EUR", "12."},
		{"leading dot", "EUR", ".5"},
		{"plus sign", "EUR", "+1"},
		{"double minus", "EUR", "--1"},
		{"NaN", "EUR", "NaN"},
		{"Inf", "EUR", "Inf"},
		{"empty", "EUR", ""},
		{"decimal comma", "EUR", "1,00"},
		{"thousands separator", "EUR", "1,000.00"},
		{"hex", "EUR", "0x10"},
		{"unknown currency", "XXY", "1.00"},
		{"lower-case currency", "eur", "1.00"},
		{"empty currency", "", "1.00"},
		{"overflow", "EUR", "99999999999999999999"},
		{"overflow by one cent", "EUR", "92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a, err := paylink.ParseAmount(tt.currency, tt.value); err == nil {
				t.Errorf("ParseAmount(%q, %q) = %+v, want an error", tt.currency, tt.value, a)
			}
		})
	}
}

func TestAmountFromMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		currency string
		minor    int64
		value    string
	}{
		{"EUR", 1295, "12.95"},
		{"EUR", 1, "0.01"},
		{"EUR", 0, "0.00"},
		{"XOF", 1000, "1000"},
		{"XAF", 25, "25"},
		{"JPY", 500, "500"},
		{"KWD", 1234, "1.234"},
		{"BHD", 5, "0.005"},
	}
	for _, tt := range tests {
		a, err := paylink.AmountFromMinor(tt.currency, tt.minor)
		if err != nil {
			t.Errorf("AmountFromMinor(%q, %d): %v", tt.currency, tt.minor, err)
			continue
		}
		if got := a.Value(); got != tt.value {
			t.Errorf("AmountFromMinor(%q, %d).Value() = %q, want %q", tt.currency, tt.minor, got, tt.value)
		}
	}
	for _, code := range []string{"XXY", "eur", "EURO", ""} {
		if _, err := paylink.AmountFromMinor(code, 100); err == nil {
			t.Errorf("AmountFromMinor(%q, 100) succeeded, want an error", code)
		}
	}
}

func TestDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		digits uint8
		ok     bool
	}{
		{"EUR", 2, true},
		{"XOF", 0, true},
		{"XAF", 0, true},
		{"JPY", 0, true},
		{"KWD", 3, true},
		{"BHD", 3, true},
		{"XXY", 0, false},
		{"eur", 0, false},
		{"Eur", 0, false},
		{"EU", 0, false},
	}
	for _, tt := range tests {
		d, ok := paylink.Digits(tt.code)
		if d != tt.digits || ok != tt.ok {
			t.Errorf("Digits(%q) = %d, %t; want %d, %t", tt.code, d, ok, tt.digits, tt.ok)
		}
	}
}

func TestAmountFormat(t *testing.T) {
	t.Parallel()
	// CLDR separates with no-break spaces: U+00A0 between number and symbol, U+202F (narrow)
	// between thousands in French and inside "F CFA".
	tests := []struct {
		currency, value string
		en, fr          string
	}{
		{"EUR", "12.95", "€12.95", "12,95\u00a0€"},
		{"EUR", "1234.5", "€1,234.50", "1\u202f234,50\u00a0€"},
		{"EUR", "-1.00", "-€1.00", "-1,00\u00a0€"},
		{"XOF", "1000", "F\u202fCFA\u00a01,000", "1\u202f000\u00a0F\u202fCFA"},
		{"XAF", "2500", "FCFA\u00a02,500", "2\u202f500\u00a0FCFA"},
		{"JPY", "500", "¥500", "500\u00a0¥"},
		{"KWD", "1.234", "KWD\u00a01.234", "1,234\u00a0KWD"},
	}
	for _, tt := range tests {
		a, err := paylink.ParseAmount(tt.currency, tt.value)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Format("en"); got != tt.en {
			t.Errorf("%v Format(en) = %q, want %q", a, got, tt.en)
		}
		if got := a.Format("fr"); got != tt.fr {
			t.Errorf("%v Format(fr) = %q, want %q", a, got, tt.fr)
		}
	}
}
