package mollie_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
)

// A user creates a 24.95 EUR link and an open-amount donation link at Mollie (here its sandbox),
// closes the first, and learns from the unified error that closing it twice does nothing.
func ExampleAdapter() {
	clock := sandbox.NewClock(time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(molliesandbox.New(sandbox.Config{Clock: clock, Seed: 1}).Handler())
	defer srv.Close()

	a, err := mollie.New(mollie.Config{BaseURL: srv.URL, APIKey: "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	amount, _ := paylink.ParseAmount("EUR", "24.95")
	link, err := a.Create(ctx, paylink.CreateInput{
		Amount: &amount, Description: "Bicycle tires", ExpiresAt: clock.Now().Add(7 * 24 * time.Hour),
		Options: mollie.Options{RedirectURL: "https://webshop.example.org/thanks", AllowedMethods: []string{"ideal", "creditcard"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link.Status, link.Amount, "expires:", link.ExpiresAt.Format(time.RFC3339))

	donation, err := a.Create(ctx, paylink.CreateInput{
		Description: "Donation", Reusable: true,
		Options: mollie.Options{MinimumAmount: &mollie.Money{Currency: "EUR", Value: "5.00"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(donation.Status, "amount:", donation.Amount, "reusable:", donation.Reusable)

	closed, err := a.Close(ctx, link.ProviderLinkID, paylink.CloseInput{})
	fmt.Println(closed.Status, closed.ProviderStatus, err)

	_, err = a.Close(ctx, link.ProviderLinkID, paylink.CloseInput{})
	fmt.Println(errors.Is(err, paylink.ErrAlreadyClosed))
	// Output:
	// active 24.95 EUR expires: 2024-01-22T12:00:00Z
	// active amount: <nil> reusable: true
	// closed archived <nil>
	// true
}
