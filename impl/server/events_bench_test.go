package server

import (
	"context"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// BenchmarkPayToReceipt measures how long a payment takes to reach the merchant's endpoint as a
// verified payment_link.completed: from the payment at the provider's sandbox to the receiver's
// request. The poll cases drop the sandbox's webhooks and poll at their schedule; the webhook
// cases poll hourly, so the sandbox's webhook (called in process, verified, kept in the inbox,
// confirmed by a GET) is what finds the payment. It reports the 50th and 99th percentiles (ms)
// over b.N payments made one after another.
func BenchmarkPayToReceipt(b *testing.B) {
	for _, bc := range []struct {
		name, provider, schedule string
		webhooks                 bool
	}{
		{"poll=10ms", "hub2", "10ms", false},
		{"poll=100ms", "hub2", "100ms", false},
		{"webhook/hub2", "hub2", "1h", true},
		{"webhook/mijnklantportaal", "mijnklantportaal", "1h", true},
		{"webhook/mollie", "mollie", "1h", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv, err := New(Config{Addr: ln.Addr().String(), Logger: NewLogger(io.Discard, 8),
				Events: EventsConfig{PollSchedule: bc.schedule, RetrySchedule: "0s,10ms"}})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			b.Cleanup(func() { cancel(); <-done })
			ts := &testServer{Server: srv, URL: "http://" + ln.Addr().String()}
			c := ts.client(b, DemoAPIKey)
			rcv := eventstest.NewReceiver(b)
			ep, err := c.CreateWebhookEndpointWithResponse(ctx, api.CreateWebhookEndpointRequest{Url: rcv.URL(),
				EventTypes: &[]api.EventType{api.EventTypePaymentLinkCompleted}})
			if err != nil || ep.JSON201 == nil {
				b.Fatal(err)
			}
			rcv.SetSecrets(ep.JSON201.Secret)
			sim, _ := srv.Simulator(bc.provider)
			if !bc.webhooks {
				if err := sim.(sandbox.Notifier).Webhooks().Set(sandbox.Switches{Mode: sandbox.Drop}); err != nil {
					b.Fatal(err)
				}
			}

			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				res, err := c.CreatePaymentLinkWithResponse(ctx, nil, sampleCreate(bc.provider))
				if err != nil || res.JSON201 == nil {
					b.Fatal(err)
				}
				b.StartTimer()
				paid := time.Now()
				if err := sim.Pay(res.JSON201.ProviderLinkId); err != nil {
					b.Fatal(err)
				}
				got := rcv.Wait(i+1, 30*time.Second)
				if !got[i].VerifyOK {
					b.Fatal("delivery does not verify")
				}
				lat = append(lat, got[i].At.Sub(paid))
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
