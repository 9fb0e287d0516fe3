package paylink_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
)

// A team takes EUR through MijnKlantportaal and XOF through Hub2: one Client creates links at
// both, lists them together newest first, and closes one by its paylinks id.
func ExampleClient() {
	providers, clock, stop := sandboxes()
	defer stop()
	client, err := paylink.NewClient(providers, paylink.WithClock(clock.Now))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	eur, _ := paylink.ParseAmount("EUR", "12.95")
	if _, err := client.Create(ctx, paylink.CreateInput{Provider: "mijnklantportaal", Amount: &eur, Description: "Membership 2024"}); err != nil {
		log.Fatal(err)
	}
	_ = clock.Advance(time.Minute) // the sandboxes' time; real providers keep their own
	xof, _ := paylink.ParseAmount("XOF", "5000")
	order, err := client.Create(ctx, paylink.CreateInput{Provider: "hub2", Amount: &xof, Reference: "ORDER-42", Description: "Order 42"})
	if err != nil {
		log.Fatal(err)
	}

	for link, err := range client.All(ctx, paylink.ListQuery{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(link.CreatedAt.Format(time.Kitchen), link.Provider, link.Amount, link.Status)
	}

	closed, err := client.Close(ctx, order.ID, paylink.CloseInput{})
	fmt.Println(closed.ID, closed.Status, err)
	// Output:
	// 9:01AM hub2 5000 XOF active
	// 9:00AM mijnklantportaal 12.95 EUR active
	// hub2_cGxfLWFvRTBzUTRjb1FRV1NIcHhQNVR6 closed <nil>
}

// Amounts are exact: minor units and the currency's own number of decimals, never a float.
func ExampleParseAmount() {
	a, err := paylink.ParseAmount("EUR", "12.9")
	fmt.Println(a.Minor, a.Value(), a.Format("en"), err)
	_, err = paylink.ParseAmount("XOF", "10.5") // the CFA franc has no decimals
	fmt.Println(err)
	// Output:
	// 1290 12.90 €12.90 <nil>
	// XOF has no decimals, "10.5" has some
}

// A paylinks id says which provider holds the link and under which of its ids, in characters safe
// in any URL.
func ExampleID() {
	id := paylink.NewID("hub2", "pl_z1urYtVFgEebtcj8fxp4v")
	provider, linkID, err := id.Parse()
	fmt.Println(id)
	fmt.Println(provider, linkID, err)
	// Output:
	// hub2_cGxfejF1cll0VkZnRWVidGNqOGZ4cDR2
	// hub2 pl_z1urYtVFgEebtcj8fxp4v <nil>
}

// sandboxes serves the MijnKlantportaal and Hub2 sandboxes over HTTP, as `paylinks serve` mounts
// them, and returns adapters calling them; with a fixed clock and seeds, every run is the same.
func sandboxes() (providers []paylink.Provider, clock *sandbox.Clock, stop func()) {
	clock = sandbox.NewClock(time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(sandbox.Handler("/sandbox",
		mkpsandbox.New(sandbox.Config{Clock: clock, Seed: 1}),
		hub2sandbox.New(sandbox.Config{Clock: clock, Seed: 1})))
	mkp, err := mijnklantportaal.New(mijnklantportaal.Config{BaseURL: srv.URL + "/sandbox/mijnklantportaal", Token: "sandbox-token"})
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub2.New(hub2.Config{BaseURL: srv.URL + "/sandbox/hub2", APIKey: "sandbox-key", MerchantID: "16", Environment: hub2.EnvironmentSandbox})
	if err != nil {
		log.Fatal(err)
	}
	return []paylink.Provider{mkp, h}, clock, srv.Close
}
