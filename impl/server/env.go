package server

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/telemetry"
)

// FromEnv reads the configuration from PAYLINKS_* environment variables (see the README). Flags
// given to `paylinks serve` override it.
//
//	PAYLINKS_API_KEYS                  comma-separated bearer keys of callers
//	PAYLINKS_<PROVIDER>_BASE_URL       a real provider; unset = its embedded sandbox
//	PAYLINKS_<PROVIDER>_<CREDENTIAL>   e.g. PAYLINKS_HUB2_API_KEY
//	PAYLINKS_<PROVIDER>_TIMEOUT        per-provider timeout (Go duration)
//	PAYLINKS_DATA_DIR, PAYLINKS_DATABASE_URL, PAYLINKS_SECRETS_KEY, PAYLINKS_POLL_SCHEDULE,
//	PAYLINKS_WEBHOOK_RETRY_SCHEDULE, PAYLINKS_WEBHOOK_TIMEOUT, PAYLINKS_WEBHOOK_ALLOW_PRIVATE,
//	PAYLINKS_EVENTS_RETENTION
//	                                   link events
//	OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*  where spans go (telemetry.SettingsFromEnv)
//	PAYLINKS_PROVIDER_WEBHOOKS, PAYLINKS_<PROVIDER>_WEBHOOK_SECRETS, PAYLINKS_<PROVIDER>_WEBHOOK_EVENTS
//	                                   provider webhooks in
//	PAYLINKS_SANDBOX_PROVIDERS         in a live deployment, the unconfigured providers to run on their sandbox ("all" or a list)
//	PAYLINKS_METRICS_KEY, PAYLINKS_METRICS_ADDR, PAYLINKS_DRAIN_GRACE, PAYLINKS_LOG_FLUSH, PAYLINKS_IDEMPOTENCY_MEMORY_BYTES,
//	PAYLINKS_MAX_PROVIDER_ANSWER_BYTES (see the README)
func FromEnv(getenv func(string) string) (Config, error) {
	var cfg Config
	var err error
	cfg.Addr = getenv("PAYLINKS_ADDR")
	cfg.PublicURL = getenv("PAYLINKS_PUBLIC_URL")
	cfg.Mode = Mode(getenv("PAYLINKS_VALIDATION_MODE"))
	for _, k := range strings.Split(getenv("PAYLINKS_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			cfg.APIKeys = append(cfg.APIKeys, k)
		}
	}
	cfg.RedisURL = getenv("PAYLINKS_REDIS_URL")
	cfg.MetricsKey = getenv("PAYLINKS_METRICS_KEY")
	cfg.MetricsAddr = getenv("PAYLINKS_METRICS_ADDR")
	for _, n := range strings.Split(getenv("PAYLINKS_SANDBOX_PROVIDERS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			cfg.SandboxProviders = append(cfg.SandboxProviders, n)
		}
	}
	// A load balancer needs a few health checks to see /readyz fail before the listener closes.
	cfg.DrainGrace = 5 * time.Second
	if v := getenv("PAYLINKS_DRAIN_GRACE"); v != "" {
		if cfg.DrainGrace, err = time.ParseDuration(v); err != nil || cfg.DrainGrace < 0 {
			return cfg, fmt.Errorf("PAYLINKS_DRAIN_GRACE=%q: give a duration such as 5s (0 to stop at once)", v)
		}
	}
	// Request lines wait at most this long to be written together: a write per line was most of
	// a request's logging cost (bench/README.md).
	cfg.LogFlush = 100 * time.Millisecond
	if v := getenv("PAYLINKS_LOG_FLUSH"); v != "" {
		if cfg.LogFlush, err = time.ParseDuration(v); err != nil || checkLogFlush(cfg.LogFlush) != nil {
			return cfg, fmt.Errorf("PAYLINKS_LOG_FLUSH=%q: %w", v, errLogFlush)
		}
	}
	if cfg.IdempotencyMemoryBytes, err = envBytes(getenv, "PAYLINKS_IDEMPOTENCY_MEMORY_BYTES"); err != nil {
		return cfg, err
	}
	if cfg.MaxProviderAnswerBytes, err = envBytes(getenv, "PAYLINKS_MAX_PROVIDER_ANSWER_BYTES"); err != nil {
		return cfg, err
	}
	if k := getenv("PAYLINKS_CURSOR_KEY"); k != "" {
		cfg.CursorKey = []byte(k)
	}
	if cfg.ProviderTimeout, err = envDuration(getenv, "PAYLINKS_PROVIDER_TIMEOUT"); err != nil {
		return cfg, err
	}
	if cfg.ShutdownTimeout, err = envDuration(getenv, "PAYLINKS_SHUTDOWN_TIMEOUT"); err != nil {
		return cfg, err
	}
	if v := getenv("PAYLINKS_PROVIDER_RETRIES"); v != "" {
		if cfg.MaxRetries, err = strconv.Atoi(v); err != nil || cfg.MaxRetries < 0 {
			return cfg, fmt.Errorf("PAYLINKS_PROVIDER_RETRIES=%q: give a whole number ≥ 0", v)
		}
	} else {
		cfg.MaxRetries = 2
	}
	if v := getenv("PAYLINKS_MAX_BODY_BYTES"); v != "" {
		if cfg.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64); err != nil || cfg.MaxBodyBytes <= 0 {
			return cfg, fmt.Errorf("PAYLINKS_MAX_BODY_BYTES=%q: give a positive number of bytes", v)
		}
	}
	if v := getenv("PAYLINKS_MAX_HEADER_BYTES"); v != "" {
		if cfg.MaxHeaderBytes, err = strconv.Atoi(v); err != nil || cfg.MaxHeaderBytes <= 0 {
			return cfg, fmt.Errorf("PAYLINKS_MAX_HEADER_BYTES=%q: give a positive number of bytes", v)
		}
	}
	if v := getenv("PAYLINKS_IDEMPOTENCY_FAIL_OPEN"); v != "" {
		if cfg.IdempotencyFailOpen, err = strconv.ParseBool(v); err != nil {
			return cfg, fmt.Errorf("PAYLINKS_IDEMPOTENCY_FAIL_OPEN=%q: give true or false", v)
		}
	}
	cfg.Events = EventsConfig{
		DataDir:       getenv("PAYLINKS_DATA_DIR"),
		DatabaseURL:   getenv("PAYLINKS_DATABASE_URL"),
		SecretsKey:    getenv("PAYLINKS_SECRETS_KEY"),
		PollSchedule:  getenv("PAYLINKS_POLL_SCHEDULE"),
		RetrySchedule: getenv("PAYLINKS_WEBHOOK_RETRY_SCHEDULE"),
	}
	if cfg.Events.DeliveryTimeout, err = envDuration(getenv, "PAYLINKS_WEBHOOK_TIMEOUT"); err != nil {
		return cfg, err
	}
	if cfg.Events.Retention, err = envRetention(getenv("PAYLINKS_EVENTS_RETENTION")); err != nil {
		return cfg, err
	}
	if v := getenv("PAYLINKS_WEBHOOK_ALLOW_PRIVATE"); v != "" {
		if cfg.Events.AllowPrivate, err = strconv.ParseBool(v); err != nil {
			return cfg, fmt.Errorf("PAYLINKS_WEBHOOK_ALLOW_PRIVATE=%q: give true or false", v)
		}
	}
	var names []string
	for _, kit := range kits.All {
		names = append(names, kit.Name)
	}
	if cfg.Inbound, err = inboundFromEnv(getenv, names); err != nil {
		return cfg, err
	}
	if cfg.Tracing, err = telemetry.SettingsFromEnv(getenv); err != nil {
		return cfg, err
	}
	cfg.Providers = map[string]ProviderConfig{}
	for _, kit := range kits.All {
		pc := ProviderConfig{BaseURL: getenv(kit.Env("base_url")), Credentials: map[string]string{}}
		for _, c := range kit.Credentials {
			if v := getenv(kit.Env(c.Name)); v != "" {
				pc.Credentials[c.Name] = v
			}
		}
		if pc.Timeout, err = envDuration(getenv, kit.Env("timeout")); err != nil {
			return cfg, err
		}
		cfg.Providers[kit.Name] = pc
	}
	return cfg, nil
}

func envBytes(getenv func(string) string, name string) (int64, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: give a positive number of bytes", name, v)
	}
	return n, nil
}

func envDuration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: give a positive duration such as 10s", name, v)
	}
	return d, nil
}

// envRetention reads PAYLINKS_EVENTS_RETENTION: a duration (720h) or days (30d); "forever" keeps
// everything (-1); "" is the default (0).
func envRetention(v string) (time.Duration, error) {
	switch v {
	case "":
		return 0, nil
	case "forever":
		return -1, nil
	}
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok && err != nil {
		if n, nerr := strconv.Atoi(days); nerr == nil && n <= 100*365 {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d < time.Hour {
		return 0, fmt.Errorf("PAYLINKS_EVENTS_RETENTION=%q: give a duration of at least an hour (720h, 30d), or forever", v)
	}
	return d, nil
}

// ParseLevel reads a log level name (debug, info, warn, error).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}
