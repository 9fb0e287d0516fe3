package mijnklantportaal_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
)

// A link is created and closed at MijnKlantportaal, through the unified client as every adapter is
// used; the sandbox stands in for https://api.mijnklantportaal.nl/v1.
func ExampleAdapter() {
	clock := sandbox.NewClock(time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sandbox.Handler("/sandbox", mkpsandbox.New(sandbox.Config{Clock: clock})))
	defer srv.Close()

	mkp, err := mijnklantportaal.New(mijnklantportaal.Config{BaseURL: srv.URL + "/sandbox/mijnklantportaal", Token: "my-api-key"})
	if err != nil {
		log.Fatal(err)
	}
	links, _ := paylink.NewClient([]paylink.Provider{mkp}, paylink.WithClock(clock.Now))
	ctx := context.Background()
	amount, _ := paylink.ParseAmount("EUR", "12.95")
	link, err := links.Create(ctx, paylink.CreateInput{Provider: mijnklantportaal.Name, Amount: &amount, Description: "Contribution costs",
		ExpiresAt: time.Date(2024, 5, 14, 22, 0, 0, 0, time.UTC)}) // midnight in Amsterdam
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link.Status, link.Amount, link.ExpiresAt)

	closed, err := links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(closed.Status, closed.URL == "", err)
	_, err = links.Close(ctx, link.ID, paylink.CloseInput{})
	fmt.Println(errors.Is(err, paylink.ErrAlreadyClosed))
	// Output:
	// active 12.95 EUR 2024-05-14 22:00:00 +0000 UTC
	// closed true <nil>
	// true
}

// The unified client routes by paylinks id and checks what the provider cannot take.
func ExampleAdapter_client() {
	srv := httptest.NewServer(sandbox.Handler("/sandbox", mkpsandbox.New(sandbox.Config{})))
	defer srv.Close()
	mkp, _ := mijnklantportaal.New(mijnklantportaal.Config{BaseURL: srv.URL + "/sandbox/mijnklantportaal", Token: "my-api-key"})
	client, _ := paylink.NewClient([]paylink.Provider{mkp})
	ctx := context.Background()

	amount, _ := paylink.ParseAmount("EUR", "25.00")
	link, _ := client.Create(ctx, paylink.CreateInput{Provider: "mijnklantportaal", Amount: &amount, Description: "Membership fee", Reusable: true})
	got, _ := client.Get(ctx, link.ID)
	fmt.Println(got.Provider, got.Status, got.Reusable, got.Amount.Value())

	xof, _ := paylink.ParseAmount("XOF", "1000")
	_, err := client.Create(ctx, paylink.CreateInput{Provider: "mijnklantportaal", Amount: &xof, Description: "x"})
	fmt.Println(errors.Is(err, paylink.ErrInvalidInput))
	// Output:
	// mijnklantportaal active true 25.00
	// true
}
