package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// Defaults of the global flags.
const (
	defaultServer  = "http://127.0.0.1:8080"
	defaultTimeout = 30 * time.Second
	// demoAPIKey is the key a sandbox-mode server accepts (server.DemoAPIKey); repeated here so the
	// client does not import the server.
	demoAPIKey = "sk_sandbox_demo"
)

// globals are the flags every command that talks to a server takes.
type globals struct {
	server  string
	apiKey  string
	output  string
	timeout time.Duration
	cmd     string // the command path, for messages: "paylinks links list"
}

// clientFlags gives cmd and every command under it the global flags, as persistent flags bound to
// c.g. The environment is applied after parsing (resolve), so --help never prints the API key from
// the environment as a default.
func (c *cli) clientFlags(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&c.g.server, "server", defaultServer, "URL of a running 'paylinks serve' (env PAYLINKS_SERVER)")
	fs.StringVar(&c.g.apiKey, "api-key", "", "API key of that server (env PAYLINKS_API_KEY); a sandbox-mode server accepts "+demoAPIKey)
	outputFlag(fs, &c.g.output)
	fs.DurationVar(&c.g.timeout, "timeout", defaultTimeout, "how long to wait for each answer of the server")
	completeWith(cmd, "output", "table", "json")
}

// outputFlag registers --output; checkOutput checks its value.
func outputFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "output", "table", "how to print: `table|json` (table for people, json for scripts)")
}

func checkOutput(output string) error {
	if output != "table" && output != "json" {
		return usagef("--output %q: use table or json", output)
	}
	return nil
}

// resolve fills in the environment for flags not given and checks the values.
func (g *globals) resolve(cmd *cobra.Command, getenv func(string) string) error {
	g.cmd = cmd.CommandPath()
	if v := getenv("PAYLINKS_SERVER"); v != "" && !cmd.Flags().Changed("server") {
		g.server = v
	}
	if v := getenv("PAYLINKS_API_KEY"); v != "" && !cmd.Flags().Changed("api-key") {
		g.apiKey = v
	}
	g.apiKey = strings.TrimSpace(g.apiKey)
	u, err := url.Parse(g.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &usageError{msg: fmt.Sprintf("--server %q is not an http(s) URL", g.server),
			hint: "Give the address of a running 'paylinks serve', e.g. --server " + defaultServer + "."}
	}
	g.server = strings.TrimSuffix(g.server, "/")
	if err := checkOutput(g.output); err != nil {
		return err
	}
	if g.timeout <= 0 {
		return usagef("--timeout %s: give a positive duration such as 30s", g.timeout)
	}
	return nil
}

func (g *globals) json() bool { return g.output == "json" }

// client returns the generated client of the unified API, authenticating with the API key.
func (g *globals) client() (*api.ClientWithResponses, error) {
	return api.NewClientWithResponses(g.server, api.WithHTTPClient(&http.Client{Timeout: g.timeout}), api.WithRequestEditorFn(g.authenticate))
}

// authenticate sets the API key and the client's name on every request.
func (g *globals) authenticate(_ context.Context, r *http.Request) error {
	if g.apiKey != "" {
		r.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	r.Header.Set("User-Agent", "paylinks-cli")
	return nil
}

// answer is what every generated response has.
type answer interface {
	StatusCode() int
	GetBody() []byte
	ContentType() string
}

// failure describes a call that did not give the expected answer.
type failure struct {
	// retryKey is the Idempotency-Key sent, so a retry after a lost answer can reuse it.
	retryKey string
	// hint overrides the hint of the problem code.
	hint string
	// notFound is the hint of a not_found problem: where to find the right id.
	notFound string
}

// transportError reports a call that got no usable answer: the server is down or slow, or
// something that is not a paylinks server answered.
func (c *cli) transportError(g *globals, err error, f failure) error {
	var ue *url.Error
	switch {
	case errors.As(err, &ue) && ue.Timeout():
		fmt.Fprintf(c.stderr, "%s: no answer from %s within %s.\n", g.cmd, g.server, g.timeout)
		fmt.Fprintf(c.stderr, "Retry, or wait longer with --timeout.%s\n", retryNote(f.retryKey))
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "%s: the server is not reachable at %s: %v\n", g.cmd, g.server, ue.Err)
		fmt.Fprintln(c.stderr, "Start one with 'paylinks serve', or point --server (PAYLINKS_SERVER) at a running one.")
	default:
		fmt.Fprintf(c.stderr, "%s: the answer of %s could not be read: %v\n", g.cmd, g.server, err)
		fmt.Fprintln(c.stderr, "Is --server (PAYLINKS_SERVER) the address of a paylinks server?")
	}
	return errShown
}

func retryNote(key string) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf("\nThe request may have been done: retry with --idempotency-key %s to get its answer instead of doing it twice.", key)
}

// problemError reports an answer other than the expected one: the server's problem (title,
// detail, code, violations, request id) and what to do next. With --output json the problem itself
// goes to stdout too, for scripts.
func (c *cli) problemError(g *globals, res answer, header http.Header, f failure) error {
	var p api.Problem
	body := res.GetBody()
	if !strings.Contains(res.ContentType(), "json") || json.Unmarshal(body, &p) != nil || p.Code == "" {
		fmt.Fprintf(c.stderr, "%s: %s answered %d %s without a problem description.\n", g.cmd, g.server, res.StatusCode(), http.StatusText(res.StatusCode()))
		fmt.Fprintln(c.stderr, "Is --server (PAYLINKS_SERVER) the address of a paylinks server?")
		return errShown
	}
	if g.json() {
		c.printJSON(body)
	}
	w := c.stderr
	fmt.Fprintf(w, "%s: %s (HTTP %d, code %s)\n", g.cmd, p.Title, p.Status, p.Code)
	var vs []api.Violation
	if p.Violations != nil {
		vs = *p.Violations
	}
	// A validation problem's detail repeats its first violation; print that once.
	if p.Detail != nil && *p.Detail != "" && (len(vs) == 0 || !strings.HasSuffix(*p.Detail, vs[0].Field+": "+vs[0].Reason)) {
		fmt.Fprintf(w, "  %s\n", *p.Detail)
	}
	for _, v := range vs {
		fmt.Fprintf(w, "  %s: %s\n", v.Field, v.Reason)
	}
	if p.Provider != nil {
		fmt.Fprintf(w, "  provider: %s", *p.Provider)
		if p.ProviderStatus != nil {
			fmt.Fprintf(w, " (answered HTTP %d)", *p.ProviderStatus)
		}
		fmt.Fprintln(w)
	}
	rid := header.Get("X-Request-Id")
	if p.RequestId != nil && *p.RequestId != "" {
		rid = *p.RequestId
	}
	if rid != "" {
		fmt.Fprintf(w, "  request id: %s\n", rid)
	}
	hint := f.hint
	if hint == "" {
		hint = c.hintFor(g, p.Code, header)
	}
	if p.Code == api.ProblemCodeNotFound && f.notFound != "" {
		hint = f.notFound
	}
	if p.Status >= 500 {
		hint += retryNote(f.retryKey)
	}
	if hint = strings.TrimSpace(hint); hint != "" {
		fmt.Fprintln(w, hint)
	}
	return errShown
}

// hintFor says what to do next after a problem with this code.
func (c *cli) hintFor(g *globals, code api.ProblemCode, header http.Header) string {
	switch code {
	case api.ProblemCodeUnauthorized:
		if g.apiKey == "" {
			return "No API key was sent: set PAYLINKS_API_KEY or pass --api-key (a server in sandbox mode accepts " + demoAPIKey + ")."
		}
		return "The server refused the API key: check PAYLINKS_API_KEY or --api-key (a server in sandbox mode accepts " + demoAPIKey + ")."
	case api.ProblemCodeNotFound:
		return "Check the id: 'paylinks links list' shows the links (use the id column, not the provider's own id)."
	case api.ProblemCodeAlreadyClosed:
		return "Nothing to do: the link can no longer be paid."
	case api.ProblemCodeNotClosable:
		return "Only active links can be closed; 'paylinks links get ID' shows its status."
	case api.ProblemCodeIdempotencyConflict:
		return "This --idempotency-key was used for a different request: use a new key, or leave it out."
	case api.ProblemCodeIdempotencyInProgress, api.ProblemCodeIdempotencyOutcomeUnknown:
		wait := "a few"
		if ra := header.Get("Retry-After"); ra != "" {
			wait = ra
		}
		return "Retry in " + wait + " seconds with the same --idempotency-key: it gets the first request's answer, and never makes a second link."
	case api.ProblemCodeProviderAnswerTooLarge:
		return "Narrow the request (--provider, --status), or raise PAYLINKS_MAX_PROVIDER_ANSWER_BYTES on the server."
	case api.ProblemCodeValidationFailed, api.ProblemCodeBadRequest:
		return fmt.Sprintf("Fix the fields above; '%s --help' lists the flags, 'paylinks providers' what each provider needs.", g.cmd)
	case api.ProblemCodeUnsupportedByProvider:
		return "'paylinks providers' shows what each provider supports."
	case api.ProblemCodeProviderAuthFailed:
		return "The provider refused the server's credentials: check the server's PAYLINKS_<PROVIDER>_* settings."
	case api.ProblemCodeProviderUnavailable, api.ProblemCodeProviderTimeout, api.ProblemCodeProviderError:
		if ra := header.Get("Retry-After"); ra != "" {
			return "Retry in " + ra + " seconds."
		}
		return "Retry later."
	case api.ProblemCodeProviderContractViolation:
		return "The provider answered outside its spec; the server's logs have the details (see the request id)."
	case api.ProblemCodeInternal:
		return "Retry later; if it persists, report the request id to the server's operators."
	}
	return ""
}

// printJSON writes a JSON document indented, as it came.
func (c *cli) printJSON(raw []byte) {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
		c.stdout.Write(raw)
		return
	}
	b.WriteByte('\n')
	c.stdout.Write(b.Bytes())
}
