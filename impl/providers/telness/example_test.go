package telness_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	tsandbox "github.com/paylinks/paylinks/impl/sandbox/telness"
)

// A link for an invoice, created and closed through the unified client against the sandbox.
// Telness links have no amount: the invoice decides what is paid.
func ExampleAdapter() {
	sb := tsandbox.New(sandbox.Config{Seed: 1, Clock: sandbox.NewClock(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	tn, _ := telness.New(telness.Config{BaseURL: srv.URL, APIKey: "sandbox-key"})
	links, _ := paylink.NewClient([]paylink.Provider{tn})
	ctx := context.Background()

	link, err := links.Create(ctx, paylink.CreateInput{
		Provider:    "telness",
		Description: "Invoice 2024-001",
		Reference:   "INV-2024-001",
		Options:     telness.Options{InvoiceID: "inv_2024_001"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(link.ID, link.Status, link.Amount == nil, link.Reference)

	closed, _ := links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(closed.Status)
	_, err = links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(errors.Is(err, paylink.ErrAlreadyClosed))
	// Output:
	// telness_ZjQyZTA2YTQtNjJhYS0wYzEzLWI5NWQtZDRjN2ExNTJmNzNi active true INV-2024-001
	// closed
	// true
}
