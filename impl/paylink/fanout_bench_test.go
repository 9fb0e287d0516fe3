package paylink_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// slowProvider answers every list after a fixed delay, standing in for a provider's latency.
type slowProvider struct {
	name  string
	delay time.Duration
	links []paylink.Link
}

func (p slowProvider) Name() string { return p.name }
func (p slowProvider) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{Operations: []paylink.Operation{paylink.OpList}}
}
func (p slowProvider) Create(context.Context, paylink.CreateInput) (paylink.Link, error) {
	return paylink.Link{}, paylink.ErrUnsupported
}
func (p slowProvider) Get(context.Context, string) (paylink.Link, error) {
	return paylink.Link{}, paylink.ErrNotFound
}
func (p slowProvider) Close(context.Context, string, paylink.CloseInput) (paylink.Link, error) {
	return paylink.Link{}, paylink.ErrUnsupported
}
func (p slowProvider) List(ctx context.Context, _ paylink.PageQuery) (paylink.PageResult, error) {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return paylink.PageResult{}, ctx.Err()
	}
	return paylink.PageResult{Links: p.links}, nil
}

// BenchmarkListFanOut lists over providers that each take 2 ms: with the concurrent fan-out a page
// costs about one provider's delay whatever the number of providers (compare the sub-benchmarks).
func BenchmarkListFanOut(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			var ps []paylink.Provider
			for i := range n {
				p := slowProvider{name: fmt.Sprintf("p%d", i), delay: 2 * time.Millisecond}
				for j := range 20 {
					p.links = append(p.links, paylink.Link{ProviderLinkID: fmt.Sprint(j), CreatedAt: t0.Add(-time.Duration(j) * time.Minute), Status: paylink.StatusActive})
				}
				ps = append(ps, p)
			}
			c, err := paylink.NewClient(ps)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.List(context.Background(), paylink.ListQuery{Limit: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
