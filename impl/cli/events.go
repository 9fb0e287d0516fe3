package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// eventTypes are the event types of the unified API, for validation hints and shell completion.
var eventTypes = []string{
	string(api.EventTypePaymentLinkCreated),
	string(api.EventTypePaymentLinkCompleted),
	string(api.EventTypePaymentLinkExpired),
	string(api.EventTypePaymentLinkClosed),
	string(api.EventTypeWebhookEndpointTest),
}

// eventTypeList checks event types given with flag (repeated or comma-separated), in the order
// given, without duplicates.
func eventTypeList(flag string, given []string) ([]api.EventType, error) {
	var out []api.EventType
	seen := map[string]bool{}
	for _, t := range given {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		if !api.EventType(t).Valid() {
			return nil, &usageError{msg: fmt.Sprintf("--%s %q is not an event type", flag, t),
				hint: "Use " + orList(eventTypes) + " (comma-separated for several)."}
		}
		seen[t] = true
		out = append(out, api.EventType(t))
	}
	return out, nil
}

// oneEventID takes one event id.
var oneEventID = oneArg("event ID", "the id of an event", "evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8", "paylinks events list")

// eventNotFound is the hint of an unknown event id.
const eventNotFound = "Check the id: 'paylinks events list' shows the events (ids start with evt_)."

func (c *cli) eventsCmd() *cobra.Command {
	events := c.group(&cobra.Command{
		Use:   "events",
		Short: "List and show link events, and their deliveries to webhook endpoints",
		Long: `Link events are the durable log of what happened to payment links: created, completed (paid),
expired, closed, whatever saw it first (the unified API, the poller, a provider's webhook), and
the webhook endpoints' test events. Events belong to the deployment: any valid API key sees all.
To watch them as they happen, use 'paylinks listen'.`,
		Example: `  paylinks events list --type payment_link.completed
  paylinks events list --link mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4
  paylinks events get evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks events deliveries evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks events redeliver evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8`,
	})
	c.clientFlags(events)
	events.AddCommand(c.eventsListCmd(), c.eventsGetCmd(), c.eventsDeliveriesCmd(), c.eventsRedeliverCmd())
	return events
}

// eventsListOptions are the flags of events list.
type eventsListOptions struct {
	typ, link, provider string
	pages               pageFlags
}

func (c *cli) eventsListCmd() *cobra.Command {
	o := &eventsListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List events, newest first, following the cursor",
		Long: `Lists events, newest first: all of them, or those of one type, one link or one provider's
links. Follows the server's cursor across pages until --limit events are shown or there are no
more.`,
		Example: `  paylinks events list
  paylinks events list --type payment_link.completed --provider hub2 --limit 0
  paylinks events list --link mijnklantportaal_cGxrX2FiYzEyMzQ1ZGVmNjc4 --output json | jq -r '.data[].type'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.eventsList(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.typ, "type", "", "only events of this `type`: "+strings.Join(eventTypes, ", "))
	fs.StringVar(&o.link, "link", "", "only events of this link (its paylinks `id`)")
	fs.StringVar(&o.provider, "provider", "", "only events of links of this `provider`")
	o.pages.register(fs, "events")
	completeWith(cmd, "type", eventTypes...)
	return cmd
}

func (c *cli) eventsList(ctx context.Context, o *eventsListOptions) error {
	g := &c.g
	params := api.ListEventsParams{}
	if o.typ != "" {
		types, err := eventTypeList("type", []string{o.typ})
		if err != nil {
			return err
		}
		params.Type = &types[0]
	}
	size, err := o.pages.size("events")
	if err != nil {
		return err
	}
	if o.link != "" {
		params.LinkId = &o.link
	}
	if o.provider != "" {
		params.Provider = &o.provider
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	list, err := collect(g, &o.pages, size, func(limit int, cursor *string) (page[api.Event], error) {
		params.Limit, params.Cursor = &limit, cursor
		res, err := cl.ListEventsWithResponse(ctx, &params)
		if err != nil {
			return page[api.Event]{}, c.transportError(g, err, failure{})
		}
		if res.JSON200 == nil {
			return page[api.Event]{}, c.problemError(g, res, res.HTTPResponse.Header, failure{})
		}
		return page[api.Event]{res.JSON200.Data, res.Body, res.JSON200.NextCursor}, nil
	})
	if err != nil {
		return err
	}
	if g.json() {
		return list.printJSON(c)
	}
	if len(list.items) == 0 {
		fmt.Fprintln(c.stdout, "No events.")
		if o.typ != "" || o.link != "" || o.provider != "" {
			fmt.Fprintln(c.stderr, "Nothing matches the filters; try without --type, --link or --provider.")
		}
		return nil
	}
	writeEventTable(c.stdout, list.items)
	list.moreNote(c, "events")
	return nil
}

func (c *cli) eventsGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one event",
		Long: `Shows one event: its type, when and by what it was seen, and the link as it was after the
transition (exactly what GET /v1/payment-links/{id} answered then). --output json prints the
event as webhook endpoints receive it.`,
		Example: `  paylinks events get evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks events get evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --output json | jq .data.link.status`,
		Args: oneEventID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.eventsGet(cmd.Context(), args[0])
		},
	}
}

func (c *cli) eventsGet(ctx context.Context, id string) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.GetEventWithResponse(ctx, id)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: eventNotFound})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	writeEventDetail(c.stdout, *res.JSON200)
	return nil
}

func (c *cli) eventsDeliveriesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "deliveries ID",
		Short: "Show the deliveries of one event to webhook endpoints, every attempt",
		Long: `Shows where an event was delivered: one delivery per webhook endpoint it matched, with its
status (pending, delivered, failed, canceled) and every attempt made: when, how long it took, the
endpoint's HTTP status or the error, and the outcome.`,
		Example: `  paylinks events deliveries evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks events deliveries evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --output json | jq '.data[].attempts[-1]'`,
		Args: oneEventID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.eventsDeliveries(cmd.Context(), args[0])
		},
	}
}

func (c *cli) eventsDeliveries(ctx context.Context, id string) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.ListEventDeliveriesWithResponse(ctx, id)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: eventNotFound})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	if len(res.JSON200.Data) == 0 {
		fmt.Fprintln(c.stdout, "No deliveries: no webhook endpoint took this event when it was emitted.")
		return nil
	}
	writeDeliveryTable(c.stdout, res.JSON200.Data, false)
	return nil
}

// eventLink is what a table says of an event's link: its id, provider and status ("-" for an
// event of no link, such as webhook_endpoint.test).
func eventLink(e api.Event) (id, provider, st string) {
	l := e.Data.Link
	if l == nil {
		return none, none, none
	}
	return l.Id, l.Provider, status(*l)
}

// writeEventTable writes events as an aligned table, one line each.
func writeEventTable(w io.Writer, evs []api.Event) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTYPE\tLINK\tPROVIDER\tSTATUS\tSOURCE\tTIME")
	for _, e := range evs {
		id, provider, st := eventLink(e)
		src := none
		if e.Data.Source != nil {
			src = string(*e.Data.Source)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Id, e.Type, id, provider, st, src, timestamp(&e.Timestamp))
	}
	tw.Flush()
}

// writeEventDetail writes an event's fields, then those of its link.
func writeEventDetail(w io.Writer, e api.Event) {
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	row("ID", e.Id)
	row("Type", string(e.Type))
	row("Time", timestamp(&e.Timestamp))
	d := e.Data
	if d.Source != nil {
		row("Source", string(*d.Source))
	}
	if d.Sequence != nil && d.Link != nil {
		row("Sequence", fmt.Sprintf("%d (transitions of this link so far)", *d.Sequence))
	}
	if d.PreviousStatus != nil {
		row("Previous", string(*d.PreviousStatus))
	}
	if d.EndpointId != nil {
		row("Endpoint", *d.EndpointId)
	}
	if d.Link != nil {
		row("Link", "(as it was after this event)")
		for _, r := range linkRows(*d.Link) {
			row("  "+r[0], r[1])
		}
	}
	tw.Flush()
}

// writeDeliveryTable writes deliveries one line per attempt (a delivery not attempted yet gets
// one line too). byEndpoint lists the deliveries of one endpoint (its first column is the event);
// otherwise those of one event (the first column is the endpoint).
func writeDeliveryTable(w io.Writer, ds []api.Delivery, byEndpoint bool) {
	tw := newTable(w)
	first := "ENDPOINT"
	if byEndpoint {
		first = "EVENT"
	}
	fmt.Fprintf(tw, "%s\tSTATUS\tATTEMPT\tAT\tDURATION\tHTTP\tOUTCOME\tERROR\n", first)
	for _, d := range ds {
		who := d.EndpointId
		if byEndpoint {
			who = d.EventId
		}
		for _, a := range d.Attempts {
			httpStatus := none
			if a.HttpStatus != nil {
				httpStatus = fmt.Sprint(*a.HttpStatus)
			}
			errText := none
			if a.Error != nil && *a.Error != "" {
				errText = truncate(*a.Error, 60)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%dms\t%s\t%s\t%s\n", who, d.Status, a.Attempt, timestamp(&a.AttemptedAt),
				a.DurationMs, httpStatus, a.Outcome, errText)
		}
		if d.NextAttemptAt != nil {
			fmt.Fprintf(tw, "%s\t%s\tnext\t%s\t%s\t%s\t%s\t%s\n", who, d.Status, timestamp(d.NextAttemptAt), none, none, none, none)
		} else if len(d.Attempts) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", who, d.Status, none, none, none, none, none, none)
		}
	}
	tw.Flush()
}
