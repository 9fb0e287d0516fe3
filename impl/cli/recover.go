package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// The commands that change an endpoint after it was made, and that deliver again what was
// delivered before: webhooks endpoints update and recover, events redeliver.

// endpointUpdateOptions are the flags of webhooks endpoints update.
type endpointUpdateOptions struct {
	url, description  string
	events, providers []string
	disable, enable   bool
}

func (c *cli) endpointsUpdateCmd() *cobra.Command {
	o := &endpointUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [flags]",
		Short: "Change an endpoint's URL, event types, providers or description, or disable it",
		Long: `Changes what is given and keeps the rest. --events all and --providers all go back to every
type and every provider; --description "" clears the note. --disable stops deliveries to the
endpoint (they wait, pending, until it is enabled); --enable resumes them, also after paylinks
disabled the endpoint itself (410, or failing for days).`,
		Example: `  paylinks webhooks endpoints update we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --url https://shop.example.com/hooks/v2
  paylinks webhooks endpoints update we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --events payment_link.completed --providers all
  paylinks webhooks endpoints update we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --enable`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.endpointsUpdate(cmd, args[0], o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.url, "url", "", "deliver to this https URL from now on")
	fs.StringSliceVar(&o.events, "events", nil, "only these event `types`, comma-separated, or all: "+strings.Join(eventTypes, ", "))
	fs.StringSliceVar(&o.providers, "providers", nil, "only events of links of these `providers`, comma-separated, or all")
	fs.StringVar(&o.description, "description", "", "a note for people (\"\" clears it)")
	fs.BoolVar(&o.disable, "disable", false, "stop delivering to the endpoint (deliveries wait)")
	fs.BoolVar(&o.enable, "enable", false, "deliver to the endpoint again")
	completeWith(cmd, "events", append([]string{"all"}, eventTypes...)...)
	return cmd
}

func (c *cli) endpointsUpdate(cmd *cobra.Command, id string, o *endpointUpdateOptions) error {
	g := &c.g
	fs := cmd.Flags()
	body := api.UpdateWebhookEndpointRequest{}
	changed := false
	if fs.Changed("url") {
		if err := absoluteURL("url", o.url); err != nil {
			return err
		}
		body.Url, changed = &o.url, true
	}
	if fs.Changed("events") {
		types := []api.EventType{}
		if !isAll(o.events) {
			var err error
			if types, err = eventTypeList("events", o.events); err != nil {
				return err
			}
			if len(types) == 0 {
				return usagef("--events: give event types, or all")
			}
		}
		body.EventTypes, changed = &types, true
	}
	if fs.Changed("providers") {
		providers := []api.ProviderName{}
		if !isAll(o.providers) {
			providers = trimmed(o.providers)
			if len(providers) == 0 {
				return usagef("--providers: give provider names, or all")
			}
		}
		body.Providers, changed = &providers, true
	}
	if fs.Changed("description") {
		body.Description, changed = &o.description, true
	}
	if o.disable && o.enable {
		return usagef("--disable and --enable: give one")
	}
	if o.disable || o.enable {
		disabled := o.disable
		body.Disabled, changed = &disabled, true
	}
	if !changed {
		return &usageError{msg: "nothing to change",
			hint: "Give at least one of --url, --events, --providers, --description, --disable, --enable."}
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.UpdateWebhookEndpointWithResponse(cmd.Context(), id, body)
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
}

func (c *cli) endpointsRecoverCmd() *cobra.Command {
	var since, until string
	cmd := &cobra.Command{
		Use:   "recover ID --since TIME [--until TIME]",
		Short: "Deliver again what failed to an endpoint in a time window",
		Long: `Makes every delivery to this endpoint that failed (all its retries used up, or the endpoint
disabled) and was made between --since and --until (default now) pending again, with a fresh
retry schedule. Use it once a receiver that was
down for longer than the retry schedule is back. TIME is an RFC 3339 time or a duration before
now (90m, 24h, 7d). The new deliveries carry the same webhook-id as the failed ones.`,
		Example: `  paylinks webhooks endpoints recover we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --since 72h
  paylinks webhooks endpoints recover we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --since 2026-11-28T00:00:00Z --until 2026-11-29T00:00:00Z`,
		Args: oneEndpointID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.endpointsRecover(cmd.Context(), args[0], since, until)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "from this `time`: RFC 3339, or a duration before now such as 24h (required)")
	cmd.Flags().StringVar(&until, "until", "", "up to this `time` (default now)")
	return cmd
}

func (c *cli) endpointsRecover(ctx context.Context, id, since, until string) error {
	g := &c.g
	if since == "" {
		return &usageError{msg: "--since is required", hint: "Give where the window starts, e.g. --since 24h (a day ago) or --since 2026-11-28T00:00:00Z."}
	}
	now := time.Now()
	body := api.RecoverRequest{}
	var err error
	if body.Since, err = parseAgo(since, now); err != nil {
		return usagef("--since %q: %v", since, err)
	}
	if until != "" {
		u, err := parseAgo(until, now)
		if err != nil {
			return usagef("--until %q: %v", until, err)
		}
		if !u.After(body.Since) {
			return usagef("--until %s is not after --since %s", u.Format(time.RFC3339), body.Since.Format(time.RFC3339))
		}
		body.Until = &u
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.RecoverWebhookEndpointWithResponse(ctx, id, body)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON202 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: endpointNotFound})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	fmt.Fprintf(c.stdout, "Scheduled %s to %s.\n", plural(res.JSON202.Scheduled, "delivery", "deliveries"), id)
	if res.JSON202.Scheduled > 0 {
		fmt.Fprintf(c.stderr, "'paylinks webhooks endpoints deliveries %s --status pending' shows them until they are delivered.\n", id)
	}
	return nil
}

func (c *cli) eventsRedeliverCmd() *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "redeliver EVENT [--endpoint ID]",
		Short: "Deliver an event again, to every endpoint it went to or to one",
		Long: `Delivers the event again with a fresh retry schedule, whatever happened to the earlier
deliveries: to every endpoint it was delivered to, or with --endpoint to that one only (also one
it never went to, such as an endpoint made since). The delivery carries the same
webhook-id as before, so a receiver that already has the event can tell.`,
		Example: `  paylinks events redeliver evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8
  paylinks events redeliver evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8 --endpoint we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8`,
		Args: oneEventID,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := &c.g
			body := api.RedeliverRequest{}
			if endpoint != "" {
				body.EndpointId = &endpoint
			}
			cl, err := g.client()
			if err != nil {
				return err
			}
			res, err := cl.RedeliverEventWithResponse(cmd.Context(), args[0], body)
			if err != nil {
				return c.transportError(g, err, failure{})
			}
			if res.JSON202 == nil {
				return c.problemError(g, res, res.HTTPResponse.Header, failure{notFound: eventNotFound})
			}
			if g.json() {
				c.printJSON(res.Body)
				return nil
			}
			fmt.Fprintf(c.stdout, "Scheduled %s of %s.\n", plural(res.JSON202.Scheduled, "delivery", "deliveries"), args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "only to this endpoint `ID`")
	return cmd
}

// parseAgo reads an RFC 3339 time or a duration before now ("90m", "24h", "7d").
func parseAgo(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := parseDays(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("give an RFC 3339 time (2026-11-28T00:00:00Z) or a duration before now (90m, 24h, 7d)")
	}
	return now.Add(-d).UTC().Truncate(time.Second), nil
}

// absoluteURL checks that a flag's value is an absolute URL.
func absoluteURL(flag, s string) error {
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		return usagef("--%s %q is not an absolute URL such as https://shop.example.com/hooks", flag, s)
	}
	return nil
}

// isAll is a list flag given as "all".
func isAll(given []string) bool {
	return len(given) == 1 && strings.EqualFold(strings.TrimSpace(given[0]), "all")
}

// trimmed are the non-empty values of a list flag, trimmed.
func trimmed(given []string) []string {
	var out []string
	for _, s := range given {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
