package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Server is what `paylinks serve` runs. The binary passes the server's (impl/server.Command): this
// package must not import the server, it speaks the unified API only.
type Server interface {
	// AddFlags registers the flags of serve on fs, once, when the command tree is built.
	AddFlags(fs *pflag.FlagSet)
	// Configure reads the environment and the parsed flags (a flag given overrides its PAYLINKS_*
	// variable); the server logs to logs. Its error is a wrong configuration: exit 2.
	Configure(fs *pflag.FlagSet, getenv func(string) string, logs io.Writer) error
	// Run serves until ctx is done, then shuts down gracefully. Its error is a failure: exit 1.
	Run(ctx context.Context) error
}

func (c *cli) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy (embedded sandboxes when no provider is configured)",
		Long: `Runs the unified API (/v1), the validated passthrough (/providers/<name>/…), the sandboxes
(/sandbox/…), /openapi.yaml, /docs, /healthz, /readyz and /metrics, until interrupted
(SIGINT or SIGTERM: requests in flight are drained first).

With no provider configured every provider runs on its embedded sandbox and the demo API key
sk_sandbox_demo is accepted. Configuration comes from PAYLINKS_* environment variables (see the
README); flags override them. Secrets (API keys, provider credentials) are read from the
environment only, never from flags.`,
		Example: `  paylinks serve
  paylinks serve --addr :8080 --public-url https://pay.example.com --log-level debug
  PAYLINKS_API_KEYS=sk_live_1 PAYLINKS_HUB2_BASE_URL=https://api.hub2.io \
    PAYLINKS_HUB2_API_KEY=… PAYLINKS_HUB2_MERCHANT_ID=… PAYLINKS_HUB2_ENVIRONMENT=live paylinks serve --addr :8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.server.Configure(cmd.Flags(), c.getenv, c.stderr); err != nil {
				return &usageError{msg: err.Error(),
					hint: "Run 'paylinks serve --help' for the flags; the README lists the PAYLINKS_* variables."}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return c.server.Run(ctx)
		},
	}
	c.server.AddFlags(cmd.Flags())
	return cmd
}
