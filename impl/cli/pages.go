package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/pflag"
)

// maxPageSize is the largest page the unified API serves (the limit maximum of its lists).
const maxPageSize = 100

// pageFlags are the flags of a list command that follows the server's cursor: --limit items in
// all, --page-size per request, --cursor to resume an earlier list.
type pageFlags struct {
	limit, pageSize int
	cursor          string
}

// register adds the flags; noun names the items in their help ("links", "events").
func (p *pageFlags) register(fs *pflag.FlagSet, noun string) {
	fs.IntVar(&p.limit, "limit", 50, "how many "+noun+" to show in all, across pages; 0 shows all")
	fs.IntVar(&p.pageSize, "page-size", 0, noun+" per request, 1 to 100 (default: --limit, at most 100)")
	fs.StringVar(&p.cursor, "cursor", "", "start from this nextCursor of an earlier list")
}

// size checks the flags and returns the page size to ask for.
func (p *pageFlags) size(noun string) (int, error) {
	if p.limit < 0 {
		return 0, usagef("--limit %d: give a number of %s, or 0 for all", p.limit, noun)
	}
	if p.pageSize < 0 || p.pageSize > maxPageSize {
		return 0, usagef("--page-size %d: give 1 to %d", p.pageSize, maxPageSize)
	}
	if p.pageSize > 0 {
		return p.pageSize, nil
	}
	if p.limit > 0 {
		return min(p.limit, maxPageSize), nil
	}
	return maxPageSize, nil
}

// page is one answer of a list operation: its items, its body as sent, its next cursor.
type page[T any] struct {
	items []T
	body  []byte
	next  *string
}

// listing is what a list command collected across pages: the items decoded and as the server
// sent them (for --output json), and the cursor to continue with, nil at the end.
type listing[T any] struct {
	items []T
	raw   []json.RawMessage
	next  *string
}

// collect follows the cursor from p.cursor, asking fetch for pages of at most size items, until
// p.limit items (0: all) or the last page. fetch reports its own failures (errShown).
func collect[T any](g *globals, p *pageFlags, size int, fetch func(limit int, cursor *string) (page[T], error)) (listing[T], error) {
	out := listing[T]{raw: []json.RawMessage{}} // "data": [] when nothing matches, never null
	var cursor *string
	if p.cursor != "" {
		cursor = &p.cursor
	}
	for {
		n := size
		if p.limit > 0 {
			n = min(n, p.limit-len(out.items))
		}
		pg, err := fetch(n, cursor)
		if err != nil {
			return out, err
		}
		var data struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(pg.body, &data); err != nil || len(data.Data) != len(pg.items) {
			return out, fmt.Errorf("the list answer of %s could not be read: %v", g.server, err)
		}
		out.items = append(out.items, pg.items...)
		out.raw = append(out.raw, data.Data...)
		out.next = pg.next
		if out.next != nil && *out.next == "" {
			out.next = nil
		}
		if out.next == nil || (p.limit > 0 && len(out.items) >= p.limit) {
			break
		}
		if cursor != nil && *cursor == *out.next {
			return out, fmt.Errorf("%s answered the same cursor twice; stopping to avoid a loop", g.server)
		}
		cursor = out.next
	}
	if p.limit > 0 && len(out.items) > p.limit { // a server that gave more than asked
		out.items, out.raw, out.next = out.items[:p.limit], out.raw[:p.limit], nil
	}
	return out, nil
}

// printJSON writes the listing as one list answer: {"data": [...], "nextCursor": ...}.
func (l listing[T]) printJSON(c *cli) error {
	out, err := json.Marshal(struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"nextCursor"`
	}{l.raw, l.next})
	if err != nil {
		return err
	}
	c.printJSON(out)
	return nil
}

// moreNote says on stderr, after a table, how to see the rest of a list that was cut by --limit.
func (l listing[T]) moreNote(c *cli, noun string) {
	if l.next != nil {
		fmt.Fprintf(c.stderr, "Showing the first %d %s; there are more: raise --limit (0 for all), or continue with --cursor %s\n", len(l.items), noun, *l.next)
	}
}
