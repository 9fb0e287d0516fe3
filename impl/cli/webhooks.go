package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// oneEndpointID takes one webhook endpoint id.
var oneEndpointID = oneArg("endpoint ID", "the id of a webhook endpoint", "we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8", "paylinks webhooks endpoints list")

// endpointNotFound is the hint of an unknown endpoint id.
const endpointNotFound = "Check the id: 'paylinks webhooks endpoints list' shows the endpoints (ids start with we_)."

// maxRotationOverlap is the longest a previous secret may keep signing after a rotation (the
// unified API's previousSecretExpiresIn maximum).
const maxRotationOverlap = 7 * 24 * time.Hour

// webhooksCmd is the group of everything webhook: the merchant's endpoints paylinks delivers to
// and the providers' webhooks paylinks receives (webhooks register).
func (c *cli) webhooksCmd() *cobra.Command {
	webhooks := c.group(&cobra.Command{
		Use:   "webhooks",
		Short: "Manage the webhook endpoints paylinks delivers link events to, and the providers' webhooks it receives",
		Long: `paylinks delivers link events to your webhook endpoints: a signed POST per event (Standard
Webhooks: webhook-id, webhook-timestamp, webhook-signature), retried for about three days.
Endpoints belong to the deployment: any valid API key manages all of them.

Providers call paylinks when a payment happens (MijnKlantportaal, Hub2, Mollie): each call is a
hint paylinks confirms by reading the link at the provider. 'webhooks register' subscribes paylinks
at the providers that have a registration API.`,
		Example: `  paylinks webhooks endpoints create --url https://shop.example.com/hooks/paylinks
  paylinks webhooks endpoints list
  paylinks webhooks endpoints test we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks webhooks register`,
	})
	c.clientFlags(webhooks)
	endpoints := c.group(&cobra.Command{
		Use:     "endpoints",
		Aliases: []string{"endpoint"},
		Short:   "Create, list, show, update, delete, rotate, test and recover webhook endpoints",
		Long: `Your HTTPS endpoints that receive link events. Each has a signing secret (whsec_…), shown only
when the endpoint is created and when the secret is rotated. A live server accepts only https
URLs on public addresses; a sandbox one also plain http and loopback.`,
		Example: `  paylinks webhooks endpoints create --url https://shop.example.com/hooks/paylinks --events payment_link.completed
  paylinks webhooks endpoints rotate we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --keep 48h
  paylinks webhooks endpoints delete we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8`,
	})
	endpoints.AddCommand(c.endpointsCreateCmd(), c.endpointsListCmd(), c.endpointsGetCmd(), c.endpointsUpdateCmd(), c.endpointsDeleteCmd(),
		c.endpointsRotateCmd(), c.endpointsTestCmd(), c.endpointsDeliveriesCmd(), c.endpointsRecoverCmd())
	webhooks.AddCommand(endpoints, c.webhooksRegisterCmd())
	return webhooks
}

// endpointCreateOptions are the flags of webhooks endpoints create.
type endpointCreateOptions struct {
	url, description string
	events           []string
	providers        []string
}

func (c *cli) endpointsCreateCmd() *cobra.Command {
	o := &endpointCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --url URL",
		Short: "Register an endpoint and show its signing secret (once)",
		Long: `Registers a webhook endpoint: paylinks then POSTs it every matching event, signed with the
endpoint's secret. The secret (whsec_…) is printed once, now: keep it where your receiver
verifies signatures ('paylinks webhooks endpoints rotate' makes a new one if it is lost).
Without --events the endpoint gets every event type; without --providers, every provider's.`,
		Example: `  paylinks webhooks endpoints create --url https://shop.example.com/hooks/paylinks
  paylinks webhooks endpoints create --url https://shop.example.com/hooks/paid \
    --events payment_link.completed,payment_link.expired --providers hub2 --description "paid orders"
  paylinks webhooks endpoints create --url https://shop.example.com/hooks --output json | jq -r .secret`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.endpointsCreate(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.url, "url", "", "where to deliver events: an https URL (required)")
	fs.StringSliceVar(&o.events, "events", nil, "only these event `types`, comma-separated (default all): "+strings.Join(eventTypes, ", "))
	fs.StringSliceVar(&o.providers, "providers", nil, "only events of links of these `providers`, comma-separated (default all)")
	fs.StringVar(&o.description, "description", "", "a note for people: what this endpoint is for")
	completeWith(cmd, "events", eventTypes...)
	return cmd
}

func (c *cli) endpointsCreate(ctx context.Context, o *endpointCreateOptions) error {
	g := &c.g
	if o.url == "" {
		return &usageError{msg: "--url is required",
			hint: "Give the URL to deliver events to, e.g. --url https://shop.example.com/hooks/paylinks."}
	}
	if err := absoluteURL("url", o.url); err != nil {
		return err
	}
	types, err := eventTypeList("events", o.events)
	if err != nil {
		return err
	}
	body := api.CreateWebhookEndpointRequest{Url: o.url}
	if len(types) > 0 {
		body.EventTypes = &types
	}
	if providers := trimmed(o.providers); len(providers) > 0 {
		body.Providers = &providers
	}
	if o.description != "" {
		body.Description = &o.description
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.CreateWebhookEndpointWithResponse(ctx, body)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON201 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	e := res.JSON201
	writeEndpointDetail(c.stdout, withoutSecret(*e))
	fmt.Fprintf(c.stdout, "\nSigning secret (shown only now: store it where your receiver verifies signatures):\n  %s\n", e.Secret)
	return nil
}

func (c *cli) endpointsListCmd() *cobra.Command {
	var pages pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the webhook endpoints",
		Long:  `Lists the webhook endpoints, following the server's cursor. Secrets are never listed.`,
		Example: `  paylinks webhooks endpoints list
  paylinks webhooks endpoints list --output json | jq -r '.data[] | select(.disabled) | .id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.endpointsList(cmd.Context(), &pages)
		},
	}
	pages.register(cmd.Flags(), "endpoints")
	return cmd
}

func (c *cli) endpointsList(ctx context.Context, pages *pageFlags) error {
	g := &c.g
	size, err := pages.size("endpoints")
	if err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	list, err := collect(g, pages, size, func(limit int, cursor *string) (page[api.WebhookEndpoint], error) {
		res, err := cl.ListWebhookEndpointsWithResponse(ctx, &api.ListWebhookEndpointsParams{Limit: &limit, Cursor: cursor})
		if err != nil {
			return page[api.WebhookEndpoint]{}, c.transportError(g, err, failure{})
		}
		if res.JSON200 == nil {
			return page[api.WebhookEndpoint]{}, c.problemError(g, res, res.HTTPResponse.Header, failure{})
		}
		return page[api.WebhookEndpoint]{res.JSON200.Data, res.Body, res.JSON200.NextCursor}, nil
	})
	if err != nil {
		return err
	}
	if g.json() {
		return list.printJSON(c)
	}
	if len(list.items) == 0 {
		fmt.Fprintln(c.stdout, "No webhook endpoints.")
		fmt.Fprintln(c.stderr, "Register one with 'paylinks webhooks endpoints create --url URL', or watch events with 'paylinks listen'.")
		return nil
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tPROVIDERS\tSTATE\tCREATED\tDESCRIPTION")
	for _, e := range list.items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Id, e.Url, typesText(e.EventTypes), providersText(e.Providers),
			truncate(endpointState(e), 40), timestamp(&e.CreatedAt), truncate(orNone(deref(e.Description)), 40))
	}
	tw.Flush()
	list.moreNote(c, "endpoints")
	return nil
}

func (c *cli) endpointsGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one webhook endpoint",
		Long:  `Shows one webhook endpoint: its URL, what it receives, whether it is enabled. Never its secret.`,
		Example: `  paylinks webhooks endpoints get we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks webhooks endpoints get we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --output json`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := &c.g
			cl, err := g.client()
			if err != nil {
				return err
			}
			res, err := cl.GetWebhookEndpointWithResponse(cmd.Context(), args[0])
			if err != nil {
				return c.transportError(g, err, failure{})
			}
			if res.JSON200 == nil {
				return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
			}
			if g.json() {
				c.printJSON(res.Body)
				return nil
			}
			writeEndpointDetail(c.stdout, *res.JSON200)
			return nil
		},
	}
}

func (c *cli) endpointsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a webhook endpoint",
		Long: `Deletes a webhook endpoint: nothing is delivered to it any more, and its pending deliveries are
canceled. Its past deliveries stay in the events' attempt logs.`,
		Example: `  paylinks webhooks endpoints delete we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8`,
		Args:    oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := &c.g
			cl, err := g.client()
			if err != nil {
				return err
			}
			res, err := cl.DeleteWebhookEndpointWithResponse(cmd.Context(), args[0])
			if err != nil {
				return c.transportError(g, err, failure{})
			}
			if res.StatusCode() != 204 {
				return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
			}
			if g.json() {
				out, _ := json.Marshal(map[string]any{"id": args[0], "deleted": true})
				c.printJSON(out)
				return nil
			}
			fmt.Fprintf(c.stdout, "Deleted webhook endpoint %s.\n", args[0])
			return nil
		},
	}
}

func (c *cli) endpointsRotateCmd() *cobra.Command {
	var keep time.Duration
	cmd := &cobra.Command{
		Use:   "rotate ID",
		Short: "Give an endpoint a new signing secret (printed once)",
		Long: `Gives the endpoint a new signing secret and prints it, once. For --keep (default 24h, at most
168h = 7 days) deliveries carry two signatures, by the new secret and by the previous one, so a
receiver keeps verifying while you deploy the new secret; --keep 0 stops the previous secret at
once.`,
		Example: `  paylinks webhooks endpoints rotate we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks webhooks endpoints rotate we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --keep 72h
  paylinks webhooks endpoints rotate we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --keep 0 --output json | jq -r .secret`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.endpointsRotate(cmd.Context(), args[0], keep, cmd.Flags().Changed("keep"))
		},
	}
	cmd.Flags().DurationVar(&keep, "keep", 24*time.Hour, "how long the previous secret keeps signing beside the new one (0 to 168h)")
	return cmd
}

func (c *cli) endpointsRotate(ctx context.Context, id string, keep time.Duration, given bool) error {
	g := &c.g
	body := api.RotateSecretRequest{}
	if given {
		if keep < 0 || keep > maxRotationOverlap {
			return usagef("--keep %s: give 0 to 168h (7 days)", keep)
		}
		if keep%time.Second != 0 {
			return usagef("--keep %s: give whole seconds", keep)
		}
		secs := int(keep / time.Second)
		body.PreviousSecretExpiresIn = &secs
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.RotateWebhookEndpointSecretWithResponse(ctx, id, body)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	e := res.JSON200
	fmt.Fprintf(c.stdout, "New signing secret of %s (shown only now: store it where your receiver verifies signatures):\n  %s\n", e.Id, e.Secret)
	if e.PreviousSecretExpiresAt != nil {
		fmt.Fprintf(c.stdout, "The previous secret keeps signing beside it until %s.\n", timestamp(e.PreviousSecretExpiresAt))
	} else {
		fmt.Fprintln(c.stdout, "The previous secret no longer signs.")
	}
	return nil
}

func (c *cli) endpointsTestCmd() *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "test ID",
		Short: "Send a test event to an endpoint and show its answer",
		Long: `Sends a webhook_endpoint.test event to the endpoint (signed like every delivery), then waits up
to --wait for the first attempt and shows the endpoint's answer. Exit code 1 if the endpoint did
not accept it (not a 2xx, no answer) or no attempt was recorded within --wait; --wait 0 only
sends. 'paylinks events deliveries EVENT' shows the retries.`,
		Example: `  paylinks webhooks endpoints test we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks webhooks endpoints test we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --wait 0 --output json | jq -r .id`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.endpointsTest(cmd.Context(), args[0], wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 20*time.Second, "how long to wait for the endpoint's answer (0: do not wait)")
	return cmd
}

func (c *cli) endpointsTest(ctx context.Context, id string, wait time.Duration) error {
	g := &c.g
	if wait < 0 {
		return usagef("--wait %s: give a duration such as 20s, or 0 not to wait", wait)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.TestWebhookEndpointWithResponse(ctx, id)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON202 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
	}
	ev := res.JSON202
	if g.json() {
		c.printJSON(res.Body)
	} else {
		fmt.Fprintf(c.stdout, "Sent %s %s to %s.\n", ev.Type, ev.Id, id)
	}
	if wait == 0 {
		return nil
	}
	// Report on stderr with --output json, so stdout stays the event.
	out := c.stdout
	if g.json() {
		out = c.stderr
	}
	deadline := time.Now().Add(wait)
	for {
		ds, err := cl.ListEventDeliveriesWithResponse(ctx, ev.Id)
		if err != nil {
			return c.transportError(g, err, failure{})
		}
		if ds.JSON200 == nil {
			return c.problemError(g, ds, ds.HTTPResponse.Header, failure{})
		}
		if len(ds.JSON200.Data) == 0 {
			// The server stores an event and its deliveries at once: none now means none ever.
			fmt.Fprintf(c.stderr, "%s: the server made no delivery of %s to %s.\n", g.cmd, ev.Id, id)
			fmt.Fprintf(c.stderr, "Is the endpoint still there and enabled? 'paylinks webhooks endpoints get %s' shows it.\n", id)
			return errShown
		}
		for _, d := range ds.JSON200.Data {
			if len(d.Attempts) == 0 {
				continue
			}
			a := d.Attempts[0]
			if a.Outcome == api.DeliveryAttemptOutcomeSucceeded {
				fmt.Fprintf(out, "The endpoint answered %s in %dms.\n", httpStatusText(a.HttpStatus), a.DurationMs)
				return nil
			}
			why := deref(a.Error)
			if why == "" {
				why = "answered " + httpStatusText(a.HttpStatus)
			}
			fmt.Fprintf(c.stderr, "%s: the endpoint did not accept the test event: %s (after %dms).\n", g.cmd, why, a.DurationMs)
			fmt.Fprintf(c.stderr, "paylinks retries it; 'paylinks events deliveries %s' shows the attempts.\n", ev.Id)
			return errShown
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(c.stderr, "%s: no attempt recorded within %s; 'paylinks events deliveries %s' shows it when there is one.\n", g.cmd, wait, ev.Id)
			return errShown
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *cli) endpointsDeliveriesCmd() *cobra.Command {
	var (
		pages  pageFlags
		status string
	)
	cmd := &cobra.Command{
		Use:   "deliveries ID",
		Short: "Show the deliveries to one endpoint, every attempt",
		Long: `Shows what was delivered to one endpoint, newest first: one line per attempt (a delivery not
attempted yet gets one line too), with the event, the endpoint's HTTP status or the error.`,
		Example: `  paylinks webhooks endpoints deliveries we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks webhooks endpoints deliveries we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --status failed --limit 0`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.endpointDeliveries(cmd.Context(), args[0], status, &pages)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only deliveries in this `status`: pending, delivered, failed, canceled")
	pages.register(cmd.Flags(), "deliveries")
	completeWith(cmd, "status", "pending", "delivered", "failed", "canceled")
	return cmd
}

func (c *cli) endpointDeliveries(ctx context.Context, id, status string, pages *pageFlags) error {
	g := &c.g
	params := api.ListEndpointDeliveriesParams{}
	if status != "" {
		if !api.DeliveryStatus(status).Valid() {
			return usagef("--status %q: use pending, delivered, failed or canceled", status)
		}
		params.Status = (*api.DeliveryStatus)(&status)
	}
	size, err := pages.size("deliveries")
	if err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	list, err := collect(g, pages, size, func(limit int, cursor *string) (page[api.Delivery], error) {
		params.Limit, params.Cursor = &limit, cursor
		res, err := cl.ListEndpointDeliveriesWithResponse(ctx, id, &params)
		if err != nil {
			return page[api.Delivery]{}, c.transportError(g, err, failure{})
		}
		if res.JSON200 == nil {
			return page[api.Delivery]{}, c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
		}
		return page[api.Delivery]{res.JSON200.Data, res.Body, res.JSON200.NextCursor}, nil
	})
	if err != nil {
		return err
	}
	if g.json() {
		return list.printJSON(c)
	}
	if len(list.items) == 0 {
		fmt.Fprintln(c.stdout, "No deliveries.")
		return nil
	}
	writeDeliveryTable(c.stdout, list.items, true)
	list.moreNote(c, "deliveries")
	return nil
}

// withoutSecret is the endpoint of a create answer, for the detail view (the secret is printed
// apart, once).
func withoutSecret(e api.WebhookEndpointWithSecret) api.WebhookEndpoint {
	return api.WebhookEndpoint{Id: e.Id, Url: e.Url, Description: e.Description, Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, PreviousSecretExpiresAt: e.PreviousSecretExpiresAt,
		EventTypes: e.EventTypes, Providers: e.Providers}
}

// writeEndpointDetail writes an endpoint's fields, one per line.
func writeEndpointDetail(w io.Writer, e api.WebhookEndpoint) {
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	row("ID", e.Id)
	row("URL", e.Url)
	row("Events", typesText(e.EventTypes))
	row("Providers", providersText(e.Providers))
	row("State", endpointState(e))
	if e.Description != nil {
		row("Description", *e.Description)
	}
	if e.PreviousSecretExpiresAt != nil {
		row("Previous secret", "signs until "+timestamp(e.PreviousSecretExpiresAt))
	}
	row("Created", timestamp(&e.CreatedAt))
	row("Updated", timestamp(&e.UpdatedAt))
	tw.Flush()
}

func endpointState(e api.WebhookEndpoint) string {
	switch {
	case !e.Disabled:
		return "enabled"
	case e.DisabledReason != nil && *e.DisabledReason != "":
		return "disabled: " + *e.DisabledReason
	}
	return "disabled"
}

func typesText(ts []api.EventType) string {
	if len(ts) == 0 {
		return "all"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func providersText(ps []api.ProviderName) string {
	if len(ps) == 0 {
		return "all"
	}
	return strings.Join(ps, ",")
}

// httpStatusText writes "200 OK", or "no answer".
func httpStatusText(code *int) string {
	if code == nil {
		return "no answer"
	}
	return statusLine(*code)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
