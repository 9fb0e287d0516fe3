package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// configure runs the command line of serve: flags registered, args parsed, then Configure.
func configure(t *testing.T, env map[string]string, args []string, logs io.Writer) (*Command, error) {
	t.Helper()
	c := &Command{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir() // never the developer's own data directory
	return c, c.Configure(fs, func(k string) string {
		if v, ok := env[k]; ok || k != "PAYLINKS_DATA_DIR" {
			return v
		}
		return dataDir
	}, logs)
}

func TestCommandConfigure(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"PAYLINKS_ADDR": ":9000", "PAYLINKS_PUBLIC_URL": "https://env.example", "PAYLINKS_VALIDATION_MODE": "report",
		"PAYLINKS_PROVIDER_TIMEOUT": "3s", "PAYLINKS_PROVIDER_RETRIES": "5", "PAYLINKS_MAX_BODY_BYTES": "100",
		"PAYLINKS_MAX_HEADER_BYTES": "200", "PAYLINKS_IDEMPOTENCY_FAIL_OPEN": "true", "PAYLINKS_LOG_LEVEL": "debug",
	}
	type settings struct {
		addr, publicURL    string
		mode               Mode
		timeout            time.Duration
		retries, maxHeader int
		maxBody            int64
		failOpen           bool
		seed               uint64
		level              slog.Level
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{"defaults", nil, nil,
			settings{"127.0.0.1:8080", "http://127.0.0.1:8080", Enforce, 10 * time.Second, 2, 32 << 10, 1 << 20, false, 0, slog.LevelInfo}},
		{"environment", env, nil,
			settings{":9000", "https://env.example", Report, 3 * time.Second, 5, 200, 100, true, 0, slog.LevelDebug}},
		{"flags override the environment", env, []string{"--addr", "127.0.0.1:1", "--public-url", "https://flag.example", "--mode", "enforce",
			"--provider-timeout", "1s", "--retries", "0", "--max-body-bytes", "10", "--max-header-bytes", "20",
			"--idempotency-fail-open=false", "--log-level", "error", "--sandbox-seed", "7"},
			settings{"127.0.0.1:1", "https://flag.example", Enforce, time.Second, 0, 20, 10, false, 7, slog.LevelError}},
		{"a flag given overrides only its variable", env, []string{"--retries", "1"},
			settings{":9000", "https://env.example", Report, 3 * time.Second, 1, 200, 100, true, 0, slog.LevelDebug}},
		{"public URL follows the address", nil, []string{"--addr", "127.0.0.1:9999"},
			settings{"127.0.0.1:9999", "http://127.0.0.1:9999", Enforce, 10 * time.Second, 2, 32 << 10, 1 << 20, false, 0, slog.LevelInfo}},
		{"a flag repairs a bad variable", map[string]string{"PAYLINKS_VALIDATION_MODE": "strict", "PAYLINKS_LOG_LEVEL": "loud"}, []string{"--mode", "report", "--log-level", "warn"},
			settings{"127.0.0.1:8080", "http://127.0.0.1:8080", Report, 10 * time.Second, 2, 32 << 10, 1 << 20, false, 0, slog.LevelWarn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := configure(t, tt.env, tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg := c.cfg
			level := slog.LevelError + 4
			for _, l := range []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug} {
				if cfg.Logger.Enabled(context.Background(), l) {
					level = l
				}
			}
			got := settings{cfg.Addr, cfg.PublicURL, cfg.Mode, cfg.ProviderTimeout, cfg.MaxRetries, cfg.MaxHeaderBytes,
				cfg.MaxBodyBytes, cfg.IdempotencyFailOpen, cfg.SandboxSeed, level}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCommandConfigureRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad variable", map[string]string{"PAYLINKS_PROVIDER_RETRIES": "x"}, nil, `PAYLINKS_PROVIDER_RETRIES="x"`},
		{"bad variable, even with its flag", map[string]string{"PAYLINKS_PROVIDER_TIMEOUT": "soon"}, []string{"--provider-timeout", "1s"}, `PAYLINKS_PROVIDER_TIMEOUT="soon"`},
		{"bad mode flag", nil, []string{"--mode", "strict"}, `validation mode "strict": use enforce or report`},
		{"bad mode variable", map[string]string{"PAYLINKS_VALIDATION_MODE": "strict"}, nil, `validation mode "strict"`},
		{"bad log level flag", nil, []string{"--log-level", "loud"}, `log level "loud"`},
		{"bad log level variable", map[string]string{"PAYLINKS_LOG_LEVEL": "loud"}, nil, `log level "loud"`},
		{"profiles on every interface", map[string]string{"PAYLINKS_PPROF_ADDR": "0.0.0.0:6060"}, nil, "loopback address only"},
		{"profiles on an empty host", map[string]string{"PAYLINKS_PPROF_ADDR": ":6060"}, nil, "loopback address only"},
		{"profiles on a public name", map[string]string{"PAYLINKS_PPROF_ADDR": "example.com:6060"}, nil, "loopback address only"},
		{"profiles without a port", map[string]string{"PAYLINKS_PPROF_ADDR": "127.0.0.1"}, nil, "give host:port"},
		{"bad log flush variable", map[string]string{"PAYLINKS_LOG_FLUSH": "soon"}, nil, `PAYLINKS_LOG_FLUSH="soon"`},
		{"log flush variable too long", map[string]string{"PAYLINKS_LOG_FLUSH": "1m"}, nil, `to 10s`},
		{"log flush flag too long", nil, []string{"--log-flush", "11s"}, `--log-flush 11s`},
		{"negative log flush flag", nil, []string{"--log-flush=-1s"}, `--log-flush -1s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := configure(t, tt.env, tt.args, io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestCommandRun(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	c, err := configure(t, map[string]string{"GOGC": "100"}, []string{"--addr", "127.0.0.1:0"}, logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
		if !strings.Contains(logs.String(), `"msg":"stopped"`) {
			t.Errorf("no graceful stop in the logs:\n%s", logs)
		}
	}()

	var addr string
	for deadline := time.Now().Add(60 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "paylinks serving" {
				addr = l.Addr
			}
		}
	}
	if addr == "" {
		t.Fatalf("the server did not start:\n%s", logs)
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
}

func TestCommandRunCannotListen(t *testing.T) {
	t.Parallel()
	c, err := configure(t, map[string]string{"GOGC": "100"}, []string{"--addr", "127.0.0.1:99999"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "99999") {
		t.Errorf("Run on a bad address: %v", err)
	}
}

func TestPprofServedOnLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if err := checkPprofAddr(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	srv, addr, err := servePprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("heap profile: %d %.200s", res.StatusCode, body)
	}
}
