package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/paylink"
)

const linksHelp = `Usage: paylinks links <command> [flags]

Look at and act on payment links of every provider, through a running 'paylinks serve'.

Commands:
  list          list payment links across providers, newest first
  get ID        show one payment link
  create        create a payment link at a provider
  close ID      close a payment link so it can no longer be paid

Examples:
  export PAYLINKS_API_KEY=sk_sandbox_demo
  paylinks links create --provider mijnklantportaal --amount 12.95 --currency EUR --description "Contribution"
  paylinks links list --provider hub2 --status active
  paylinks links close mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4

Run 'paylinks links <command> --help' for the flags of a command.
`

func (c *cli) links(args []string) error {
	return c.group("paylinks links", linksHelp, args, map[string]func([]string) error{
		"list":   c.linksList,
		"get":    c.linksGet,
		"create": c.linksCreate,
		"close":  c.linksClose,
	})
}

// maxPageSize is the largest page the unified API serves (ListPaymentLinks limit maximum).
const maxPageSize = 100

func (c *cli) linksList(args []string) error {
	cmd := newCommand("paylinks links list", "[flags]", `Lists payment links of all providers (or one), newest first. Follows the server's cursor
across pages until --limit links are shown or there are no more. Providers without a list
operation (see 'paylinks providers') are skipped.

Examples:
  paylinks links list
  paylinks links list --provider hub2 --status active --limit 200
  paylinks links list --limit 0 --output json | jq -r '.data[].id'
  paylinks links list --cursor "$(paylinks links list --output json | jq -r .nextCursor)"
`)
	g := c.globalFlags(cmd)
	provider := cmd.fs.String("provider", "", "only links of this `provider` (mijnklantportaal, hub2, telness, …)")
	status := cmd.fs.String("status", "", "only links in this `status`: active, completed, expired, closed or unknown")
	limit := cmd.fs.Int("limit", 50, "how many links to show in all, across pages; 0 shows all")
	pageSize := cmd.fs.Int("page-size", 0, "links per request, 1 to 100 (default: --limit, at most 100)")
	cursor := cmd.fs.String("cursor", "", "start from this nextCursor of an earlier list")
	if err := c.parseNoArgs(cmd, args); err != nil {
		return err
	}
	if err := g.resolve(c.getenv); err != nil {
		return err
	}
	if *status != "" && !api.PaymentLinkStatus(*status).Valid() {
		return usagef(cmd.name, "--status %q: use active, completed, expired, closed or unknown", *status)
	}
	if *limit < 0 {
		return usagef(cmd.name, "--limit %d: give a number of links, or 0 for all", *limit)
	}
	if *pageSize < 0 || *pageSize > maxPageSize {
		return usagef(cmd.name, "--page-size %d: give 1 to %d", *pageSize, maxPageSize)
	}
	size := *pageSize
	if size == 0 {
		size = maxPageSize
		if *limit > 0 {
			size = min(*limit, maxPageSize)
		}
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.ListPaymentLinksParams{}
	if *provider != "" {
		params.Provider = provider
	}
	if *status != "" {
		params.Status = (*api.PaymentLinkStatus)(status)
	}
	if *cursor != "" {
		params.Cursor = cursor
	}

	var (
		links []api.PaymentLink
		raw   = []json.RawMessage{} // "data": [] when nothing matches, never null
		next  *string
	)
	for {
		n := size
		if *limit > 0 {
			n = min(n, *limit-len(links))
		}
		params.Limit = &n
		res, err := cl.ListPaymentLinksWithResponse(context.Background(), &params)
		if err != nil {
			return c.transportError(g, err, failure{})
		}
		if res.JSON200 == nil {
			return c.problemError(g, res, res.HTTPResponse.Header, failure{})
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(res.Body, &page); err != nil || len(page.Data) != len(res.JSON200.Data) {
			return fmt.Errorf("the list answer of %s could not be read: %v", g.server, err)
		}
		links = append(links, res.JSON200.Data...)
		raw = append(raw, page.Data...)
		next = res.JSON200.NextCursor
		if next != nil && *next == "" {
			next = nil
		}
		if next == nil || (*limit > 0 && len(links) >= *limit) {
			break
		}
		if params.Cursor != nil && *params.Cursor == *next {
			return fmt.Errorf("%s answered the same cursor twice; stopping to avoid a loop", g.server)
		}
		params.Cursor = next
	}
	if *limit > 0 && len(links) > *limit { // a server that gave more than asked
		links, raw, next = links[:*limit], raw[:*limit], nil
	}

	if g.json() {
		out, err := json.Marshal(struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"nextCursor"`
		}{raw, next})
		if err != nil {
			return err
		}
		c.printJSON(out)
		return nil
	}
	if len(links) == 0 {
		fmt.Fprintln(c.stdout, "No payment links.")
		if *provider != "" || *status != "" {
			fmt.Fprintln(c.stderr, "Nothing matches the filters; try without --provider or --status.")
		}
		return nil
	}
	writeLinkTable(c.stdout, links)
	if next != nil {
		fmt.Fprintf(c.stderr, "Showing the first %d links; there are more: raise --limit (0 for all), or continue with --cursor %s\n", len(links), *next)
	}
	return nil
}

func (c *cli) linksGet(args []string) error {
	cmd := newCommand("paylinks links get", "ID [flags]", `Shows one payment link as its provider reports it now. ID is the paylinks id (the ID column of
'paylinks links list', or "id" in JSON), whichever provider issued the link.

Examples:
  paylinks links get mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4
  paylinks links get hub2_bGlua18x --output json --raw
`)
	g := c.globalFlags(cmd)
	rawFlag := cmd.fs.Bool("raw", false, "include the provider's own object (JSON output: \"raw\")")
	id, err := c.parseID(cmd, args)
	if err != nil {
		return err
	}
	if err := g.resolve(c.getenv); err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.GetPaymentLinkParams{}
	if *rawFlag {
		params.Expand = &api.Expand{string(api.GetPaymentLinkParamsExpandRaw)}
	}
	res, err := cl.GetPaymentLinkWithResponse(context.Background(), id, &params)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{})
	}
	c.showLink(g, res.Body, *res.JSON200)
	return nil
}

func (c *cli) linksClose(args []string) error {
	cmd := newCommand("paylinks links close", "ID [flags]", `Closes a payment link so it can no longer be paid, whichever way its provider does it
(MijnKlantportaal DELETE, Hub2 PATCH …/close, Telness POST …/cancel). Closing a link that is
already closed fails with code already_closed; a completed or expired link with not_closable.

Examples:
  paylinks links close mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4
  paylinks links close hub2_bGlua18x --idempotency-key close-order-12345
`)
	g := c.globalFlags(cmd)
	key := cmd.fs.String("idempotency-key", "", "makes a retry safe: the server answers a repeated request with the first answer")
	id, err := c.parseID(cmd, args)
	if err != nil {
		return err
	}
	if err := g.resolve(c.getenv); err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.ClosePaymentLinkParams{}
	if *key != "" {
		params.IdempotencyKey = key
	}
	res, err := cl.ClosePaymentLinkWithResponse(context.Background(), id, &params)
	if err != nil {
		return c.transportError(g, err, failure{retryKey: *key})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{retryKey: *key})
	}
	c.replayed(res.HTTPResponse.Header, *key)
	c.showLink(g, res.Body, *res.JSON200)
	return nil
}

func (c *cli) linksCreate(args []string) error {
	cmd := newCommand("paylinks links create", "--provider NAME [flags]", `Creates a payment link at a provider and shows it, with the URL to send the payer to. What each
provider needs differs (see 'paylinks providers'): MijnKlantportaal takes EUR and a description,
Hub2 takes XOF or XAF and a reference, Telness takes no amount but an order or invoice.

Every create carries an Idempotency-Key (a random one unless you give --idempotency-key), so the
server never does a retried request twice; reuse the key to retry safely after a lost answer.

Examples:
  paylinks links create --provider mijnklantportaal --amount 12.95 --currency EUR \
    --description "Contribution costs" --expires 2030-05-14T21:00:00Z
  paylinks links create --provider hub2 --amount 1000 --currency XOF --reference ORDER-12345 \
    --option country=CI --expires 24h
  paylinks links create --provider telness --description "Monthly subscription" --option orderId=ord_123
  paylinks links create --provider hub2 --amount 5000 --currency XOF --reference R-1 --reusable \
    --option maximumPayments=10 --option operators=orange,mtn --output json
`)
	g := c.globalFlags(cmd)
	provider := cmd.fs.String("provider", "", "provider to create the link at (required; see 'paylinks providers')")
	amount := cmd.fs.String("amount", "", "`value` in major units, as a decimal: 12.95, 1000 (needs --currency)")
	currency := cmd.fs.String("currency", "", "ISO 4217 `code` of the amount: EUR, XOF, XAF")
	description := cmd.fs.String("description", "", "what the payer pays for")
	reference := cmd.fs.String("reference", "", "your reference, e.g. an order number (required by Hub2)")
	expires := cmd.fs.String("expires", "", "when the link stops accepting payments: RFC 3339 (2030-05-14T21:00:00Z) or a duration from now (90m, 24h, 7d)")
	reusable := cmd.fs.Bool("reusable", false, "the link stays payable after a payment")
	metadata := keyValues{}
	cmd.fs.Var(metadata, "metadata", "`key=value` kept with the link (repeatable)")
	options := keyValues{}
	cmd.fs.Var(options, "option", "`key=value` provider option, e.g. country=CI or orderId=ord_1 (repeatable; lists comma-separated)")
	key := cmd.fs.String("idempotency-key", "", "key that makes a retry safe (default: a random one)")
	if err := c.parseNoArgs(cmd, args); err != nil {
		return err
	}
	if err := g.resolve(c.getenv); err != nil {
		return err
	}
	if *provider == "" {
		return &usageError{cmd: cmd.name, msg: "--provider is required",
			hint: "Name the provider, e.g. --provider mijnklantportaal; 'paylinks providers' lists them."}
	}
	body := api.CreatePaymentLinkRequest{Provider: *provider}
	switch {
	case *amount != "" && *currency != "":
		a, err := paylink.ParseAmount(strings.ToUpper(*currency), *amount)
		if err != nil {
			return usagef(cmd.name, "--amount %s --currency %s: %v", *amount, *currency, err)
		}
		body.Amount = &api.AmountInput{Currency: a.Currency, Value: a.Value()}
	case *amount != "":
		return usagef(cmd.name, "--amount needs --currency, e.g. --amount %s --currency EUR", *amount)
	case *currency != "":
		return usagef(cmd.name, "--currency needs --amount, e.g. --amount 12.95 --currency %s", *currency)
	}
	if *description != "" {
		body.Description = description
	}
	if *reference != "" {
		body.Reference = reference
	}
	if *expires != "" {
		t, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return usagef(cmd.name, "--expires %s: %v", *expires, err)
		}
		body.ExpiresAt = &t
	}
	if *reusable {
		body.Reusable = reusable
	}
	if len(metadata) > 0 {
		m := api.Metadata(metadata)
		body.Metadata = &m
	}
	if len(options) > 0 {
		po, err := providerOptions(*provider, options)
		if err != nil {
			return usagef(cmd.name, "%v", err)
		}
		body.ProviderOptions = po
	}
	if *key == "" {
		*key = "cli_" + rand.Text()
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.CreatePaymentLinkWithResponse(context.Background(), &api.CreatePaymentLinkParams{IdempotencyKey: key}, body)
	if err != nil {
		return c.transportError(g, err, failure{retryKey: *key})
	}
	if res.JSON201 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{retryKey: *key})
	}
	c.replayed(res.HTTPResponse.Header, *key)
	c.showLink(g, res.Body, *res.JSON201)
	return nil
}

// replayed notes on stderr when the answer is the stored one of an earlier request with the key.
func (c *cli) replayed(h http.Header, key string) {
	if h.Get("Idempotent-Replayed") == "true" {
		fmt.Fprintf(c.stderr, "Replayed: this is the answer to an earlier request with --idempotency-key %s; nothing was done again.\n", key)
	}
}

// parseNoArgs parses a command that takes flags only.
func (c *cli) parseNoArgs(cmd *command, args []string) error {
	rest, err := c.parse(cmd, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef(cmd.name, "unexpected argument %q (values are given with flags)", rest[0])
	}
	return nil
}

// parseID parses a command that takes one link id.
func (c *cli) parseID(cmd *command, args []string) (string, error) {
	rest, err := c.parse(cmd, args)
	if err != nil {
		return "", err
	}
	switch len(rest) {
	case 0:
		return "", &usageError{cmd: cmd.name, msg: "missing the link ID",
			hint: fmt.Sprintf("Give the paylinks id of a link, e.g. '%s mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4'; 'paylinks links list' shows them.", cmd.name)}
	case 1:
		return rest[0], nil
	default:
		return "", usagef(cmd.name, "expected one link ID, got %d: %s", len(rest), strings.Join(rest, " "))
	}
}

// showLink prints a link: as the server sent it for --output json, as a list of fields otherwise.
func (c *cli) showLink(g *globals, raw []byte, l api.PaymentLink) {
	if g.json() {
		c.printJSON(raw)
		return
	}
	writeLinkDetail(c.stdout, l)
}
