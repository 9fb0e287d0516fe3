package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// webhooksRegisterCmd is `paylinks webhooks register`.
func (c *cli) webhooksRegisterCmd() *cobra.Command {
	var providers []string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Subscribe paylinks to the providers' webhooks (idempotent)",
		Long: `Asks the server to create the provider-side subscriptions that are missing, pointing at its
PAYLINKS_PUBLIC_URL + /webhooks/<provider>, and to keep their secrets (encrypted under
PAYLINKS_SECRETS_KEY; never shown). Running it again creates nothing new. MijnKlantportaal gets one
record per payment-link event type (records made by hand for the same URL are adopted); Hub2 one
subscription. Mollie needs none (each link names its webhookUrl), Telness sends no webhooks, and
providers on their sandbox are left alone: the table says so.`,
		Example: `  paylinks webhooks register
  paylinks webhooks register --providers hub2
  paylinks webhooks register --output json | jq '.data[] | {provider, secretSource}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.webhooksRegister(cmd.Context(), providers) },
	}
	cmd.Flags().StringSliceVar(&providers, "providers", nil, "only these `providers`, comma-separated (default all)")
	return cmd
}

func (c *cli) webhooksRegister(ctx context.Context, providers []string) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	body := api.RegisterProviderWebhooksRequest{}
	var names []api.ProviderName
	for _, p := range providers {
		if p = strings.TrimSpace(p); p != "" {
			names = append(names, p)
		}
	}
	if len(names) > 0 {
		body.Providers = &names
	}
	res, err := cl.RegisterProviderWebhooksWithResponse(ctx, body)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		f := failure{hint: "Nothing is lost: fix the cause and run it again (it only creates what is missing)."}
		if res.ApplicationproblemJSON422 != nil && res.ApplicationproblemJSON422.Violations != nil {
			for _, v := range *res.ApplicationproblemJSON422.Violations {
				if v.Field == "PAYLINKS_PUBLIC_URL" {
					f.hint = "Start the server with PAYLINKS_PUBLIC_URL=https://<the host providers reach it at> (or PAYLINKS_WEBHOOK_ALLOW_PRIVATE=true for a test on a private network)."
				}
			}
		}
		return c.problemError(g, res, res.HTTPResponse.Header, f)
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "PROVIDER\tREGISTRATION\tSECRETS\tEVENTS\tOUTCOME\tURL")
	for _, p := range res.JSON200.Data {
		if len(p.Subscriptions) == 0 {
			url := "-"
			if p.InboundUrls != nil && len(*p.InboundUrls) > 0 {
				url = strings.Join(*p.InboundUrls, " ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t%s\n", p.Provider, p.Registration, p.SecretSource, url)
			continue
		}
		for _, s := range p.Subscriptions {
			outcome := "-"
			if s.Outcome != nil {
				outcome = string(*s.Outcome)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Provider, p.Registration, p.SecretSource, orNone(strings.Join(s.Events, ",")), outcome, s.Url)
		}
	}
	tw.Flush()
	for _, p := range res.JSON200.Data {
		if p.Note != nil {
			fmt.Fprintf(c.stdout, "%s: %s\n", p.Provider, *p.Note)
		}
	}
	return nil
}
