package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/paylink"
)

func (c *cli) linksCmd() *cobra.Command {
	links := c.group(&cobra.Command{
		Use:   "links",
		Short: "List, show, create and close payment links",
		Long:  "Look at and act on payment links of every provider, through a running 'paylinks serve'.",
		Example: `  export PAYLINKS_API_KEY=sk_sandbox_demo
  paylinks links create --provider mijnklantportaal --amount 12.95 --currency EUR --description "Contribution"
  paylinks links list --provider hub2 --status active
  paylinks links close mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4`,
	})
	c.clientFlags(links)
	links.AddCommand(c.linksListCmd(), c.linksGetCmd(), c.linksCreateCmd(), c.linksCloseCmd())
	return links
}

// linkStatuses are the values of --status, for the help and shell completion.
var linkStatuses = []string{"active", "completed", "expired", "closed", "unknown"}

func (c *cli) linksListCmd() *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List payment links across providers, following the cursor",
		Long: `Lists payment links of all providers (or one), newest first. Follows the server's cursor
across pages until --limit links are shown or there are no more. Providers without a list
operation (see 'paylinks providers') are skipped.`,
		Example: `  paylinks links list
  paylinks links list --provider hub2 --status active --limit 200
  paylinks links list --limit 0 --output json | jq -r '.data[].id'
  paylinks links list --cursor "$(paylinks links list --output json | jq -r .nextCursor)"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.linksList(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.provider, "provider", "", "only links of this `provider` (mijnklantportaal, hub2, telness, …)")
	fs.StringVar(&o.status, "status", "", "only links in this `status`: "+strings.Join(linkStatuses, ", "))
	o.pages.register(fs, "links")
	completeWith(cmd, "status", linkStatuses...)
	return cmd
}

// listOptions are the flags of links list.
type listOptions struct {
	provider, status string
	pages            pageFlags
}

func (c *cli) linksList(ctx context.Context, o *listOptions) error {
	g := &c.g
	if o.status != "" && !api.PaymentLinkStatus(o.status).Valid() {
		return usagef("--status %q: use active, completed, expired, closed or unknown", o.status)
	}
	size, err := o.pages.size("links")
	if err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.ListPaymentLinksParams{}
	if o.provider != "" {
		params.Provider = &o.provider
	}
	if o.status != "" {
		params.Status = (*api.PaymentLinkStatus)(&o.status)
	}
	list, err := collect(g, &o.pages, size, func(limit int, cursor *string) (page[api.PaymentLink], error) {
		params.Limit, params.Cursor = &limit, cursor
		res, err := cl.ListPaymentLinksWithResponse(ctx, &params)
		if err != nil {
			return page[api.PaymentLink]{}, c.transportError(g, err, failure{})
		}
		if res.JSON200 == nil {
			return page[api.PaymentLink]{}, c.problemError(g, res, res.HTTPResponse.Header, failure{})
		}
		return page[api.PaymentLink]{res.JSON200.Data, res.Body, res.JSON200.NextCursor}, nil
	})
	if err != nil {
		return err
	}
	if g.json() {
		return list.printJSON(c)
	}
	if len(list.items) == 0 {
		fmt.Fprintln(c.stdout, "No payment links.")
		if o.provider != "" || o.status != "" {
			fmt.Fprintln(c.stderr, "Nothing matches the filters; try without --provider or --status.")
		}
		return nil
	}
	writeLinkTable(c.stdout, list.items)
	list.moreNote(c, "links")
	return nil
}

func (c *cli) linksGetCmd() *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show one payment link",
		Long: `Shows one payment link as its provider reports it now. ID is the paylinks id (the ID column of
'paylinks links list', or "id" in JSON), whichever provider issued the link.`,
		Example: `  paylinks links get mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4
  paylinks links get hub2_bGlua18x --output json --raw`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.linksGet(cmd.Context(), args[0], raw)
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "include the provider's own object (JSON output: \"raw\")")
	return cmd
}

func (c *cli) linksGet(ctx context.Context, id string, raw bool) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.GetPaymentLinkParams{}
	if raw {
		params.Expand = &api.Expand{string(api.GetPaymentLinkParamsExpandRaw)}
	}
	res, err := cl.GetPaymentLinkWithResponse(ctx, id, &params)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{})
	}
	c.showLink(g, res.Body, *res.JSON200)
	return nil
}

func (c *cli) linksCloseCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "close ID",
		Short: "Close a payment link so it can no longer be paid",
		Long: `Closes a payment link so it can no longer be paid, whichever way its provider does it
(MijnKlantportaal DELETE, Hub2 PATCH …/close, Telness POST …/cancel). Closing a link that is
already closed fails with code already_closed; a completed or expired link with not_closable.`,
		Example: `  paylinks links close mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4
  paylinks links close hub2_bGlua18x --idempotency-key close-order-12345`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.linksClose(cmd.Context(), args[0], key)
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "makes a retry safe: the server answers a repeated request with the first answer")
	return cmd
}

func (c *cli) linksClose(ctx context.Context, id, key string) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	params := api.ClosePaymentLinkParams{}
	if key != "" {
		params.IdempotencyKey = &key
	}
	res, err := cl.ClosePaymentLinkWithResponse(ctx, id, &params)
	if err != nil {
		return c.transportError(g, err, failure{retryKey: key})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{retryKey: key})
	}
	c.replayed(res.HTTPResponse.Header, key)
	c.showLink(g, res.Body, *res.JSON200)
	return nil
}

// createOptions are the flags of links create.
type createOptions struct {
	provider, amount, currency, description, reference, expires, key string
	reusable                                                         bool
	metadata, options                                                keyValues
}

func (c *cli) linksCreateCmd() *cobra.Command {
	o := &createOptions{metadata: keyValues{}, options: keyValues{}}
	cmd := &cobra.Command{
		Use:   "create --provider NAME",
		Short: "Create a payment link at a provider",
		Long: `Creates a payment link at a provider and shows it, with the URL to send the payer to. What each
provider needs differs (see 'paylinks providers'): MijnKlantportaal takes EUR and a description,
Hub2 takes XOF or XAF and a reference, Telness takes no amount but an order or invoice.

Every create carries an Idempotency-Key (a random one unless you give --idempotency-key), so the
server never does a retried request twice; reuse the key to retry safely after a lost answer.`,
		Example: `  paylinks links create --provider mijnklantportaal --amount 12.95 --currency EUR \
    --description "Contribution costs" --expires 2030-05-14T21:00:00Z
  paylinks links create --provider hub2 --amount 1000 --currency XOF --reference ORDER-12345 \
    --option country=CI --expires 24h
  paylinks links create --provider telness --description "Monthly subscription" --option orderId=ord_123
  paylinks links create --provider hub2 --amount 5000 --currency XOF --reference R-1 --reusable \
    --option maximumPayments=10 --option operators=orange,mtn --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.linksCreate(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.provider, "provider", "", "provider to create the link at (required; see 'paylinks providers')")
	fs.StringVar(&o.amount, "amount", "", "`value` in major units, as a decimal: 12.95, 1000 (needs --currency)")
	fs.StringVar(&o.currency, "currency", "", "ISO 4217 `code` of the amount: EUR, XOF, XAF")
	fs.StringVar(&o.description, "description", "", "what the payer pays for")
	fs.StringVar(&o.reference, "reference", "", "your reference, e.g. an order number (required by Hub2)")
	fs.StringVar(&o.expires, "expires", "", "when the link stops accepting payments: RFC 3339 (2030-05-14T21:00:00Z) or a duration from now (90m, 24h, 7d)")
	fs.BoolVar(&o.reusable, "reusable", false, "the link stays payable after a payment")
	fs.Var(o.metadata, "metadata", "`key=value` kept with the link (repeatable)")
	fs.Var(o.options, "option", "`key=value` provider option, e.g. country=CI or orderId=ord_1 (repeatable; lists comma-separated)")
	fs.StringVar(&o.key, "idempotency-key", "", "key that makes a retry safe (default: a random one)")
	return cmd
}

func (c *cli) linksCreate(ctx context.Context, o *createOptions) error {
	g := &c.g
	if o.provider == "" {
		return &usageError{msg: "--provider is required",
			hint: "Name the provider, e.g. --provider mijnklantportaal; 'paylinks providers' lists them."}
	}
	body := api.CreatePaymentLinkRequest{Provider: o.provider}
	switch {
	case o.amount != "" && o.currency != "":
		a, err := paylink.ParseAmount(strings.ToUpper(o.currency), o.amount)
		if err != nil {
			return usagef("--amount %s --currency %s: %v", o.amount, o.currency, err)
		}
		body.Amount = &api.AmountInput{Currency: a.Currency, Value: a.Value()}
	case o.amount != "":
		return usagef("--amount needs --currency, e.g. --amount %s --currency EUR", o.amount)
	case o.currency != "":
		return usagef("--currency needs --amount, e.g. --amount 12.95 --currency %s", o.currency)
	}
	if o.description != "" {
		body.Description = &o.description
	}
	if o.reference != "" {
		body.Reference = &o.reference
	}
	if o.expires != "" {
		t, err := parseExpiry(o.expires, time.Now())
		if err != nil {
			return usagef("--expires %s: %v", o.expires, err)
		}
		body.ExpiresAt = &t
	}
	if o.reusable {
		body.Reusable = &o.reusable
	}
	if len(o.metadata) > 0 {
		m := api.Metadata(o.metadata)
		body.Metadata = &m
	}
	if len(o.options) > 0 {
		po, err := providerOptions(o.provider, o.options)
		if err != nil {
			return usagef("%v", err)
		}
		body.ProviderOptions = po
	}
	key := o.key
	if key == "" {
		key = "cli_" + rand.Text()
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.CreatePaymentLinkWithResponse(ctx, &api.CreatePaymentLinkParams{IdempotencyKey: &key}, body)
	if err != nil {
		return c.transportError(g, err, failure{retryKey: key})
	}
	if res.JSON201 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{retryKey: key})
	}
	c.replayed(res.HTTPResponse.Header, key)
	c.showLink(g, res.Body, *res.JSON201)
	return nil
}

// replayed notes on stderr when the answer is the stored one of an earlier request with the key.
func (c *cli) replayed(h http.Header, key string) {
	if h.Get("Idempotent-Replayed") == "true" {
		fmt.Fprintf(c.stderr, "Replayed: this is the answer to an earlier request with --idempotency-key %s; nothing was done again.\n", key)
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
