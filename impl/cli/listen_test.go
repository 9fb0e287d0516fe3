package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/cli"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/stdwebhook"
	"github.com/paylinks/paylinks/impl/internal/cutproxy"
	"github.com/paylinks/paylinks/impl/server"
)

// listening is `paylinks listen` running in this process until stop.
type listening struct {
	stdout, stderr cli.SyncBuffer
	cancel         context.CancelFunc
	code           chan int
	once           sync.Once
	exit           int
}

// startListen runs `paylinks listen args…` with env; the test's end stops it.
func startListen(t *testing.T, env map[string]string, args ...string) *listening {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listening{cancel: cancel, code: make(chan int, 1)}
	root := cli.NewRoot(cli.Env{Stdout: &l.stdout, Stderr: &l.stderr, Getenv: func(k string) string { return env[k] }})
	go func() { l.code <- cli.Execute(ctx, root, append([]string{"listen"}, args...)) }()
	t.Cleanup(func() { l.stop(t) })
	return l
}

// stop interrupts listen as Ctrl-C does and returns its exit code.
func (l *listening) stop(t *testing.T) int {
	t.Helper()
	l.once.Do(func() {
		l.cancel()
		select {
		case l.exit = <-l.code:
		case <-time.After(10 * time.Second):
			t.Fatalf("listen did not stop when interrupted\nstdout:\n%s\nstderr:\n%s", l.stdout.String(), l.stderr.String())
		}
	})
	return l.exit
}

// waitFor waits until out matches re and returns the submatches.
func (l *listening) waitFor(t *testing.T, out *cli.SyncBuffer, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m
		}
	}
	t.Fatalf("no match for %q\nstdout:\n%s\nstderr:\n%s", re, l.stdout.String(), l.stderr.String())
	return nil
}

// delivered waits until the receiver got an event of that type for the link, and returns it.
func delivered(t *testing.T, rcv *eventstest.Receiver, linkID string, typ api.EventType) (eventstest.Request, api.Event) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, r := range rcv.Requests() {
			var e api.Event
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Fatalf("forwarded body %q: %v", r.Body, err)
			}
			if e.Type == typ && e.Data.Link != nil && e.Data.Link.Id == linkID {
				return r, e
			}
		}
	}
	t.Fatalf("the receiver got no %s of %s; it got %d requests", typ, linkID, len(rcv.Requests()))
	return eventstest.Request{}, api.Event{}
}

// readyRe is the line listen starts with when it forwards; its group is the secret.
const readyRe = `Ready! Your webhook signing secret is (whsec_\S+) \(\^C to quit\)`

func TestListenForwardsSigned(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	rcv := eventstest.NewReceiver(t)
	rcv.Script(eventstest.Status(202)) // the first forward; then 200s

	l := startListen(t, env, "--forward-to", rcv.URL())
	secret := l.waitFor(t, &l.stderr, readyRe)[1]
	if _, err := stdwebhook.Key(secret); err != nil {
		t.Fatalf("listen printed %q: %v", secret, err)
	}
	rcv.SetSecrets(secret)
	l.waitFor(t, &l.stderr, `Listening to all events of http://127\.0\.0\.1:\d+, forwarding them to `+regexp.QuoteMeta(rcv.URL()))

	link := create(t, env, mkpArgs...)
	pay(t, link)

	for _, want := range []struct {
		typ    api.EventType
		status string // the link's, printed
		answer string // the receiver's, printed
	}{
		{api.EventTypePaymentLinkCreated, "active", "202 Accepted"},
		{api.EventTypePaymentLinkCompleted, "completed", "200 OK"},
	} {
		req, ev := delivered(t, rcv, link.Id, want.typ)
		if !req.VerifyOK {
			t.Errorf("%s: the signature does not verify with the printed secret: %v", want.typ, req.VerifyErr)
		}
		if req.ID != ev.Id || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: webhook-id %q for event %s, Content-Type %q", want.typ, req.ID, ev.Id, req.Header.Get("Content-Type"))
		}
		// One line per event (time, type, link status, provider, link, event id), the receiver's
		// answer under it.
		l.waitFor(t, &l.stdout, `(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  `+regexp.QuoteMeta(string(want.typ))+` +`+want.status+
			` +mijnklantportaal +`+regexp.QuoteMeta(link.Id)+`  \[`+ev.Id+`\]\n  --> `+want.answer+` \(\d+ms\)$`)
	}
	if code := l.stop(t); code != 0 {
		t.Errorf("exit %d after an interrupt, want 0\nstderr:\n%s", code, l.stderr.String())
	}
	if n := strings.Count(l.stdout.String(), "  --> "); n != 2 {
		t.Errorf("%d forwards printed, want 2:\n%s", n, l.stdout.String())
	}
}

func TestListenFixedSecretAndFilter(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	secret, err := stdwebhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", env, []string{"--secret", secret}},
		{"environment", map[string]string{"PAYLINKS_SERVER": env["PAYLINKS_SERVER"], "PAYLINKS_API_KEY": env["PAYLINKS_API_KEY"], "PAYLINKS_LISTEN_SECRET": secret}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := eventstest.NewReceiver(t)
			rcv.SetSecrets(secret)
			l := startListen(t, tt.env, append(tt.args, "--forward-to", rcv.URL(), "--events", "payment_link.completed")...)
			if got := l.waitFor(t, &l.stderr, readyRe)[1]; got != secret {
				t.Errorf("listen announced secret %q, want the one given", got)
			}
			l.waitFor(t, &l.stderr, `Listening to payment_link\.completed events of `)

			link := create(t, env, mkpArgs...)
			pay(t, link)
			req, _ := delivered(t, rcv, link.Id, api.EventTypePaymentLinkCompleted)
			if !req.VerifyOK {
				t.Errorf("signed with another secret than the one given: %v", req.VerifyErr)
			}
			l.waitFor(t, &l.stdout, `payment_link\.completed +completed .*`+regexp.QuoteMeta(link.Id)+`.*\n  --> 200 OK`)
			// The stream is in order: a created event, had it passed the filter, came first.
			for _, r := range rcv.Requests() {
				if !bytes.Contains(r.Body, []byte(`"payment_link.completed"`)) {
					t.Errorf("forwarded despite --events: %s", r.Body)
				}
			}
			if strings.Contains(l.stdout.String(), "payment_link.created") {
				t.Errorf("printed despite --events:\n%s", l.stdout.String())
			}
		})
	}
}

func TestListenJSONWithoutForwarding(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	l := startListen(t, env, "--output", "json")
	l.waitFor(t, &l.stderr, `Ready! \(\^C to quit\)`)
	if strings.Contains(l.stderr.String(), "whsec_") {
		t.Errorf("a secret printed though nothing is forwarded:\n%s", l.stderr.String())
	}
	link := create(t, env, mkpArgs...)
	run(env, "links", "close", link.Id).check(t, 0, nil, nil)
	l.waitFor(t, &l.stdout, `"payment_link.closed"`)
	if code := l.stop(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	var types []api.EventType
	sc := bufio.NewScanner(strings.NewReader(l.stdout.String()))
	for sc.Scan() {
		var e api.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("a line is not an event's JSON (%v): %s", err, sc.Text())
		}
		if e.Data.Link == nil || e.Data.Link.Id != link.Id {
			t.Errorf("event of another link: %s", sc.Text())
		}
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != api.EventTypePaymentLinkCreated || types[1] != api.EventTypePaymentLinkClosed {
		t.Errorf("events %v, want created then closed", types)
	}
}

func TestListenSlowReceiver(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	rcv := eventstest.NewReceiver(t)
	rcv.Script(eventstest.Action{Sleep: 5 * time.Second}, eventstest.Status(500)) // hangs, then refuses
	l := startListen(t, env, "--forward-to", rcv.URL(), "--forward-timeout", "200ms", "--events", "payment_link.created")
	l.waitFor(t, &l.stderr, readyRe)
	first := create(t, env, mkpArgs...)
	l.waitFor(t, &l.stdout, regexp.QuoteMeta(first.Id)+`.*\n  --> no answer within 200ms from `+regexp.QuoteMeta(rcv.URL())+` \(given up\)`)
	second := create(t, env, mkpArgs...)
	l.waitFor(t, &l.stdout, regexp.QuoteMeta(second.Id)+`.*\n  --> 500 Internal Server Error \(\d+ms\)`)
	third := create(t, env, mkpArgs...)
	l.waitFor(t, &l.stdout, regexp.QuoteMeta(third.Id)+`.*\n  --> 200 OK`)

	// A receiver that is not there.
	rcv.Down()
	fourth := create(t, env, mkpArgs...)
	l.waitFor(t, &l.stdout, regexp.QuoteMeta(fourth.Id)+`.*\n  --> connection refused by `+regexp.QuoteMeta(rcv.URL())+`: is your receiver running\?`)
}

func TestListenRefused(t *testing.T) {
	t.Parallel()
	url := startEventsServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stdout []string // the problem, for scripts, with --output json
		stderr []string
	}{
		{"wrong API key", map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": "sk_wrong"}, nil, nil,
			[]string{"paylinks listen: Unauthorized (HTTP 401, code unauthorized)", "refused the API key"}},
		{"wrong API key, json", map[string]string{"PAYLINKS_SERVER": url, "PAYLINKS_API_KEY": "sk_wrong"}, []string{"--output", "json"},
			[]string{`"code": "unauthorized"`}, []string{"code unauthorized"}},
		{"no server", sandboxEnv(closed), nil, nil, []string{"not reachable at " + closed}},
		{"not a paylinks server", sandboxEnv(url + "/sandbox/nothing"), nil, nil, []string{"paylinks server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(tt.env, append([]string{"listen", "--forward-to", "http://127.0.0.1:9/hooks"}, tt.args...)...)
			r.check(t, 1, tt.stdout, tt.stderr)
			if strings.Contains(r.stderr, "Ready!") {
				t.Errorf("announced ready though refused:\n%s", r.stderr)
			}
		})
	}
}

func TestListenResumesAfterADrop(t *testing.T) {
	t.Parallel()
	// A stream opened without Last-Event-ID starts only 1ms back: only a resumed one gets the
	// events made while listen was cut off.
	url := startServerWith(t, server.Config{Events: server.EventsConfig{PollSchedule: "20ms",
		Tune: func(c *events.Config) { c.StreamLookback = time.Millisecond }}})
	env := sandboxEnv(url)
	proxy := cutproxy.New(t, strings.TrimPrefix(url, "http://"))
	rcv := eventstest.NewReceiver(t)
	l := startListen(t, sandboxEnv("http://"+proxy.Addr()), "--forward-to", rcv.URL(), "--events", "payment_link.created")
	rcv.SetSecrets(l.waitFor(t, &l.stderr, readyRe)[1])

	before := create(t, env, mkpArgs...)
	last := l.waitFor(t, &l.stdout, regexp.QuoteMeta(before.Id)+`  \[(evt_\w+)\]\n  --> 200 OK`)[1]

	proxy.Cut()
	l.waitFor(t, &l.stderr, `Lost the event stream \(.+\); reconnecting in`)
	var during []api.PaymentLink
	for range 3 {
		during = append(during, create(t, env, mkpArgs...))
	}
	time.Sleep(50 * time.Millisecond) // past the lookback
	proxy.Restore()

	l.waitFor(t, &l.stderr, `Reconnected; resuming after `+last+`\.`)
	for _, link := range during {
		_, ev := delivered(t, rcv, link.Id, api.EventTypePaymentLinkCreated)
		l.waitFor(t, &l.stdout, regexp.QuoteMeta(link.Id)+`  \[`+ev.Id+`\]\n  --> 200 OK`)
	}
	after := create(t, env, mkpArgs...)
	l.waitFor(t, &l.stdout, regexp.QuoteMeta(after.Id)+`.*\n  --> 200 OK`)
	if code := l.stop(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	// Nothing twice: each event printed and forwarded once.
	if n := strings.Count(l.stdout.String(), "payment_link.created"); n != 5 {
		t.Errorf("%d events printed, want 5:\n%s", n, l.stdout.String())
	}
	seen := map[string]bool{}
	for _, r := range rcv.Requests() {
		if seen[r.ID] {
			t.Errorf("%s forwarded twice", r.ID)
		}
		seen[r.ID] = true
	}
}

// The events quick start as the README tells it, with the poller slowed to hourly: a link created
// with `links create`, paid on the sandbox's checkout page, shows in `listen` as
// payment_link.completed from the sandbox's own webhook, with nothing configured.
func TestListenShowsACheckoutPaymentFromTheSandboxWebhook(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startServerWith(t, server.Config{Events: server.EventsConfig{PollSchedule: "1h"}}))
	l := startListen(t, env, "--output", "json", "--events", "payment_link.completed")
	l.waitFor(t, &l.stderr, `Ready! \(\^C to quit\)`)
	link := create(t, env, "--provider", "hub2", "--amount", "1000", "--currency", "XOF", "--reference", "ORDER-1", "--option", "country=CI")
	pay(t, link)
	m := l.waitFor(t, &l.stdout, `\{[^\n]*"payment_link\.completed"[^\n]*\}`)
	var e api.Event
	if err := json.Unmarshal([]byte(m[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Data.Link == nil || e.Data.Link.Id != link.Id || e.Data.Source == nil || *e.Data.Source != "provider_webhook" {
		t.Errorf("event %s", m[0])
	}
}
