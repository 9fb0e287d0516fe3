package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	sse "github.com/tmaxmax/go-sse"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/stdwebhook"
)

// listenSecretEnv holds the signing secret of listen's forwards, for a receiver that keeps one.
const listenSecretEnv = "PAYLINKS_LISTEN_SECRET"

// Tuning of listen's stream.
const (
	// streamIdle is how long the stream may stay silent before listen takes the connection for
	// dead and reconnects: the server writes a keep-alive comment every 15 s.
	streamIdle = 45 * time.Second
	// maxEventSize bounds one event of the stream (events are a few KiB).
	maxEventSize = 16 << 20
	// reconnectMin and reconnectMax bound the wait between reconnections, doubled each failure.
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 15 * time.Second
	// queueSize is how many received events may wait for a slow forward before listen stops
	// reading the stream (the server then holds them back).
	queueSize = 1024
	// answerPreview is how much of a receiver's refusal listen shows.
	answerPreview = 200
)

// listenOptions are the flags of listen.
type listenOptions struct {
	forwardTo      string
	events         []string
	secret         string
	forwardTimeout time.Duration
	idle           time.Duration // silence that drops a connection; 0 = streamIdle (tests shorten it)
}

func (c *cli) listenCmd() *cobra.Command {
	o := &listenOptions{}
	cmd := &cobra.Command{
		Use:   "listen [--forward-to URL]",
		Short: "Watch link events as they happen, and forward them to a local receiver",
		Long: `Streams link events from the server as they happen (Server-Sent Events on
GET /v1/events/stream) and prints one line per event: time, type, link status, provider, link
and event id. It starts with the events of the last few seconds.

With --forward-to it also POSTs each event to that URL, as paylinks delivers to webhook
endpoints: the event as JSON body, signed the Standard Webhooks way (webhook-id = the event id,
webhook-timestamp, webhook-signature), and prints the receiver's answer under the event. The
signing secret is a new one each run, printed at the start, unless --secret or
PAYLINKS_LISTEN_SECRET gives one, so that your receiver can keep a fixed secret. A forward that
gets no answer within --forward-timeout is given up (the stream goes on); nothing is retried.

A dropped stream is resumed where it stopped (Last-Event-ID), after a wait that grows up to 15s.
listen stops on Ctrl-C (SIGINT) or SIGTERM with exit code 0; exit code 1 if the server refuses
it (a wrong API key, say) or cannot be reached at the start. --output json prints each event
as one line of JSON (the forwards' answers then go to stderr).`,
		Example: `  paylinks listen
  paylinks listen --forward-to http://localhost:3000/hooks
  paylinks listen --forward-to http://localhost:3000/hooks --events payment_link.completed,payment_link.expired
  PAYLINKS_LISTEN_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw paylinks listen --forward-to http://localhost:3000/hooks
  paylinks listen --output json | jq -r 'select(.type == "payment_link.completed") | .data.link.id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.listen(cmd.Context(), o, cmd.Flags().Changed("secret"))
		},
	}
	c.clientFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&o.forwardTo, "forward-to", "", "POST each event, signed, to this `URL` (e.g. http://localhost:3000/hooks)")
	fs.StringSliceVar(&o.events, "events", nil, "only these event `types`, comma-separated (default all): "+strings.Join(eventTypes, ", "))
	fs.StringVar(&o.secret, "secret", "", "sign forwards with this whsec_… `secret` (env "+listenSecretEnv+"; default: a new one each run)")
	fs.DurationVar(&o.forwardTimeout, "forward-timeout", 10*time.Second, "how long a forward may take before it is given up")
	completeWith(cmd, "events", eventTypes...)
	return cmd
}

func (c *cli) listen(ctx context.Context, o *listenOptions, secretGiven bool) error {
	l := &listener{c: c, g: &c.g, o: o}
	var err error
	if l.types, err = eventTypeList("events", o.events); err != nil {
		return err
	}
	if o.forwardTo != "" {
		u, err := url.Parse(o.forwardTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &usageError{msg: fmt.Sprintf("--forward-to %q is not an http(s) URL", o.forwardTo),
				hint: "Give the URL of your receiver, e.g. --forward-to http://localhost:3000/hooks."}
		}
		if o.forwardTimeout <= 0 {
			return usagef("--forward-timeout %s: give a positive duration such as 10s", o.forwardTimeout)
		}
		if l.secret, err = listenSecret(o.secret, secretGiven, c.getenv); err != nil {
			return err
		}
		if l.key, err = stdwebhook.Key(l.secret); err != nil {
			return err
		}
	} else if secretGiven {
		return usagef("--secret signs forwards: it needs --forward-to")
	}

	// The stream has no overall timeout; --timeout bounds the wait for its answer's headers.
	streamTransport := http.DefaultTransport.(*http.Transport).Clone()
	streamTransport.ResponseHeaderTimeout = l.g.timeout
	if l.stream, err = api.NewClient(l.g.server, api.WithHTTPClient(&http.Client{Transport: streamTransport}),
		api.WithRequestEditorFn(l.g.authenticate)); err != nil {
		return err
	}
	// Forwards are bounded by --forward-timeout each and, like deliveries, follow no redirect.
	l.forward = &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return l.run(ctx)
}

// listenSecret is the signing secret of the forwards: --secret, else PAYLINKS_LISTEN_SECRET, else
// a new one. A bad one is a usage error that does not repeat it (it is a secret).
func listenSecret(flag string, given bool, getenv func(string) string) (string, error) {
	secret, from := flag, "--secret"
	if !given {
		secret, from = strings.TrimSpace(getenv(listenSecretEnv)), listenSecretEnv
	}
	if secret == "" && !given {
		return stdwebhook.NewSecret()
	}
	if _, err := stdwebhook.Key(secret); err != nil {
		return "", &usageError{msg: from + " is not a signing secret (whsec_ followed by base64)",
			hint: "Give one such as a webhook endpoint's secret, or leave it out: listen then makes one."}
	}
	return secret, nil
}

// listener is one run of listen.
type listener struct {
	c       *cli
	g       *globals
	o       *listenOptions
	types   []api.EventType
	secret  string
	key     []byte // nil: no forwarding
	stream  *api.Client
	forward *http.Client

	out    sync.Mutex // one writer at a time: the forwarder prints events, the reader the stream's state
	lastID string     // the last event received: where a reconnection resumes
}

// received is one event of the stream, as the server sent it.
type received struct {
	id, typ string
	data    []byte
}

// run reads the stream until ctx ends (nil) or the server refuses it, while a second goroutine
// prints and forwards what was read, in order: a slow receiver does not stop the reading.
func (l *listener) run(ctx context.Context) error {
	queue := make(chan received, queueSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.forwardAll(ctx, queue)
	}()
	err := l.readLoop(ctx, queue)
	close(queue)
	<-done // the forwarder's last lines come before a failure's
	if err == nil {
		return nil
	}
	return l.report(err)
}

// readLoop connects, reads, and reconnects after a drop, resuming after the last event received,
// until ctx ends or a failure that retrying cannot mend: a refusal, or no connection at the start.
func (l *listener) readLoop(ctx context.Context, queue chan<- received) error {
	wait := reconnectMin
	connected := false
	for {
		err := l.readOnce(ctx, queue, func() {
			if !connected {
				l.ready()
			} else if l.lastID != "" {
				l.note("Reconnected; resuming after %s.", l.lastID)
			} else {
				l.note("Reconnected.")
			}
			connected, wait = true, reconnectMin
		})
		if ctx.Err() != nil {
			return nil
		}
		var bad *badAnswer
		if !connected || errors.Is(err, errNotAStream) || (errors.As(err, &bad) && bad.final()) {
			return err
		}
		pause := time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64())) // jitter: instances do not reconnect in step
		l.note("Lost the event stream (%s); reconnecting in %s.", streamProblem(err), pause.Round(100*time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		wait = min(2*wait, reconnectMax)
	}
}

// Why a stream ended.
var (
	errStreamEnded = errors.New("the server ended the stream")
	errStreamIdle  = errors.New("nothing received")
	errNotAStream  = errors.New("the answer is not an event stream")
)

// badAnswer is an answer other than the stream.
type badAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (b *badAnswer) Error() string {
	return fmt.Sprintf("the server answered %s", statusLine(b.status))
}

// final tells a refusal (the key, the filter), which a retry would meet again, from a failure that
// may pass (a server restarting, overloaded).
func (b *badAnswer) final() bool {
	return b.status >= 400 && b.status < 500 && b.status != http.StatusRequestTimeout && b.status != http.StatusTooManyRequests
}

// The answer interface, for problemError.
func (b *badAnswer) StatusCode() int     { return b.status }
func (b *badAnswer) GetBody() []byte     { return b.body }
func (b *badAnswer) ContentType() string { return b.header.Get("Content-Type") }

// readOnce opens the stream, calls connected once it is there, and queues its events until it
// ends; it returns why it ended.
func (l *listener) readOnce(ctx context.Context, queue chan<- received, connected func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	params := &api.StreamEventsParams{}
	if len(l.types) > 0 {
		params.Type = &l.types
	}
	if l.lastID != "" {
		after := l.lastID
		params.LastEventID = &after
	}
	res, err := l.stream.StreamEvents(ctx, params)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return &badAnswer{status: res.StatusCode, header: res.Header, body: body}
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("%w (Content-Type %q)", errNotAStream, ct)
	}
	connected()

	// A connection that went silent (a peer gone without closing it) is dropped: every read,
	// keep-alive comments included, pushes the deadline back.
	silence := cmp.Or(l.o.idle, streamIdle)
	idle := time.AfterFunc(silence, func() { cancel(fmt.Errorf("%w for %s", errStreamIdle, silence)) })
	defer idle.Stop()
	body := &activityReader{r: res.Body, touch: func() { idle.Reset(silence) }}
	for ev, err := range sse.Read(body, &sse.ReadConfig{MaxEventSize: maxEventSize}) {
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return cause
			}
			return err
		}
		if ev.Data == "" || ev.LastEventID == "" {
			continue
		}
		idle.Stop() // waiting for the forwarder is not silence
		select {
		case queue <- received{id: ev.LastEventID, typ: ev.Type, data: []byte(ev.Data)}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		idle.Reset(silence)
		l.lastID = ev.LastEventID
	}
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return errStreamEnded
}

// activityReader calls touch after every read that got bytes.
type activityReader struct {
	r     io.Reader
	touch func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// report prints a failure that ends listen the house way.
func (l *listener) report(err error) error {
	var bad *badAnswer
	var ue *url.Error
	switch {
	case errors.As(err, &bad):
		return l.c.problemError(l.g, bad, bad.header, failure{})
	case errors.Is(err, errNotAStream):
		fmt.Fprintf(l.c.stderr, "%s: %s %v.\n", l.g.cmd, l.g.server, err)
		fmt.Fprintln(l.c.stderr, "Is --server (PAYLINKS_SERVER) the address of a paylinks server?")
		return errShown
	case errors.As(err, &ue):
		return l.c.transportError(l.g, err, failure{})
	}
	return err
}

// streamProblem says briefly why a stream was lost.
func streamProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// ready announces that the stream is open, with the secret forwards are signed with.
func (l *listener) ready() {
	what := "all events"
	if len(l.types) > 0 {
		names := make([]string, len(l.types))
		for i, t := range l.types {
			names[i] = string(t)
		}
		what = strings.Join(names, ", ") + " events"
	}
	if l.key == nil {
		l.note("Listening to %s of %s.\nReady! (^C to quit)", what, l.g.server)
		return
	}
	l.note("Listening to %s of %s, forwarding them to %s.\nReady! Your webhook signing secret is %s (^C to quit)", what, l.g.server, l.o.forwardTo, l.secret)
}

// note writes a line about listen itself on stderr.
func (l *listener) note(format string, a ...any) {
	l.out.Lock()
	defer l.out.Unlock()
	fmt.Fprintf(l.c.stderr, format+"\n", a...)
}

// forwardAll prints, then forwards, each event queued, in order, until the queue closes or ctx
// ends.
func (l *listener) forwardAll(ctx context.Context, queue <-chan received) {
	for {
		var ev received
		select {
		case <-ctx.Done():
			return
		case e, ok := <-queue:
			if !ok {
				return
			}
			ev = e
		}
		l.printEvent(ev)
		if l.key != nil {
			result := l.forwardOne(ctx, ev)
			if ctx.Err() != nil {
				return // interrupted: the forward's failure is ours, not the receiver's
			}
			l.printForward(ev, result)
		}
	}
}

// printEvent prints one line: the event's JSON with --output json, else its time, type, link
// status, provider, link and id.
func (l *listener) printEvent(ev received) {
	l.out.Lock()
	defer l.out.Unlock()
	if l.g.json() {
		fmt.Fprintf(l.c.stdout, "%s\n", bytes.TrimSpace(ev.data))
		return
	}
	var e api.Event
	if err := json.Unmarshal(ev.data, &e); err != nil {
		fmt.Fprintf(l.c.stdout, "%s  %-22s  (its data could not be read: %v)  [%s]\n", timestamp(new(time.Now())), ev.typ, err, ev.id)
		return
	}
	link, provider, st := eventLink(e)
	if e.Data.Link == nil && e.Data.EndpointId != nil {
		link = "endpoint " + *e.Data.EndpointId
	}
	fmt.Fprintf(l.c.stdout, "%s  %-22s  %-9s  %-16s  %s  [%s]\n", timestamp(&e.Timestamp), e.Type, st, provider, link, ev.id)
}

// forwardResult is what came of one forward.
type forwardResult struct {
	status   int
	answer   string // the start of a refusal's body
	err      error
	duration time.Duration
}

// forwardOne POSTs the event to --forward-to, signed, within --forward-timeout.
func (l *listener) forwardOne(ctx context.Context, ev received) forwardResult {
	ctx, cancel := context.WithTimeout(ctx, l.o.forwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.o.forwardTo, bytes.NewReader(ev.data))
	if err != nil {
		return forwardResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paylinks-cli (listen)")
	stdwebhook.SetHeaders(req.Header, ev.id, time.Now(), ev.data, l.key)
	start := time.Now()
	res, err := l.forward.Do(req)
	if err != nil {
		return forwardResult{err: err, duration: time.Since(start)}
	}
	defer res.Body.Close()
	r := forwardResult{status: res.StatusCode}
	if res.StatusCode/100 != 2 {
		preview, _ := io.ReadAll(io.LimitReader(res.Body, answerPreview))
		r.answer = truncate(string(preview), 80)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // so the connection can be reused
	r.duration = time.Since(start)
	return r
}

// printForward prints a forward's answer under its event (on stderr with --output json).
func (l *listener) printForward(ev received, r forwardResult) {
	l.out.Lock()
	defer l.out.Unlock()
	w, prefix := l.c.stdout, "  "
	if l.g.json() {
		w, prefix = l.c.stderr, ev.id+" "
	}
	took := fmt.Sprintf("%dms", r.duration.Milliseconds())
	switch {
	case r.err != nil && errors.Is(r.err, context.DeadlineExceeded):
		fmt.Fprintf(w, "%s--> no answer within %s from %s (given up)\n", prefix, l.o.forwardTimeout, l.o.forwardTo)
	case r.err != nil && errors.Is(r.err, syscall.ECONNREFUSED):
		fmt.Fprintf(w, "%s--> connection refused by %s: is your receiver running?\n", prefix, l.o.forwardTo)
	case r.err != nil:
		fmt.Fprintf(w, "%s--> failed: %s\n", prefix, streamProblem(r.err))
	case r.answer != "":
		fmt.Fprintf(w, "%s--> %s (%s): %s\n", prefix, statusLine(r.status), took, r.answer)
	default:
		fmt.Fprintf(w, "%s--> %s (%s)\n", prefix, statusLine(r.status), took)
	}
}

// statusLine writes an HTTP status as "200 OK".
func statusLine(code int) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s", code, http.StatusText(code)))
}
