package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/cli"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/server"
)

// startServer runs a real paylinks server in sandbox mode on a loopback port until the test ends,
// and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, server.Config{})
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command with the given environment, as the binary would.
func run(env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := cli.Run(args, &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

// sandboxEnv is the environment of an operator talking to the sandbox server at url.
func sandboxEnv(url string) map[string]string {
	return map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": server.DemoAPIKey}
}

func (r result) check(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// decode reads the JSON output of a command.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not JSON (%v):\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return v
}

// create creates a link and returns it, failing the test if that does not work.
func create(t *testing.T, env map[string]string, args ...string) api.PaymentLink {
	t.Helper()
	r := run(env, append([]string{"links", "create", "--output", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("create %v: exit %d\n%s", args, r.code, r.stderr)
	}
	return decode[api.PaymentLink](t, r)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	tests := []struct {
		name     string
		args     []string
		table    []string // in the table output
		provider string
		amount   *api.Amount
		check    func(t *testing.T, l api.PaymentLink)
	}{
		{
			name:     "mijnklantportaal",
			args:     []string{"--provider", "mijnklantportaal", "--amount", "12.95", "--currency", "EUR", "--description", "Contribution costs"},
			table:    []string{"Provider     mijnklantportaal", "Amount       €12.95", "Description  Contribution costs", "Status       active"},
			provider: "mijnklantportaal",
			amount:   &api.Amount{Currency: "EUR", Value: "12.95", Minor: 1295},
		},
		{
			name:     "hub2",
			args:     []string{"--provider", "hub2", "--amount", "1000", "--currency", "XOF", "--reference", "R", "--option", "country=CI"},
			table:    []string{"Provider   hub2", "Amount     F\u202fCFA\u00a01,000", "Reference  R"},
			provider: "hub2",
			amount:   &api.Amount{Currency: "XOF", Value: "1000", Minor: 1000},
		},
		{
			name:     "telness",
			args:     []string{"--provider", "telness", "--option", "orderId=ord_1"},
			table:    []string{"Provider  telness", "Status    active"},
			provider: "telness",
			check: func(t *testing.T, l api.PaymentLink) {
				if l.Amount != nil {
					t.Errorf("telness link has an amount: %+v", *l.Amount)
				}
			},
		},
		{
			name:     "expiry as a duration and lower-case currency",
			args:     []string{"--provider", "hub2", "--amount", "500", "--currency", "xaf", "--reference", "R2", "--expires", "2h", "--reusable", "--option", "maximumPayments=3"},
			table:    []string{"Amount     FCFA\u00a0500", "Reusable   yes", "Expires    20"},
			provider: "hub2",
			amount:   &api.Amount{Currency: "XAF", Value: "500", Minor: 500},
			check: func(t *testing.T, l api.PaymentLink) {
				if l.ExpiresAt == nil || l.ExpiresAt.Before(l.CreatedAt) {
					t.Errorf("expiresAt %v, want after createdAt %v", l.ExpiresAt, l.CreatedAt)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(env, append([]string{"links", "create"}, tt.args...)...)
			r.check(t, 0, append([]string{"ID ", "URL ", "http"}, tt.table...), nil)

			l := create(t, env, tt.args...)
			if l.Provider != tt.provider || !strings.HasPrefix(l.Id, tt.provider+"_") || l.Status != api.PaymentLinkStatusActive {
				t.Errorf("created %+v, want an active %s link", l, tt.provider)
			}
			if tt.amount != nil && (l.Amount == nil || *l.Amount != *tt.amount) {
				t.Errorf("amount %+v, want %+v", l.Amount, *tt.amount)
			}
			if tt.check != nil {
				tt.check(t, l)
			}
		})
	}
}

func TestCreateRefusedByServer(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"description missing", []string{"--provider", "mijnklantportaal", "--amount", "1", "--currency", "EUR"},
			[]string{"code validation_failed", "/description: required by mijnklantportaal", "request id: req_", "paylinks providers"}},
		{"amount at telness", []string{"--provider", "telness", "--amount", "1", "--currency", "EUR", "--option", "orderId=o"},
			[]string{"code unsupported_by_provider", "provider: telness"}},
		{"unknown provider", []string{"--provider", "stripe", "--amount", "1", "--currency", "EUR"},
			[]string{"HTTP 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run(env, append([]string{"links", "create"}, tt.args...)...).check(t, 1, nil, tt.stderr)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	args := []string{"--provider", "mijnklantportaal", "--amount", "5", "--currency", "EUR", "--description", "once", "--idempotency-key", "k1"}
	first, again := create(t, env, args...), create(t, env, args...)
	if first.Id != again.Id {
		t.Errorf("the same key made two links: %s and %s", first.Id, again.Id)
	}
	run(env, append([]string{"links", "create"}, args...)...).check(t, 0, []string{first.Id}, []string{"Replayed", "k1"})
	other := create(t, env, "--provider", "mijnklantportaal", "--amount", "5", "--currency", "EUR", "--description", "once")
	if other.Id == first.Id {
		t.Error("without a key, a second create replayed the first")
	}
	run(env, "links", "create", "--provider", "mijnklantportaal", "--amount", "5", "--currency", "EUR", "--description", "twice", "--idempotency-key", "k1").check(t, 1, nil, []string{"code idempotency_conflict", "use a new key"})
}

func TestList(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	const n = 7
	for i := range n {
		create(t, env, "--provider", "mijnklantportaal", "--amount", "12.95", "--currency", "EUR", "--description", "Link "+string(rune('A'+i)))
	}
	hub2 := create(t, env, "--provider", "hub2", "--amount", "1000", "--currency", "XOF", "--reference", "R", "--option", "country=CI")

	type list struct {
		Data       []api.PaymentLink `json:"data"`
		NextCursor *string           `json:"nextCursor"`
	}
	ids := func(l list) []string {
		var out []string
		for _, x := range l.Data {
			out = append(out, x.Id)
		}
		return out
	}
	all := decode[list](t, run(env, "links", "list", "--output", "json", "--page-size", "100"))
	if len(all.Data) != n+1 || all.NextCursor != nil {
		t.Fatalf("one big page: %d links, next %v; want %d and no cursor", len(all.Data), all.NextCursor, n+1)
	}

	tests := []struct {
		name      string
		args      []string
		want      int
		hasCursor bool
	}{
		{"default limit shows all", nil, n + 1, false},
		{"pages of 2 followed to the end", []string{"--page-size", "2", "--limit", "0"}, n + 1, false},
		{"limit across pages", []string{"--page-size", "2", "--limit", "5"}, 5, true},
		{"limit within a page", []string{"--limit", "3"}, 3, true},
		{"provider filter", []string{"--provider", "mijnklantportaal", "--page-size", "3"}, n, false},
		{"status filter", []string{"--status", "closed"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := decode[list](t, run(env, append([]string{"links", "list", "--output", "json"}, tt.args...)...))
			if len(got.Data) != tt.want || (got.NextCursor != nil) != tt.hasCursor {
				t.Fatalf("%d links, next cursor %v; want %d links, cursor %v", len(got.Data), got.NextCursor, tt.want, tt.hasCursor)
			}
			if tt.want == n+1 && strings.Join(ids(got), " ") != strings.Join(ids(all), " ") {
				t.Errorf("paged list %v differs from the one-page list %v", ids(got), ids(all))
			}
			if tt.hasCursor { // the rest continues where this stopped, without repeating a link
				rest := decode[list](t, run(env, "links", "list", "--output", "json", "--limit", "0", "--cursor", *got.NextCursor))
				joined := append(ids(got), ids(rest)...)
				if strings.Join(joined, " ") != strings.Join(ids(all), " ") {
					t.Errorf("first part + rest = %v, want %v", joined, ids(all))
				}
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		t.Parallel()
		r := run(env, "links", "list", "--page-size", "2", "--limit", "4")
		r.check(t, 0, []string{"ID", "PROVIDER", "STATUS", "AMOUNT", "CREATED", "€12.95", "mijnklantportaal", "active"},
			[]string{"Showing the first 4 links", "--cursor"})
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 5 {
			t.Fatalf("%d lines, want a header and 4 links:\n%s", len(lines), r.stdout)
		}
		// Aligned: every line has its AMOUNT column where the header has it.
		col := strings.Index(lines[0], "AMOUNT")
		for _, l := range lines[1:] {
			rs := []rune(l)
			if rs[col-1] != ' ' || rs[col] == ' ' {
				t.Errorf("amounts not aligned under the header:\n%s", r.stdout)
			}
		}
		r = run(env, "links", "list", "--provider", "hub2")
		r.check(t, 0, []string{hub2.Id, "F\u202fCFA\u00a01,000", "ref R"}, nil)
		if r.stderr != "" {
			t.Errorf("stderr %q, want nothing when all links are shown", r.stderr)
		}
		run(env, "links", "list", "--status", "expired").check(t, 0, []string{"No payment links."}, []string{"try without"})
		run(env, "links", "list", "--status", "expired", "--output", "json").check(t, 0, []string{`"data": []`, `"nextCursor": null`}, nil)
	})
}

func TestGetAndClose(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	for _, k := range kits.All {
		l := create(t, env, sampleArgs(t, k)...)
		t.Run(l.Provider, func(t *testing.T) {
			t.Parallel()
			run(env, "links", "get", l.Id).check(t, 0, []string{"ID ", l.Id, "Status", "active", "Created", "Z\n"}, nil)
			got := decode[api.PaymentLink](t, run(env, "links", "get", "--output", "json", l.Id))
			if got.Id != l.Id {
				t.Errorf("get returned %s, want %s", got.Id, l.Id)
			}
			// Flags may follow the id.
			run(env, "links", "get", l.Id, "--output", "json").check(t, 0, []string{`"id": "` + l.Id + `"`}, nil)

			run(env, "links", "close", l.Id).check(t, 0, []string{"closed"}, nil)
			r := run(env, "links", "close", l.Id)
			r.check(t, 1, nil, []string{"already_closed", "HTTP 409", "request id: req_", "Nothing to do"})
			if r.stdout != "" {
				t.Errorf("table output of a failure on stdout: %q", r.stdout)
			}
			p := decode[api.Problem](t, run(env, "links", "close", l.Id, "--output", "json"))
			if p.Code != api.ProblemCodeAlreadyClosed || p.Status != 409 {
				t.Errorf("problem %+v, want 409 already_closed", p)
			}
			got = decode[api.PaymentLink](t, run(env, "links", "get", "--output", "json", l.Id))
			if got.Status != api.PaymentLinkStatusClosed {
				t.Errorf("status after close %s, want closed", got.Status)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		t.Parallel()
		run(env, "links", "get", "mijnklantportaal_bm9uZQ").check(t, 1, nil, []string{"code not_found", "paylinks links list"})
	})
}

func TestProviders(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServer(t))
	r := run(env, "providers")
	r.check(t, 0, []string{"NAME", "MODE", "OPERATIONS", "CURRENCIES", "mijnklantportaal", "hub2", "telness", "sandbox", "create,get,list,close", "XOF,XAF", "create,get,close"}, nil)
	got := decode[api.ProviderList](t, run(env, "providers", "--output", "json"))
	var names []string
	for _, p := range got.Data {
		names = append(names, p.Name)
		if p.Mode != api.ProviderInfoModeSandbox {
			t.Errorf("%s mode %s, want sandbox", p.Name, p.Mode)
		}
	}
	var want []string
	for _, k := range kits.All {
		want = append(want, k.Name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("providers %v, want %v", names, want)
	}
}

func TestAuthAndNetwork(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan []net.Conn, 1)
	go func() {
		var conns []net.Conn
		for {
			conn, err := silent.Accept()
			if err != nil {
				accepted <- conns
				return
			}
			conns = append(conns, conn)
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		for _, c := range <-accepted {
			c.Close()
		}
	})

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr []string
	}{
		{"no api key", map[string]string{"PAYLINKS_SERVER": url}, []string{"providers"}, 1,
			[]string{"code unauthorized", "set PAYLINKS_API_KEY", server.DemoAPIKey}},
		{"wrong api key", map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": "sk_wrong"}, []string{"links", "list"}, 1,
			[]string{"code unauthorized", "refused the API key", server.DemoAPIKey}},
		{"flags override the environment", map[string]string{"PAYLINKS_SERVER": closed, "PAYLINKS_API_KEY": "sk_wrong"},
			[]string{"providers", "--server", url, "--api-key", server.DemoAPIKey}, 0, nil},
		{"unreachable server", sandboxEnv(closed), []string{"links", "list"}, 1,
			[]string{"not reachable at " + closed, "paylinks serve"}},
		{"unreachable on create", sandboxEnv(closed), []string{"links", "create", "--provider", "hub2", "--idempotency-key", "k"}, 1,
			[]string{"not reachable at " + closed}},
		{"slow server", sandboxEnv("http://" + silent.Addr().String()), []string{"links", "create", "--provider", "hub2", "--idempotency-key", "k7", "--timeout", "200ms"}, 1,
			[]string{"no answer from http://" + silent.Addr().String() + " within 200ms", "--timeout", "retry with --idempotency-key k7"}},
		{"not a paylinks server", sandboxEnv(url + "/sandbox/nothing"), []string{"providers"}, 1,
			[]string{"paylinks server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run(tt.env, tt.args...).check(t, tt.code, nil, tt.stderr)
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{} // no server is needed: the command line is refused first
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"no command", nil, []string{"no command"}},
		{"unknown command", []string{"lnks"}, []string{`unknown command "lnks"`, "Did you mean 'paylinks links'"}},
		{"unknown links command", []string{"links", "lst"}, []string{`unknown command "lst"`, "paylinks links list"}},
		{"links without command", []string{"links"}, []string{"missing subcommand", "close, create, get, list"}},
		{"unknown flag", []string{"links", "list", "--bogus"}, []string{"unknown flag --bogus", "paylinks links list --help"}},
		{"flag without value", []string{"links", "list", "--limit"}, []string{"flag --limit needs a value"}},
		{"bad flag value", []string{"links", "list", "--limit", "many"}, []string{"--limit"}},
		{"bad status", []string{"links", "list", "--status", "paid"}, []string{`--status "paid"`, "active, completed"}},
		{"bad page size", []string{"links", "list", "--page-size", "500"}, []string{"--page-size 500"}},
		{"bad output", []string{"providers", "--output", "yaml"}, []string{`--output "yaml"`}},
		{"bad server", []string{"providers", "--server", "localhost:8080"}, []string{"not an http(s) URL"}},
		{"stray argument", []string{"providers", "extra"}, []string{`unexpected argument "extra"`}},
		{"get without id", []string{"links", "get"}, []string{"missing the link ID", "paylinks links list"}},
		{"close with two ids", []string{"links", "close", "a", "b"}, []string{"expected one link ID"}},
		{"create without provider", []string{"links", "create", "--amount", "1", "--currency", "EUR"}, []string{"--provider is required", "paylinks providers"}},
		{"bad amount", []string{"links", "create", "--provider", "mijnklantportaal", "--amount", "12,95", "--currency", "EUR"}, []string{"not a decimal number"}},
		{"too many decimals", []string{"links", "create", "--provider", "mijnklantportaal", "--amount", "12.955", "--currency", "EUR"}, []string{"EUR allows at most 2 decimals"}},
		{"decimals in XOF", []string{"links", "create", "--provider", "hub2", "--amount", "10.5", "--currency", "XOF"}, []string{"XOF has no decimals"}},
		{"unknown currency", []string{"links", "create", "--provider", "hub2", "--amount", "10", "--currency", "ABC"}, []string{"not an ISO 4217 currency"}},
		{"amount without currency", []string{"links", "create", "--provider", "hub2", "--amount", "10"}, []string{"--amount needs --currency"}},
		{"bad expiry", []string{"links", "create", "--provider", "hub2", "--expires", "tomorrow"}, []string{"RFC 3339"}},
		{"past expiry", []string{"links", "create", "--provider", "hub2", "--expires", "-1h"}, []string{"in the future"}},
		{"bad metadata", []string{"links", "create", "--provider", "hub2", "--metadata", "novalue"}, []string{"key=value"}},
		{"unknown option", []string{"links", "create", "--provider", "hub2", "--option", "colour=red"}, []string{`hub2 has no option "colour"`, "country"}},
		{"option of a provider without any", []string{"links", "create", "--provider", "mijnklantportaal", "--option", "a=b"}, []string{"takes no provider options"}},
		{"option of the wrong type", []string{"links", "create", "--provider", "hub2", "--option", "maximumPayments=many"}, []string{"whole number"}},
		{"events get without id", []string{"events", "get"}, []string{"missing the event ID", "paylinks events list"}},
		{"events deliveries with two ids", []string{"events", "deliveries", "evt_1", "evt_2"}, []string{"expected one event ID"}},
		{"bad event type", []string{"events", "list", "--type", "payment_link.paid"}, []string{`--type "payment_link.paid" is not an event type`, "payment_link.completed"}},
		{"negative events limit", []string{"events", "list", "--limit", "-1"}, []string{"--limit -1"}},
		{"webhooks without command", []string{"webhooks"}, []string{"missing subcommand", "endpoints"}},
		{"endpoints without command", []string{"webhooks", "endpoints"}, []string{"missing subcommand", "create, delete, deliveries, get, list, recover, rotate, test, update"}},
		{"recover without since", []string{"webhooks", "endpoints", "recover", "we_1"}, []string{"--since is required", "--since 24h"}},
		{"recover bad since", []string{"webhooks", "endpoints", "recover", "we_1", "--since", "yesterday"}, []string{`--since "yesterday"`, "RFC 3339"}},
		{"update nothing", []string{"webhooks", "endpoints", "update", "we_1"}, []string{"nothing to change"}},
		{"update bad event type", []string{"webhooks", "endpoints", "update", "we_1", "--events", "paid"}, []string{`--events "paid" is not an event type`}},
		{"update url not absolute", []string{"webhooks", "endpoints", "update", "we_1", "--url", "example.com"}, []string{"not an absolute URL"}},
		{"redeliver without id", []string{"events", "redeliver"}, []string{"missing the event ID"}},
		{"endpoint without url", []string{"webhooks", "endpoints", "create"}, []string{"--url is required"}},
		{"endpoint url not absolute", []string{"webhooks", "endpoints", "create", "--url", "shop.example.com/hooks"}, []string{"not an absolute URL"}},
		{"endpoint event type", []string{"webhooks", "endpoints", "create", "--url", "https://x.example/h", "--events", "payment_link.completed,paid"}, []string{`--events "paid" is not an event type`}},
		{"endpoint get without id", []string{"webhooks", "endpoints", "get"}, []string{"missing the endpoint ID", "paylinks webhooks endpoints list"}},
		{"rotate keep too long", []string{"webhooks", "endpoints", "rotate", "we_1", "--keep", "200h"}, []string{"--keep 200h0m0s: give 0 to 168h"}},
		{"rotate keep negative", []string{"webhooks", "endpoints", "rotate", "we_1", "--keep", "-1h"}, []string{"give 0 to 168h"}},
		{"rotate keep fraction", []string{"webhooks", "endpoints", "rotate", "we_1", "--keep", "1.5s"}, []string{"whole seconds"}},
		{"rotate keep not a duration", []string{"webhooks", "endpoints", "rotate", "we_1", "--keep", "1 day"}, []string{"give a duration"}},
		{"test wait negative", []string{"webhooks", "endpoints", "test", "we_1", "--wait", "-1s"}, []string{"--wait -1s"}},
		{"deliveries status", []string{"webhooks", "endpoints", "deliveries", "we_1", "--status", "done"}, []string{`--status "done"`, "pending, delivered"}},
		{"listen argument", []string{"listen", "http://localhost:3000"}, []string{`unexpected argument "http://localhost:3000"`}},
		{"listen forward-to without scheme", []string{"listen", "--forward-to", "localhost:3000/hooks"}, []string{`--forward-to "localhost:3000/hooks" is not an http(s) URL`, "--forward-to http://localhost:3000/hooks"}},
		{"listen forward-to other scheme", []string{"listen", "--forward-to", "ftp://localhost/hooks"}, []string{"is not an http(s) URL"}},
		{"listen event type", []string{"listen", "--events", "completed"}, []string{`--events "completed" is not an event type`}},
		{"listen bad secret", []string{"listen", "--forward-to", "http://localhost:3000/hooks", "--secret", "whsec_not base64!"}, []string{"--secret is not a signing secret"}},
		{"listen secret without forward", []string{"listen", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret signs forwards: it needs --forward-to"}},
		{"listen forward timeout", []string{"listen", "--forward-to", "http://localhost:3000/hooks", "--forward-timeout", "0s"}, []string{"--forward-timeout 0s"}},
		{"spec without file", []string{"spec", "validate"}, []string{"missing the FILE"}},
		{"spec file not found", []string{"spec", "validate", "does-not-exist.yaml"}, []string{"cannot read does-not-exist.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(env, tt.args...)
			r.check(t, 2, nil, tt.stderr)
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
	t.Run("bad secret in the environment, not repeated", func(t *testing.T) {
		t.Parallel()
		r := run(map[string]string{"PAYLINKS_LISTEN_SECRET": "whsec_!!secret!!"}, "listen", "--forward-to", "http://localhost:3000/hooks")
		r.check(t, 2, nil, []string{"PAYLINKS_LISTEN_SECRET is not a signing secret"})
		if strings.Contains(r.stderr, "!!secret!!") {
			t.Errorf("the secret is repeated:\n%s", r.stderr)
		}
	})
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"},
		{"links", "--help"},
		{"links", "list", "--help"},
		{"links", "get", "-h"},
		{"links", "create", "--help"},
		{"links", "close", "--help"},
		{"providers", "--help"},
		{"events", "--help"},
		{"events", "list", "--help"},
		{"events", "get", "--help"},
		{"events", "deliveries", "--help"},
		{"webhooks", "--help"},
		{"webhooks", "endpoints", "--help"},
		{"webhooks", "endpoints", "create", "--help"},
		{"webhooks", "endpoints", "list", "--help"},
		{"webhooks", "endpoints", "get", "--help"},
		{"webhooks", "endpoints", "delete", "--help"},
		{"webhooks", "endpoints", "rotate", "--help"},
		{"webhooks", "endpoints", "test", "--help"},
		{"webhooks", "endpoints", "deliveries", "--help"},
		{"webhooks", "endpoints", "update", "--help"},
		{"webhooks", "endpoints", "recover", "--help"},
		{"events", "redeliver", "--help"},
		{"listen", "--help"},
		{"spec", "--help"},
		{"spec", "validate", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := run(map[string]string{"PAYLINKS_API_KEY": "sk_secret", "PAYLINKS_LISTEN_SECRET": "whsec_c2VjcmV0"}, args...)
			r.check(t, 0, []string{"Usage:", "paylinks"}, nil)
			if len(args) > 1 && !strings.Contains(r.stdout, "Examples:") {
				t.Errorf("no examples:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout, "sk_secret") || strings.Contains(r.stdout, "whsec_c2VjcmV0") {
				t.Error("help shows a secret from the environment")
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badExample := write("bad-example.yaml", `openapi: 3.0.3
info: {title: broken, version: "1"}
paths:
  /things:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: integer}
              example: not a number
`)
	noInfo := write("no-info.yaml", "openapi: 3.0.3\npaths: {}\n")
	notYAML := write("not-yaml.yaml", "openapi: [3.0.3\n")
	oldVersion := write("v31.yaml", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n")
	const spec = "../../openapi/paylinks.yaml"
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	valid := fmt.Sprintf("valid (%d operations)", ops)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"curated spec", []string{spec}, 0, []string{spec + ": " + valid}},
		{"all curated specs", []string{"../../openapi/hub2.yaml", "../../openapi/telness.yaml"}, 0, []string{"hub2.yaml: valid (5 operations)", "telness.yaml: valid (3 operations)"}},
		{"example breaks its schema", []string{badExample}, 1, []string{badExample + ": invalid", "example"}},
		{"no info", []string{noInfo}, 1, []string{noInfo + ": invalid", "info"}},
		{"not YAML", []string{notYAML}, 1, []string{notYAML + ": invalid", "cannot load"}},
		{"another OpenAPI version", []string{oldVersion}, 1, []string{`openapi version "3.1.0"`}},
		{"one valid, one invalid", []string{spec, badExample}, 1, []string{valid, ": invalid"}},
		{"unreadable wins", []string{badExample, filepath.Join(dir, "missing.yaml")}, 2, []string{": invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run(nil, append([]string{"spec", "validate"}, tt.args...)...).check(t, tt.code, tt.stdout, nil)
		})
	}

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		type res struct {
			File       string   `json:"file"`
			Valid      bool     `json:"valid"`
			Operations int      `json:"operations"`
			Errors     []string `json:"errors"`
		}
		got := decode[res](t, run(nil, "spec", "validate", "--output", "json", spec))
		if !got.Valid || got.Operations != ops || len(got.Errors) != 0 {
			t.Errorf("%+v, want valid with %d operations", got, ops)
		}
		r := run(nil, "spec", "validate", badExample, "--output", "json")
		if got := decode[res](t, r); got.Valid || len(got.Errors) == 0 || r.code != 1 {
			t.Errorf("%+v exit %d, want invalid with errors and exit 1", got, r.code)
		}
	})
}

func ExampleRun_specValidate() {
	cli.Run([]string{"spec", "validate", "../../openapi/telness.yaml"}, os.Stdout, os.Stderr, os.Getenv)
	// Output: ../../openapi/telness.yaml: valid (3 operations)
}

// sampleArgs are the flags of `links create` for the kit's sample: its fields as flags, its
// provider options as --option key=value.
func sampleArgs(t *testing.T, k kits.Kit) []string {
	t.Helper()
	in := k.Sample()
	args := []string{"--provider", in.Provider}
	if in.Amount != nil {
		args = append(args, "--amount", in.Amount.Value(), "--currency", in.Amount.Currency)
	}
	for flag, v := range map[string]string{"--description": in.Description, "--reference": in.Reference} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	if in.Options != nil {
		b, err := json.Marshal(in.Options)
		var opts map[string]any
		if err != nil || json.Unmarshal(b, &opts) != nil {
			t.Fatalf("options of %s: %s %v", k.Name, b, err)
		}
		for _, name := range slices.Sorted(maps.Keys(opts)) {
			args = append(args, "--option", fmt.Sprintf("%s=%v", name, opts[name]))
		}
	}
	return args
}
