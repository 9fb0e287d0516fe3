package paylink_test

import (
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
)

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := paylink.ParseAmount("EUR", "12.95"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAmountValue(b *testing.B) {
	a := paylink.Amount{Currency: "EUR", Minor: 1295}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Value()
	}
}
