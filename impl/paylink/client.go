package paylink

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"
)

// Client is the unified API over several providers: it routes by id, validates what every provider
// has in common, and merges lists newest first behind one cursor. It is safe for concurrent use once
// the providers are registered.
type Client struct {
	providers map[string]Provider
	order     []string
	cursors   *cursorCodec
	now       func() time.Time
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithCursorKey sets the key that signs list cursors. Instances behind one load balancer need the
// same key; without one, a random key is made and cursors do not survive a restart.
func WithCursorKey(key []byte) ClientOption {
	return func(c *Client) { c.cursors = newCursorCodec(key) }
}

// WithClock sets the clock used to refuse expiry times in the past.
func WithClock(now func() time.Time) ClientOption {
	return func(c *Client) { c.now = now }
}

// NewClient returns a Client over the providers, in the order given.
func NewClient(providers []Provider, opts ...ClientOption) (*Client, error) {
	c := &Client{providers: map[string]Provider{}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.cursors == nil {
		c.cursors = newCursorCodec(nil)
	}
	for _, p := range providers {
		name := p.Name()
		if _, dup := c.providers[name]; dup {
			return nil, fmt.Errorf("provider %q registered twice", name)
		}
		c.providers[name] = p
		c.order = append(c.order, name)
	}
	return c, nil
}

// Providers returns the registered providers in registration order.
func (c *Client) Providers() []Provider {
	out := make([]Provider, len(c.order))
	for i, n := range c.order {
		out[i] = c.providers[n]
	}
	return out
}

// Provider returns the registered provider of that name.
func (c *Client) Provider(name string) (Provider, bool) {
	p, ok := c.providers[name]
	return p, ok
}

func (c *Client) provider(field, name string) (Provider, error) {
	if p, ok := c.providers[name]; ok {
		return p, nil
	}
	return nil, Invalid(field, fmt.Sprintf("unknown provider %q (configured: %v)", name, c.order))
}

// Create creates a link at in.Provider.
func (c *Client) Create(ctx context.Context, in CreateInput) (Link, error) {
	p, err := c.provider("/provider", in.Provider)
	if err != nil {
		return Link{}, err
	}
	if err := supports(p, OpCreate, "", "links cannot be created through paylinks"); err != nil {
		return Link{}, err
	}
	if err := c.checkCreate(p, in); err != nil {
		return Link{}, err
	}
	l, err := p.Create(ctx, in)
	if err != nil {
		return Link{}, classify(p, err)
	}
	return qualify(p, "", l)
}

// checkCreate refuses what no provider call should be made for: everything Capabilities can
// express (an amount the provider needs or has no place for, a currency it does not take, an
// amount that is not positive, reuse) and expiries in the past. It is the only place these are
// checked; adapters check only what only they know.
func (c *Client) checkCreate(p Provider, in CreateInput) error {
	caps := p.Capabilities()
	var v []Violation
	switch {
	case in.Amount == nil && caps.Amounts && !caps.OpenAmount:
		v = append(v, Violation{"/amount", "required by " + p.Name()})
	case in.Amount != nil && !caps.Amounts:
		return Unsupported(p.Name(), "/amount", "links carry no amount at this provider (it comes from the order or invoice)")
	case in.Amount != nil:
		if len(caps.Currencies) > 0 && !slices.Contains(caps.Currencies, in.Amount.Currency) {
			v = append(v, Violation{"/amount/currency", fmt.Sprintf("%s does not take %s (takes %v)", p.Name(), in.Amount.Currency, caps.Currencies)})
		}
		if in.Amount.Minor <= 0 {
			v = append(v, Violation{"/amount/value", "must be greater than zero"})
		}
	}
	if in.Reusable && !caps.ReusableLinks {
		return Unsupported(p.Name(), "/reusable", "this provider has no reusable links")
	}
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(c.now()) {
		v = append(v, Violation{"/expiresAt", "must be in the future"})
	}
	if len(v) > 0 {
		return &ValidationError{Violations: v}
	}
	return nil
}

func (c *Client) route(id ID) (Provider, string, error) {
	name, linkID, err := id.Parse()
	if err != nil {
		return nil, "", err
	}
	p, ok := c.providers[name]
	if !ok {
		return nil, "", fmt.Errorf("%w: no provider %q is configured", ErrNotFound, name)
	}
	if err := CheckLinkID(linkID); err != nil {
		// Refused before any provider call: the id was made up, not issued by this server.
		return nil, "", Invalid("path.id", fmt.Sprintf("%s is not a link id of %s: %v", id, name, err))
	}
	return p, linkID, nil
}

// Get returns the link as its provider reports it now.
func (c *Client) Get(ctx context.Context, id ID) (Link, error) {
	p, linkID, err := c.route(id)
	if err != nil {
		return Link{}, err
	}
	if err := supports(p, OpGet, "", "links cannot be read"); err != nil {
		return Link{}, err
	}
	l, err := p.Get(ctx, linkID)
	if err != nil {
		return Link{}, classify(p, err)
	}
	return qualify(p, linkID, l)
}

// Close closes the link. A link that is already closed gives ErrAlreadyClosed; a completed or
// expired one ErrNotClosable. A close the provider answers with success is verified: the link it
// returns, or else the link read again, must be closed; otherwise the error is ErrNotHonoured.
//
// A close that fails with ErrProviderTimeout or ErrProviderUnavailable may have closed the link
// all the same: Get it before trying again (closing it again is harmless: ErrAlreadyClosed).
func (c *Client) Close(ctx context.Context, id ID, in CloseInput) (Link, error) {
	p, linkID, err := c.route(id)
	if err != nil {
		return Link{}, err
	}
	if err := supports(p, OpClose, "", "links cannot be closed"); err != nil {
		return Link{}, err
	}
	l, err := p.Close(ctx, linkID, in)
	if err != nil {
		return Link{}, classify(p, explainRefusal(ctx, p, linkID, err))
	}
	if _, err := qualify(p, linkID, l); err != nil {
		return Link{}, err // not even the link asked for: whether it closed is unknown
	}
	if l, err = confirmClosed(ctx, p, linkID, l); err != nil {
		return Link{}, classify(p, err)
	}
	return qualify(p, linkID, l)
}

// supports refuses an operation the provider's capabilities leave out, before any call.
func supports(p Provider, op Operation, field, reason string) error {
	if p.Capabilities().Supports(op) {
		return nil
	}
	return Unsupported(p.Name(), field, reason)
}

// qualify turns a link of the provider into a paylinks link. A link without the provider's id, or
// another link than the one asked for (linkID, when not empty), breaks the contract of the
// provider: its id is what every later call needs.
func qualify(p Provider, linkID string, l Link) (Link, error) {
	switch {
	case l.ProviderLinkID == "":
		return Link{}, &ProviderError{Provider: p.Name(), Kind: ErrContractViolation, Message: "answered with a payment link without its id"}
	case linkID != "" && l.ProviderLinkID != linkID:
		return Link{}, &ProviderError{Provider: p.Name(), Kind: ErrContractViolation, Message: fmt.Sprintf("answered with payment link %q when asked for %q", l.ProviderLinkID, linkID)}
	}
	l.Provider = p.Name()
	l.ID = NewID(p.Name(), l.ProviderLinkID)
	return l, nil
}

// ListQuery selects links for List. Limit defaults to 20 and is capped at 100.
type ListQuery struct {
	Provider string
	Status   Status
	Limit    int
	Cursor   string
}

// ListPage is one page of the merged list; NextCursor is empty on the last page.
type ListPage struct {
	Links      []Link
	NextCursor string
}

// maxProviderPages bounds how many provider pages one List call reads from each provider (twice
// that when it also lists a tie, see cursor.Tie). A call that reaches it returns what it is sure
// of, maybe fewer links than asked for, or none, with a cursor to go on from.
const maxProviderPages = 25

// List returns one page of links of all providers (or q.Provider), newest first. Providers that
// cannot list are skipped unless named, when the error is ErrUnsupported. Links are read from the
// providers concurrently, so a page costs about the slowest provider.
//
// A page holds at most q.Limit links, and fewer (even none) when a provider had more pages to read
// than one call reads (a filter that few of its links match, or a burst of links made in the same
// instant): NextCursor then says where to go on. Links made in the same instant come by id; a
// group of them too large to read in one call comes provider by provider, each provider's in its
// own order.
func (c *Client) List(ctx context.Context, q ListQuery) (ListPage, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 100)
	if q.Status != "" && !q.Status.Valid() {
		return ListPage{}, Invalid("query.status", fmt.Sprintf("%q is not a status", q.Status))
	}
	var names []string
	if q.Provider != "" {
		p, err := c.provider("query.provider", q.Provider)
		if err != nil {
			return ListPage{}, err
		}
		if err := supports(p, OpList, "query.provider", "this provider documents no list endpoint; get links by id"); err != nil {
			return ListPage{}, err
		}
		names = []string{q.Provider}
	} else {
		for _, n := range c.order {
			if c.providers[n].Capabilities().Supports(OpList) {
				names = append(names, n)
			}
		}
	}
	cur := cursor{Provider: q.Provider, Status: q.Status}
	if q.Cursor != "" {
		var err error
		if cur, err = c.cursors.decode(q.Cursor); err != nil {
			return ListPage{}, Invalid("query.cursor", err.Error())
		}
		if cur.Provider != q.Provider || cur.Status != q.Status {
			return ListPage{}, Invalid("query.cursor", "was made for other provider or status filters; repeat the filters of the first page")
		}
		if cur.Tie != nil && !slices.Contains(names, cur.Tie.Provider) {
			return ListPage{}, Invalid("query.cursor", "names a provider this server does not list; start again without a cursor")
		}
	}
	if cur.Tie != nil {
		return c.listTie(ctx, q, names, cur, nil)
	}

	results := make([]providerPages, len(names))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first provider to fail decides the error: the others' calls are then cancelled, and their
	// context.Canceled says nothing about them.
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i, n := range names {
		wg.Go(func() {
			results[i] = c.collect(ctx, c.providers[n], cur, q.Limit+1)
			if err := results[i].err; err != nil {
				errOnce.Do(func() { firstErr = err })
				cancel()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return ListPage{}, firstErr
	}

	var all []candidate
	for _, r := range results {
		all = append(all, r.links...)
	}
	slices.SortFunc(all, func(a, b candidate) int { return newerFirst(a.link, b.link) })

	// A provider whose reading was cut short may still hold links as new as the oldest it read
	// (its frontier), and older: only links newer than every such frontier are sure to be in order.
	var frontier time.Time
	cut := false
	for _, r := range results {
		if r.cut && (!cut || r.oldest.After(frontier)) {
			frontier, cut = r.oldest, true
		}
	}
	sure := len(all)
	if cut {
		sure = 0
		for sure < len(all) && all[sure].link.CreatedAt.After(frontier) {
			sure++
		}
	}

	page := ListPage{}
	more := cut || len(all) > q.Limit // sure ≤ len(all)
	emit := all[:min(sure, q.Limit)]
	included := make(map[ID]bool, len(emit))
	for _, cand := range emit {
		page.Links = append(page.Links, cand.link)
		included[cand.link.ID] = true
	}
	if !more {
		return page, nil
	}
	next := cursor{Provider: q.Provider, Status: q.Status, Pages: map[string]string{}}
	for i, n := range names {
		next.Pages[n] = results[i].resume(included)
	}
	switch {
	case !cut || sure > q.Limit:
		last := emit[len(emit)-1].link
		next.CreatedAt, next.ID = last.CreatedAt.UnixNano(), string(last.ID)
	case len(emit) > 0:
		// Everything newer than the frontier is listed (the providers not cut short hold all of
		// theirs: they would have filled the page otherwise): go on from the frontier's instant.
		next.CreatedAt, next.ID = frontier.UnixNano(), firstOfInstant
	default:
		// Nothing newer than the frontier to list: its instant is next. List that instant's links
		// provider by provider, which needs no more reading than one provider's of them.
		if !cur.atOrBefore(frontier) {
			next.CreatedAt, next.ID = frontier.UnixNano(), firstOfInstant
		} else {
			next.CreatedAt, next.ID = cur.CreatedAt, cur.ID
		}
		next.Tie = &tie{At: frontier.UnixNano(), Provider: names[0]}
		return c.listTie(ctx, q, names, next, nil)
	}
	page.NextCursor = c.cursors.encode(next)
	return page, nil
}

// listTie lists the links made in the instant cur.Tie.At, after those already listed (out),
// provider by provider in registration order from cur.Tie.Provider. A provider whose links of the
// instant can be read whole gives them by id, newest-first order's tie-break; one whose can not,
// in its own order, remembered by the last one read. Once every provider's are listed, the list
// goes on from just before the instant.
func (c *Client) listTie(ctx context.Context, q ListQuery, names []string, cur cursor, out []Link) (ListPage, error) {
	next := cur
	next.Pages = maps.Clone(cur.Pages)
	if next.Pages == nil {
		next.Pages = map[string]string{}
	}
	at := time.Unix(0, cur.Tie.At)
	start := slices.Index(names, cur.Tie.Provider)
	for i := start; i < len(names); i++ {
		t := tie{At: cur.Tie.At, Provider: names[i]}
		if i == start {
			t = *cur.Tie
		}
		if len(out) == q.Limit {
			next.Tie = &t
			return ListPage{Links: out, NextCursor: c.cursors.encode(next)}, nil
		}
		r := c.collectTie(ctx, c.providers[names[i]], cur, at, t, q.Limit-len(out))
		if r.err != nil {
			return ListPage{}, r.err
		}
		out = append(out, r.links...)
		next.Pages[names[i]] = r.page
		if !r.ended {
			next.Tie = &r.tie
			return ListPage{Links: out, NextCursor: c.cursors.encode(next)}, nil
		}
	}
	next.Tie = nil
	next.CreatedAt, next.ID = cur.Tie.At, lastOfInstant
	return ListPage{Links: out, NextCursor: c.cursors.encode(next)}, nil
}

// tieRead is what collectTie read of one provider's links of the instant.
type tieRead struct {
	links []Link
	// tie is where to go on at this provider when ended is false.
	tie tie
	// page is the page to read the provider from next: where its links of the instant go on, or,
	// once ended, where its older links start.
	page  string
	ended bool
	err   error
}

// collectTie reads up to want links of p made in the instant at, after the position t, that match
// the status and were not listed before in newest-first order (cur.before).
func (c *Client) collectTie(ctx context.Context, p Provider, cur cursor, at time.Time, t tie, want int) tieRead {
	keep := func(l Link) bool {
		return (cur.Status == "" || l.Status == cur.Status) && cur.before(l) && (t.Below == "" || string(l.ID) < t.Below)
	}
	if !t.Listed {
		if r, whole := c.collectTieByID(ctx, p, cur.Status, cur.Pages[p.Name()], at, t, want, keep); whole || r.err != nil {
			return r
		}
		t.Listed = true // too many to read whole: in the provider's own order from now on
	}
	return c.collectTieListed(ctx, p, cur.Status, cur.Pages[p.Name()], at, t, want, keep)
}

// collectTieByID reads all of p's links of the instant, if one call's reading holds them, and
// returns the want first of them by id (the newest-first order's tie-break); whole is false when
// they do not fit.
func (c *Client) collectTieByID(ctx context.Context, p Provider, status Status, token string, at time.Time, t tie, want int, keep func(Link) bool) (r tieRead, whole bool) {
	r = tieRead{tie: t}
	start := "" // the page of the first link of the instant or older
	seen := map[string]bool{token: true}
	kept := map[ID]bool{} // pages that shift between two reads repeat a link
	var group []Link
	for range maxProviderPages {
		res, err := p.List(ctx, PageQuery{Status: status, Page: token})
		if err != nil {
			r.err = classify(p, err)
			return r, false
		}
		ended := res.Next == "" || seen[res.Next]
		for _, l := range res.Links {
			if l, err = qualify(p, "", l); err != nil {
				r.err = err
				return r, false
			}
			if l.CreatedAt.After(at) {
				continue
			}
			if start == "" {
				start = token
			}
			if l.CreatedAt.Before(at) {
				ended = true
				break
			}
			if keep(l) && !kept[l.ID] {
				kept[l.ID] = true
				group = append(group, l)
			}
		}
		if !ended {
			seen[res.Next] = true
			token = res.Next
			continue
		}
		slices.SortFunc(group, newerFirst)
		if len(group) > want {
			// The rest of the group next time, read again from its first page.
			r.links, r.tie.Below, r.page = group[:want], string(group[want-1].ID), cmp.Or(start, token)
			return r, true
		}
		r.links, r.page, r.ended = group, token, true
		return r, true
	}
	return r, false
}

// collectTieListed reads p's links of the instant in p's own order, after the link t.After.
func (c *Client) collectTieListed(ctx context.Context, p Provider, status Status, token string, at time.Time, t tie, want int, keep func(Link) bool) tieRead {
	r := tieRead{tie: t, page: token}
	passed := t.After == ""
	consumed := false
	seen := map[string]bool{token: true}
	read := map[ID]bool{} // pages that shift between two reads repeat a link
	for range maxProviderPages {
		res, err := p.List(ctx, PageQuery{Status: status, Page: token})
		if err != nil {
			r.err = classify(p, err)
			return r
		}
		for _, l := range res.Links {
			if l, err = qualify(p, "", l); err != nil {
				r.err = err
				return r
			}
			switch {
			case l.CreatedAt.After(at):
				continue
			case l.CreatedAt.Before(at):
				r.page, r.ended = token, true
				return r.mustHavePassed(p, passed)
			case !passed:
				if l.ProviderLinkID == t.After {
					passed, r.page = true, token
				}
				continue
			case read[l.ID]:
				continue
			}
			read[l.ID] = true
			r.tie.After, r.page, consumed = l.ProviderLinkID, token, true
			if keep(l) {
				r.links = append(r.links, l)
				if len(r.links) == want {
					return r
				}
			}
		}
		if res.Next == "" || seen[res.Next] {
			r.page, r.ended = token, true
			return r.mustHavePassed(p, passed)
		}
		seen[res.Next] = true
		token = res.Next
		if !consumed && !(passed && t.After != "") {
			r.page = token // nothing of the instant read yet, nor passed: no need to read this page again
		}
	}
	return r
}

// mustHavePassed fails a read that ended without meeting the link it was to go on after: the
// provider no longer lists it, and what came after it cannot be told from what came before.
func (r tieRead) mustHavePassed(p Provider, passed bool) tieRead {
	if !passed {
		r.err = &ProviderError{Provider: p.Name(), Kind: ErrProvider, Err: fmt.Errorf("the link %q the list was to go on after is no longer listed; start the list again", r.tie.After)}
	}
	return r
}

// All iterates over every link matching q (its Cursor and Limit are the starting point and the
// page size), fetching pages as it goes.
func (c *Client) All(ctx context.Context, q ListQuery) iter.Seq2[Link, error] {
	return func(yield func(Link, error) bool) {
		for {
			page, err := c.List(ctx, q)
			if err != nil {
				yield(Link{}, err)
				return
			}
			for _, l := range page.Links {
				if !yield(l, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			q.Cursor = page.NextCursor
		}
	}
}

type candidate struct {
	link Link
	page string // the provider page token the link was read from
}

type providerPages struct {
	links []candidate // in the order the provider gave them
	last  string      // the token of the last page read
	// cut is true when reading stopped at maxProviderPages; oldest is then the oldest link read.
	cut    bool
	oldest time.Time
	err    error
}

// resume returns the page to read the provider from for the next page of the list: the page of its
// first link that did not make it into this one. Every link of the provider still to come is on
// that page or a later one, also when links created meanwhile push the provider's pages down.
func (r providerPages) resume(included map[ID]bool) string {
	for _, cand := range r.links {
		if !included[cand.link.ID] {
			return cand.page
		}
	}
	return r.last
}

// collect reads pages of one provider from the cursor's page for it, keeping links after the
// cursor position that match the status, until it holds the provider's want first links in the
// merged order or the provider has no more.
//
// Having want links is not enough: links created in the same instant (MijnKlantportaal keeps
// seconds) come from the provider in an order of its own, while the merged order breaks such ties
// by id. So reading goes on while the next page may still hold a link as new as the want-th.
func (c *Client) collect(ctx context.Context, p Provider, cur cursor, want int) providerPages {
	var out providerPages
	token := cur.Pages[p.Name()]
	seen := map[string]bool{token: true}
	kept := map[ID]bool{}
	var oldest time.Time // of every link read; the provider's pages are newest first
	read := 0
	for range maxProviderPages {
		res, err := p.List(ctx, PageQuery{Status: cur.Status, Page: token})
		if err != nil {
			out.err = classify(p, err)
			return out
		}
		out.last = token
		for _, l := range res.Links {
			if l, err = qualify(p, "", l); err != nil {
				out.err = err
				return out
			}
			if read == 0 || l.CreatedAt.Before(oldest) {
				oldest = l.CreatedAt
			}
			read++
			// A link is kept once: pages numbered by the provider shift when links are created
			// between two reads, repeating a link, and a repeat must not count towards want either.
			if (cur.Status != "" && l.Status != cur.Status) || !cur.before(l) || kept[l.ID] {
				continue
			}
			kept[l.ID] = true
			out.links = append(out.links, candidate{link: l, page: token})
		}
		if res.Next == "" || seen[res.Next] || holdsFirst(out.links, want, oldest) {
			return out
		}
		seen[res.Next] = true
		token = res.Next
	}
	// Cut short: List lists only what is sure to come before the links not read yet.
	out.cut, out.oldest = true, oldest
	return out
}

// holdsFirst reports whether links are certain to include the want first links of their provider
// in the merged order: there are that many, and the links not read yet, none newer than oldest,
// are all older than the want-th.
func holdsFirst(links []candidate, want int, oldest time.Time) bool {
	if len(links) < want {
		return false
	}
	times := make([]time.Time, len(links))
	for i, c := range links {
		times[i] = c.link.CreatedAt
	}
	slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
	return oldest.Before(times[want-1])
}

// newerFirst orders links by creation time, newest first, then by id, so the order is total.
func newerFirst(a, b Link) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(string(b.ID), string(a.ID))
}
