package paylink

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// paged is a provider listing fixed links in pages of per, newest first, with page numbers.
type paged struct {
	name  string
	links []Link
	per   int
}

func (p *paged) Name() string               { return p.name }
func (p *paged) Capabilities() Capabilities { return Capabilities{Operations: []Operation{OpList}} }
func (p *paged) Create(context.Context, CreateInput) (Link, error) {
	return Link{}, Unsupported(p.name, "", "test")
}
func (p *paged) Get(context.Context, string) (Link, error) { return Link{}, ErrNotFound }
func (p *paged) Close(context.Context, string, CloseInput) (Link, error) {
	return Link{}, ErrNotFound
}
func (p *paged) List(_ context.Context, q PageQuery) (PageResult, error) {
	n, _ := strconv.Atoi(q.Page)
	start, end := min(n*p.per, len(p.links)), min((n+1)*p.per, len(p.links))
	res := PageResult{Links: p.links[start:end]}
	if end < len(p.links) {
		res.Next = strconv.Itoa(n + 1)
	}
	return res, nil
}

// TestListTiesOfSeveralProviders gives two providers each more links of one instant than a List
// call reads, between links of other instants: every link is listed once, newest first, and the
// instant's links come provider by provider.
func TestListTiesOfSeveralProviders(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var providers []Provider
	total := 0
	for _, name := range []string{"a", "b", "c"} {
		p := &paged{name: name, per: 15}
		for i := range 5 {
			p.links = append(p.links, Link{ProviderLinkID: fmt.Sprint("new", i), CreatedAt: t0.Add(time.Duration(10-i) * time.Second)})
		}
		if name != "b" { // b has a few of the instant, a and c many
			for i := range 700 {
				p.links = append(p.links, Link{ProviderLinkID: fmt.Sprint("t", 10000-i), CreatedAt: t0})
			}
		} else {
			for i := range 9 {
				p.links = append(p.links, Link{ProviderLinkID: fmt.Sprint("t", i), CreatedAt: t0})
			}
		}
		for i := range 5 {
			p.links = append(p.links, Link{ProviderLinkID: fmt.Sprint("old", i), CreatedAt: t0.Add(-time.Duration(i+1) * time.Second)})
		}
		total += len(p.links)
		providers = append(providers, p)
	}
	c, err := NewClient(providers)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 7, 100} {
		q := ListQuery{Limit: limit}
		seen := map[ID]bool{}
		var last Link
		for calls := 0; ; calls++ {
			if calls > 2*total {
				t.Fatalf("limit %d: the list does not end", limit)
			}
			p, err := c.List(context.Background(), q)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			for _, l := range p.Links {
				if seen[l.ID] {
					t.Errorf("limit %d: %s listed twice", limit, l.ID)
				}
				if l.CreatedAt.After(last.CreatedAt) && last.ID != "" {
					t.Errorf("limit %d: %s (%s) after %s (%s)", limit, l.ID, l.CreatedAt, last.ID, last.CreatedAt)
				}
				seen[l.ID], last = true, l
			}
			if p.NextCursor == "" {
				break
			}
			q.Cursor = p.NextCursor
		}
		if len(seen) != total {
			t.Errorf("limit %d: listed %d links, want %d", limit, len(seen), total)
		}
	}
}
