package paylink_test

import (
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
)

func TestStatusMap(t *testing.T) {
	t.Parallel()
	type providerStatus string
	m := paylink.StatusMap[providerStatus]{
		"OPEN": paylink.StatusActive, "PAID": paylink.StatusCompleted, "SETTLED": paylink.StatusCompleted,
	}
	for in, want := range map[providerStatus]paylink.Status{"OPEN": paylink.StatusActive, "PAID": paylink.StatusCompleted, "REFUNDED": paylink.StatusUnknown, "": paylink.StatusUnknown} {
		if got := m.Of(in); got != want {
			t.Errorf("Of(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[paylink.Status]providerStatus{paylink.StatusActive: "OPEN", paylink.StatusCompleted: "PAID"} {
		if got, ok := m.Provider(in); !ok || got != want {
			t.Errorf("Provider(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, s := range []paylink.Status{paylink.StatusExpired, paylink.StatusUnknown, ""} {
		if got, ok := m.Provider(s); ok {
			t.Errorf("Provider(%q) = %q, want none", s, got)
		}
	}
}
