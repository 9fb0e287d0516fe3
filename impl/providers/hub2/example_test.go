package hub2_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	hub2 "github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
)

// A user creates a 1000 XOF link at Hub2 (here the sandbox) through the unified client, closes it,
// and learns from the unified error that closing it twice does nothing.
func ExampleAdapter() {
	clock := sandbox.NewClock(time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(hub2sandbox.New(sandbox.Config{Clock: clock, Seed: 1}).Handler())
	defer srv.Close()

	a, err := hub2.New(hub2.Config{BaseURL: srv.URL, APIKey: "sk_sandbox", MerchantID: "16", Environment: "sandbox"})
	if err != nil {
		log.Fatal(err)
	}
	links, _ := paylink.NewClient([]paylink.Provider{a}, paylink.WithClock(clock.Now))
	ctx := context.Background()
	amount, _ := paylink.ParseAmount("XOF", "1000")
	link, err := links.Create(ctx, paylink.CreateInput{
		Provider: hub2.Name, Amount: &amount, Reference: "ORDER-12345", Description: "Order 12345",
		Options: hub2.Options{Country: "CI", Operators: []string{"Orange", "MTN"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link.Status, link.Amount, "minor:", link.Amount.Minor, "expires:", link.ExpiresAt.Format(time.RFC3339))

	closed, err := links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(closed.Status, err)

	_, err = links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(errors.Is(err, paylink.ErrAlreadyClosed))
	// Output:
	// active 1000 XOF minor: 1000 expires: 2024-01-15T12:15:00Z
	// closed <nil>
	// true
}
