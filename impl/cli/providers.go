package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (c *cli) providersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the providers, their mode and capabilities",
		Long: `Lists the providers the server is configured with, in registration order: whether each runs on
its embedded sandbox or live, which operations it supports (create, get, list, close), whether
links carry amounts, can be reused or left open for the payer to fill in, the currencies it
takes, whether the provider itself honours idempotency keys, and notes on its mapping.`,
		Example: `  paylinks providers
  paylinks providers --output json | jq -r '.data[] | select(.capabilities.reusableLinks) | .name'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.providers(cmd.Context()) },
	}
	c.clientFlags(cmd)
	return cmd
}

func (c *cli) providers(ctx context.Context) error {
	g := &c.g
	cl, err := g.client()
	if err != nil {
		return err
	}
	res, err := cl.ListProvidersWithResponse(ctx)
	if err != nil {
		return c.transportError(g, err, failure{})
	}
	if res.JSON200 == nil {
		return c.problemError(g, res, res.HTTPResponse.Header, failure{})
	}
	if g.json() {
		c.printJSON(res.Body)
		return nil
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "NAME\tMODE\tOPERATIONS\tAMOUNTS\tCURRENCIES\tREUSABLE\tOPEN AMOUNT\tNATIVE IDEMPOTENCY")
	for _, p := range res.JSON200.Data {
		cp := p.Capabilities
		ops := make([]string, len(cp.Operations))
		for i, op := range cp.Operations {
			ops[i] = string(op)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Mode, orNone(strings.Join(ops, ",")),
			yesNo(cp.Amounts), orNone(strings.Join(cp.Currencies, ",")), yesNo(cp.ReusableLinks), yesNo(cp.OpenAmount), yesNo(cp.NativeIdempotency))
	}
	tw.Flush()
	for _, p := range res.JSON200.Data {
		if len(p.Capabilities.Notes) == 0 {
			continue
		}
		fmt.Fprintf(c.stdout, "\n%s:\n", p.Name)
		for _, n := range p.Capabilities.Notes {
			fmt.Fprintf(c.stdout, "  - %s\n", n)
		}
	}
	return nil
}
