package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/pflag"

	"github.com/paylinks/paylinks/impl/events"
)

// Command is `paylinks serve` as the command line runs it (it satisfies impl/cli.Server): its flags,
// the PAYLINKS_* environment they override, and the run. It lives beside FromEnv so that the binary
// only hands it to the CLI, which must not import the server.
type Command struct {
	flags struct {
		addr, publicURL, mode, logLevel string
		dataDir, metricsAddr            string
		providerTimeout, drainGrace     time.Duration
		logFlush                        time.Duration
		retries, maxHeaderBytes         int
		maxBodyBytes                    int64
		failOpen                        bool
		sandboxSeed                     uint64
	}
	cfg Config
	// pprofAddr, when set (PAYLINKS_PPROF_ADDR, loopback only), serves Go's profiles there.
	pprofAddr string
}

// AddFlags registers the flags of serve on fs, with the server's defaults. Secrets have no flag:
// they come from the environment only.
func (c *Command) AddFlags(fs *pflag.FlagSet) {
	d, _ := FromEnv(func(string) string { return "" }) // the defaults FromEnv applies
	d = d.withDefaults()
	f := &c.flags
	fs.StringVar(&f.addr, "addr", d.Addr, "listen address (PAYLINKS_ADDR)")
	fs.StringVar(&f.publicURL, "public-url", "", "URL callers reach this server at; checkout links point here (PAYLINKS_PUBLIC_URL; default http://<addr>)")
	fs.StringVar(&f.mode, "mode", string(d.Mode), "validation mode: enforce or report (PAYLINKS_VALIDATION_MODE)")
	fs.DurationVar(&f.providerTimeout, "provider-timeout", d.ProviderTimeout, "timeout of one provider call, retries included (PAYLINKS_PROVIDER_TIMEOUT)")
	fs.IntVar(&f.retries, "retries", d.MaxRetries, "retries of safe provider calls (PAYLINKS_PROVIDER_RETRIES)")
	fs.Int64Var(&f.maxBodyBytes, "max-body-bytes", d.MaxBodyBytes, "largest request body accepted (PAYLINKS_MAX_BODY_BYTES)")
	fs.IntVar(&f.maxHeaderBytes, "max-header-bytes", d.MaxHeaderBytes, "largest request header block accepted (PAYLINKS_MAX_HEADER_BYTES)")
	fs.BoolVar(&f.failOpen, "idempotency-fail-open", false, "when Redis is down, serve requests with an Idempotency-Key without the guarantee instead of refusing them with 503 (PAYLINKS_IDEMPOTENCY_FAIL_OPEN)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics on this address instead of on --addr (PAYLINKS_METRICS_ADDR)")
	fs.DurationVar(&f.drainGrace, "drain-grace", d.DrainGrace, "on SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes (PAYLINKS_DRAIN_GRACE)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (PAYLINKS_LOG_LEVEL)")
	fs.DurationVar(&f.logFlush, "log-flush", d.LogFlush, "how long request log lines may wait to be written together (0: each at once; PAYLINKS_LOG_FLUSH)")
	fs.Uint64Var(&f.sandboxSeed, "sandbox-seed", 0, "seed of the sandboxes' ids (0: a random seed kept in the data directory)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory of the event database and the sandboxes' seed (PAYLINKS_DATA_DIR; default $XDG_DATA_HOME/paylinks or ~/.local/share/paylinks)")
}

// Configure reads the configuration from the environment (FromEnv) and the flags of fs, parsed:
// a flag given overrides its variable. The server logs to logs. Its error names a bad value.
func (c *Command) Configure(fs *pflag.FlagSet, getenv func(string) string, logs io.Writer) error {
	cfg, err := FromEnv(getenv)
	if err != nil {
		return err
	}
	level := getenv("PAYLINKS_LOG_LEVEL")
	f := &c.flags
	fs.Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "addr":
			cfg.Addr = f.addr
		case "public-url":
			cfg.PublicURL = f.publicURL
		case "mode":
			cfg.Mode = Mode(f.mode)
		case "provider-timeout":
			cfg.ProviderTimeout = f.providerTimeout
		case "retries":
			cfg.MaxRetries = f.retries
		case "max-body-bytes":
			cfg.MaxBodyBytes = f.maxBodyBytes
		case "max-header-bytes":
			cfg.MaxHeaderBytes = f.maxHeaderBytes
		case "idempotency-fail-open":
			cfg.IdempotencyFailOpen = f.failOpen
		case "metrics-addr":
			cfg.MetricsAddr = f.metricsAddr
		case "drain-grace":
			cfg.DrainGrace = f.drainGrace
		case "log-level":
			level = f.logLevel
		case "log-flush":
			cfg.LogFlush = f.logFlush
		}
	})
	cfg.SandboxSeed = f.sandboxSeed
	if err := checkLogFlush(cfg.LogFlush); err != nil {
		return fmt.Errorf("--log-flush %s: %w", cfg.LogFlush, err)
	}
	lvl, err := ParseLevel(level)
	if err != nil {
		return err
	}
	cfg.Logger = NewLogger(logs, lvl)
	cfg = cfg.withDefaults()
	if err := cfg.Mode.check(); err != nil {
		return err
	}
	// The data directory is always set when serving: events are kept there unless PostgreSQL is
	// configured, and the sandboxes' seed in any case.
	if cfg.Events.DataDir, err = events.DataDir(f.dataDir, getenv); err != nil {
		return err
	}
	if c.pprofAddr = getenv("PAYLINKS_PPROF_ADDR"); c.pprofAddr != "" {
		if err := checkPprofAddr(c.pprofAddr); err != nil {
			return err
		}
	}
	// Go's own GC settings (GOGC=100): GOGC=200 saved no CPU the load tests could measure and cost
	// 5 MB of peak RSS (bench/README.md). GOGC and GOMEMLIMIT still apply.
	c.cfg = cfg
	return nil
}

// Run starts the server Configure configured, listening on its address, and serves until ctx is
// done (then drains the requests in flight).
func (c *Command) Run(ctx context.Context) error {
	srv, err := New(c.cfg)
	if err != nil {
		return err
	}
	if c.pprofAddr != "" {
		ps, addr, err := servePprof(c.pprofAddr)
		if err != nil {
			srv.Close()
			return err
		}
		defer ps.Close()
		c.cfg.Logger.Info("serving Go profiles (PAYLINKS_PPROF_ADDR)", "addr", "http://"+addr+"/debug/pprof/")
	}
	ln, err := net.Listen("tcp", c.cfg.Addr)
	if err != nil {
		srv.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}

// check refuses a mode other than Enforce and Report.
func (m Mode) check() error {
	if m != Enforce && m != Report {
		return fmt.Errorf("validation mode %q: use enforce or report", m)
	}
	return nil
}
