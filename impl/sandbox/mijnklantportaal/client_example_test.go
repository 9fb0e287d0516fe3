package mijnklantportaal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
)

// The generated typed client of a provider, used directly: here against the sandbox, in production
// against https://api.mijnklantportaal.nl/v1 with a real token.
func Example_typedClient() {
	sb := mijnklantportaal.New(sandbox.Config{Clock: sandbox.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)), Seed: 7})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	client, err := api.NewClientWithResponses(srv.URL, api.WithRequestEditorFn(
		func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer my-api-token")
			return nil
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	created, err := client.CreatePaymentLinkWithResponse(ctx, api.CreatePaymentLinkRequest{
		Description: "Contribution costs",
		Amount:      "12.95",
	})
	if err != nil {
		panic(err)
	}
	link := created.JSON201
	fmt.Println(created.StatusCode(), link.Status, link.Amount, link.Currency)

	page, _ := client.ListPaymentLinksWithResponse(ctx, &api.ListPaymentLinksParams{})
	fmt.Println(len(page.JSON200.Data), "link on page", page.JSON200.CurrentPage)

	closed, _ := client.ClosePaymentLinkWithResponse(ctx, link.Id)
	fmt.Println(closed.JSON200.Status, closed.JSON200.CheckoutUrl == nil)
	again, _ := client.ClosePaymentLinkWithResponse(ctx, link.Id)
	fmt.Println(again.StatusCode(), again.JSON422.Message)
	// Output:
	// 201 open 12.95 EUR
	// 1 link on page 1
	// closed true
	// 422 Payment Link is already closed
}
