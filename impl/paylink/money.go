package paylink

import (
	"fmt"
	"strings"

	"github.com/bojanz/currency"
)

// Amount is an exact amount of money: an integer of minor units and an ISO 4217 currency code.
// The number of decimals comes from ISO 4217 data (EUR 2, XOF and XAF 0); there are no floats.
type Amount struct {
	Currency string
	Minor    int64
}

// Digits returns the number of decimals of an ISO 4217 currency (2 for EUR, 0 for XOF).
func Digits(code string) (uint8, bool) {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return 0, false
	}
	return currency.GetDigits(code)
}

// ParseAmount parses a decimal string in major units ("12.95") for the currency. It refuses unknown
// currencies, malformed numbers and values with more decimals than the currency has, rather than
// rounding them.
func ParseAmount(code, value string) (Amount, error) {
	digits, ok := Digits(code)
	if !ok {
		return Amount{}, fmt.Errorf("%q is not an ISO 4217 currency code", code)
	}
	if !isPlainDecimal(value) {
		return Amount{}, fmt.Errorf("%q is not a decimal number like 12.95", value)
	}
	if i := strings.IndexByte(value, '.'); i >= 0 && len(value)-i-1 > int(digits) {
		if digits == 0 {
			return Amount{}, fmt.Errorf("%s has no decimals, %q has some", code, value)
		}
		return Amount{}, fmt.Errorf("%s allows at most %d decimals, %q has more", code, digits, value)
	}
	a, err := currency.NewAmount(value, code)
	if err != nil {
		return Amount{}, err
	}
	minor, err := a.Int64()
	if err != nil {
		return Amount{}, fmt.Errorf("%q is too large", value)
	}
	return Amount{Currency: code, Minor: minor}, nil
}

// isPlainDecimal accepts an optional minus sign, digits and an optional fraction: no exponents,
// no spaces, no "Inf" or "NaN", which the underlying decimal parser would otherwise accept.
func isPlainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || len(s) > 30 {
		return false
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}

// AmountFromMinor returns the amount of minor units in the currency, checking the code.
func AmountFromMinor(code string, minor int64) (Amount, error) {
	if _, ok := Digits(code); !ok {
		return Amount{}, fmt.Errorf("%q is not an ISO 4217 currency code", code)
	}
	return Amount{Currency: code, Minor: minor}, nil
}

// Value returns the amount in major units with exactly the currency's decimals ("12.95", "1000").
func (a Amount) Value() string {
	c, err := currency.NewAmountFromInt64(a.Minor, a.Currency)
	if err != nil {
		return fmt.Sprint(a.Minor)
	}
	return c.Number()
}

// String returns the value and the currency, as in "12.95 EUR".
func (a Amount) String() string { return a.Value() + " " + a.Currency }

// Format renders the amount the way people of the locale write it ("€12.95", "1 000 F CFA").
func (a Amount) Format(locale string) string {
	c, err := currency.NewAmountFromInt64(a.Minor, a.Currency)
	if err != nil {
		return a.String()
	}
	return currency.NewFormatter(currency.NewLocale(locale)).Format(c)
}
