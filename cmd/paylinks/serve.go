package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/paylinks/paylinks/impl/server"
)

const serveUsage = `Usage: paylinks serve [flags]

Runs the unified API (/v1), the validated passthrough (/providers/<name>/…), the sandboxes
(/sandbox/…), /openapi.yaml, /docs, /healthz, /readyz and /metrics.

With no provider configured every provider runs on its embedded sandbox and the demo API key
sk_sandbox_demo is accepted. Configuration comes from PAYLINKS_* environment variables (see the
README); flags override them. Secrets (API keys, provider credentials) are read from the
environment only, never from flags.

Examples:
  paylinks serve
  PAYLINKS_API_KEYS=sk_live_1 PAYLINKS_HUB2_BASE_URL=https://api.hub2.io \
    PAYLINKS_HUB2_API_KEY=… PAYLINKS_HUB2_MERCHANT_ID=… PAYLINKS_HUB2_ENVIRONMENT=live paylinks serve --addr :8080

Flags:
`

func serve(args []string, getenv func(string) string) int {
	cfg, err := server.FromEnv(getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paylinks serve:", err)
		return 2
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	addr := fs.String("addr", or(cfg.Addr, "127.0.0.1:8080"), "listen address (PAYLINKS_ADDR)")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "URL callers reach this server at; checkout links point here (PAYLINKS_PUBLIC_URL; default http://<addr>)")
	mode := fs.String("mode", or(string(cfg.Mode), "enforce"), "validation mode: enforce or report (PAYLINKS_VALIDATION_MODE)")
	fs.DurationVar(&cfg.ProviderTimeout, "provider-timeout", or(cfg.ProviderTimeout, defaultTimeout), "timeout of one provider call, retries included (PAYLINKS_PROVIDER_TIMEOUT)")
	fs.IntVar(&cfg.MaxRetries, "retries", cfg.MaxRetries, "retries of safe provider calls (PAYLINKS_PROVIDER_RETRIES)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", or(cfg.MaxBodyBytes, 1<<20), "largest request body accepted (PAYLINKS_MAX_BODY_BYTES)")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", or(cfg.MaxHeaderBytes, 32<<10), "largest request header block accepted (PAYLINKS_MAX_HEADER_BYTES)")
	fs.BoolVar(&cfg.IdempotencyFailOpen, "idempotency-fail-open", cfg.IdempotencyFailOpen, "when Redis is down, serve requests with an Idempotency-Key without the guarantee instead of refusing them with 503 (PAYLINKS_IDEMPOTENCY_FAIL_OPEN)")
	logLevel := fs.String("log-level", or(getenv("PAYLINKS_LOG_LEVEL"), "info"), "debug, info, warn or error (PAYLINKS_LOG_LEVEL)")
	fs.Uint64Var(&cfg.SandboxSeed, "sandbox-seed", 1, "seed of the sandboxes' ids")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "paylinks serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level, err := server.ParseLevel(*logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paylinks serve:", err)
		return 2
	}
	cfg.Addr, cfg.Mode = *addr, server.Mode(*mode)
	cfg.Logger = server.NewLogger(os.Stderr, level)

	if getenv("GOGC") == "" {
		// Collecting half as often costs a few MB of peak RSS and saves GC work on every answer
		// (bench/README.md). GOGC and GOMEMLIMIT override.
		debug.SetGCPercent(200)
	}
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paylinks serve:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paylinks serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "paylinks serve:", err)
		return 1
	}
	return 0
}

const defaultTimeout = 10 * time.Second

func or[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}
