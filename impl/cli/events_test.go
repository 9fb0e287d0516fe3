package cli_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/server"
)

// startEventsServer runs a sandbox-mode server that polls its links every 20ms and retries
// deliveries fast, and returns its URL.
func startEventsServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, server.Config{Events: server.EventsConfig{PollSchedule: "20ms", RetrySchedule: "0s,50ms,100ms"}})
}

// pay pays a sandbox link the way a person does on its checkout page.
func pay(t *testing.T, l api.PaymentLink) {
	t.Helper()
	if l.Url == nil {
		t.Fatalf("link %s has no URL to pay", l.Id)
	}
	res, err := http.PostForm(*l.Url+"/pay", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 400 {
		t.Fatalf("pay %s: %s", l.Id, res.Status)
	}
}

// mkpArgs create a MijnKlantportaal link.
var mkpArgs = []string{"--provider", "mijnklantportaal", "--amount", "12.95", "--currency", "EUR", "--description", "Contribution"}

type eventList struct {
	Data       []api.Event `json:"data"`
	NextCursor *string     `json:"nextCursor"`
}

// eventsOf waits until `events list` shows n events of the link, and returns them (newest first).
func eventsOf(t *testing.T, env map[string]string, linkID string, n int) []api.Event {
	t.Helper()
	var got eventList
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = decode[eventList](t, run(env, "events", "list", "--link", linkID, "--output", "json")); len(got.Data) >= n {
			return got.Data
		}
	}
	t.Fatalf("%d events of %s, want %d: %+v", len(got.Data), linkID, n, got.Data)
	return nil
}

func TestEvents(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	rcv := eventstest.NewReceiver(t)
	ep := decode[api.WebhookEndpointWithSecret](t, run(env, "webhooks", "endpoints", "create", "--url", rcv.URL(), "--output", "json"))
	rcv.SetSecrets(ep.Secret)

	paid := create(t, env, mkpArgs...)
	pay(t, paid)
	closed := create(t, env, "--provider", "hub2", "--amount", "1000", "--currency", "XOF", "--reference", "R", "--option", "country=CI")
	run(env, "links", "close", closed.Id).check(t, 0, nil, nil)
	evs := eventsOf(t, env, paid.Id, 2)
	completed, created := evs[0], evs[1]
	if completed.Type != api.EventTypePaymentLinkCompleted || created.Type != api.EventTypePaymentLinkCreated {
		t.Fatalf("events of the paid link, newest first: %s, %s", completed.Type, created.Type)
	}
	eventsOf(t, env, closed.Id, 2)
	// The sandbox's own webhook or the poller, whichever saw the payment first.
	if completed.Data.Source == nil || (*completed.Data.Source != api.EventDataSourcePoll && *completed.Data.Source != api.EventDataSourceProviderWebhook) {
		t.Fatalf("source of the completed event: %v, want poll or provider_webhook", completed.Data.Source)
	}
	completedSource := string(*completed.Data.Source)

	t.Run("list", func(t *testing.T) {
		t.Parallel()
		r := run(env, "events", "list")
		r.check(t, 0, []string{"ID", "TYPE", "LINK", "PROVIDER", "STATUS", "SOURCE", "TIME",
			completed.Id + "  payment_link.completed  " + paid.Id, "payment_link.closed", closed.Id, completedSource, "api"}, nil)
		if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 5 {
			t.Errorf("%d lines, want a header and 4 events:\n%s", len(lines), r.stdout)
		}
		all := decode[eventList](t, run(env, "events", "list", "--output", "json"))
		if len(all.Data) != 4 || all.NextCursor != nil || all.Data[0].Id < all.Data[3].Id {
			t.Fatalf("all events: %d, next %v; want 4, newest first", len(all.Data), all.NextCursor)
		}
		tests := []struct {
			name  string
			args  []string
			types []api.EventType
			more  bool
		}{
			{"by type", []string{"--type", "payment_link.completed"}, []api.EventType{api.EventTypePaymentLinkCompleted}, false},
			{"by link", []string{"--link", closed.Id}, []api.EventType{api.EventTypePaymentLinkClosed, api.EventTypePaymentLinkCreated}, false},
			{"by provider", []string{"--provider", "mijnklantportaal"}, []api.EventType{api.EventTypePaymentLinkCompleted, api.EventTypePaymentLinkCreated}, false},
			{"pages of one followed", []string{"--page-size", "1", "--limit", "0", "--provider", "hub2"}, []api.EventType{api.EventTypePaymentLinkClosed, api.EventTypePaymentLinkCreated}, false},
			{"limit", []string{"--limit", "1", "--provider", "hub2"}, []api.EventType{api.EventTypePaymentLinkClosed}, true},
		}
		for _, tt := range tests {
			got := decode[eventList](t, run(env, append([]string{"events", "list", "--output", "json"}, tt.args...)...))
			var types []api.EventType
			for _, e := range got.Data {
				types = append(types, e.Type)
			}
			if len(types) != len(tt.types) || (got.NextCursor != nil) != tt.more {
				t.Errorf("%s: %v (next %v), want %v (more: %v)", tt.name, types, got.NextCursor, tt.types, tt.more)
				continue
			}
			for i := range types {
				if types[i] != tt.types[i] {
					t.Errorf("%s: %v, want %v", tt.name, types, tt.types)
				}
			}
			if tt.more { // the rest continues after it
				rest := decode[eventList](t, run(env, "events", "list", "--output", "json", "--provider", "hub2", "--cursor", *got.NextCursor))
				if len(rest.Data) != 1 || rest.Data[0].Type != api.EventTypePaymentLinkCreated {
					t.Errorf("after the cursor: %+v", rest.Data)
				}
			}
		}
		run(env, "events", "list", "--limit", "1").check(t, 0, []string{completed.Id[:4]}, []string{"Showing the first 1 events", "--cursor"})
		run(env, "events", "list", "--type", "payment_link.expired").check(t, 0, []string{"No events."}, []string{"try without"})
		run(env, "events", "list", "--type", "payment_link.expired", "--output", "json").check(t, 0, []string{`"data": []`}, nil)
	})

	t.Run("get", func(t *testing.T) {
		t.Parallel()
		run(env, "events", "get", completed.Id).check(t, 0, []string{"ID ", completed.Id, "Type ", "payment_link.completed",
			"Source ", completedSource, "Sequence ", "2 (", "Previous ", "active", "  ID ", paid.Id, "  Status ", "completed", "  Amount ", "€12.95"}, nil)
		got := decode[api.Event](t, run(env, "events", "get", completed.Id, "--output", "json"))
		if got.Id != completed.Id || got.Data.Link == nil || got.Data.Link.Id != paid.Id || got.Data.Link.Status != api.PaymentLinkStatusCompleted {
			t.Errorf("get --output json: %+v", got)
		}
		run(env, "events", "get", "evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8").check(t, 1, nil, []string{"code not_found", "paylinks events list"})
	})

	t.Run("deliveries", func(t *testing.T) {
		t.Parallel()
		var r result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if r = run(env, "events", "deliveries", completed.Id); strings.Contains(r.stdout, "succeeded") {
				break
			}
		}
		r.check(t, 0, []string{"ENDPOINT", "STATUS", "ATTEMPT", "HTTP", "OUTCOME", ep.Id, "delivered", "200", "succeeded"}, nil)
		ds := decode[api.DeliveryList](t, run(env, "events", "deliveries", completed.Id, "--output", "json"))
		if len(ds.Data) != 1 || ds.Data[0].EndpointId != ep.Id || len(ds.Data[0].Attempts) != 1 {
			t.Errorf("deliveries: %+v", ds.Data)
		}
		run(env, "events", "deliveries", "evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8").check(t, 1, nil, []string{"code not_found", "paylinks events list"})
	})
}

// sentID finds the event id in the output of webhooks endpoints test.
var sentID = regexp.MustCompile(`Sent webhook_endpoint\.test (evt_\w+)`)

// requestFor waits for the receiver's request of that event (match[1]).
func requestFor(t *testing.T, rcv *eventstest.Receiver, match []string) eventstest.Request {
	t.Helper()
	if len(match) != 2 {
		t.Fatalf("no event id printed")
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, r := range rcv.Requests() {
			if r.ID == match[1] {
				return r
			}
		}
	}
	t.Fatalf("the receiver got no request of %s", match[1])
	return eventstest.Request{}
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	env := sandboxEnv(startEventsServer(t))
	rcv := eventstest.NewReceiver(t)

	r := run(env, "webhooks", "endpoints", "create", "--url", rcv.URL(), "--events", "payment_link.completed,webhook_endpoint.test",
		"--providers", "hub2", "--description", "paid orders")
	r.check(t, 0, []string{"ID ", "we_", "URL ", rcv.URL(), "Events ", "payment_link.completed,webhook_endpoint.test", "Providers ", "hub2",
		"State ", "enabled", "Description ", "paid orders", "Signing secret (shown only now", "  whsec_"}, nil)
	secret := r.stdout[strings.LastIndex(r.stdout, "whsec_"):]
	secret = strings.TrimSpace(secret)
	id := strings.Fields(r.stdout)[1]
	rcv.SetSecrets(secret)

	t.Run("list and get never show the secret", func(t *testing.T) {
		for _, args := range [][]string{{"list"}, {"list", "--output", "json"}, {"get", id}, {"get", id, "--output", "json"}} {
			r := run(env, append([]string{"webhooks", "endpoints"}, args...)...)
			r.check(t, 0, []string{id, rcv.URL()}, nil)
			if strings.Contains(r.stdout, "whsec_") {
				t.Errorf("%v shows a secret:\n%s", args, r.stdout)
			}
		}
		run(env, "webhooks", "endpoints", "list").check(t, 0, []string{"ID", "URL", "EVENTS", "PROVIDERS", "STATE", "enabled", "paid orders"}, nil)
	})

	t.Run("test reaches the endpoint signed", func(t *testing.T) {
		r := run(env, "webhooks", "endpoints", "test", id)
		r.check(t, 0, []string{"Sent webhook_endpoint.test evt_", "The endpoint answered 200 OK"}, nil)
		if req := requestFor(t, rcv, sentID.FindStringSubmatch(r.stdout)); !req.VerifyOK {
			t.Errorf("test delivery %s does not verify: %v", req.ID, req.VerifyErr)
		}

		rcv.Script(eventstest.Status(http.StatusInternalServerError))
		run(env, "webhooks", "endpoints", "test", id).check(t, 1, []string{"Sent "}, []string{"did not accept the test event", "500", "paylinks events deliveries evt_"})

		ev := decode[api.Event](t, run(env, "webhooks", "endpoints", "test", id, "--wait", "0", "--output", "json"))
		if ev.Type != api.EventTypeWebhookEndpointTest || ev.Data.EndpointId == nil || *ev.Data.EndpointId != id {
			t.Errorf("test --output json: %+v", ev)
		}
	})

	t.Run("rotate keeps the previous secret for a while", func(t *testing.T) {
		r := run(env, "webhooks", "endpoints", "rotate", id, "--keep", "1h")
		r.check(t, 0, []string{"New signing secret of " + id, "  whsec_", "The previous secret keeps signing beside it until"}, nil)
		rotated := strings.TrimSpace(strings.SplitN(r.stdout[strings.Index(r.stdout, "whsec_"):], "\n", 2)[0])
		if rotated == secret {
			t.Fatal("rotate printed the old secret")
		}
		// Either secret verifies the next delivery: it carries both signatures.
		for _, s := range []string{secret, rotated} {
			rcv.SetSecrets(s)
			r := run(env, "webhooks", "endpoints", "test", id)
			r.check(t, 0, []string{"answered 200 OK"}, nil)
			if req := requestFor(t, rcv, sentID.FindStringSubmatch(r.stdout)); !req.VerifyOK {
				t.Errorf("after rotation, the delivery does not verify with the %s secret: %v", map[bool]string{true: "new", false: "old"}[s == rotated], req.VerifyErr)
			}
		}
		again := decode[api.WebhookEndpointWithSecret](t, run(env, "webhooks", "endpoints", "rotate", id, "--keep", "0", "--output", "json"))
		if !strings.HasPrefix(again.Secret, "whsec_") || again.Secret == rotated || again.PreviousSecretExpiresAt != nil {
			t.Errorf("rotate --keep 0: secret %q, previous until %v", again.Secret, again.PreviousSecretExpiresAt)
		}
		run(env, "webhooks", "endpoints", "get", id).check(t, 0, nil, nil)
	})

	t.Run("deliveries of the endpoint", func(t *testing.T) {
		r := run(env, "webhooks", "endpoints", "deliveries", id)
		r.check(t, 0, []string{"EVENT", "STATUS", "evt_", "succeeded", "failed"}, nil)
		ds := decode[api.DeliveryList](t, run(env, "webhooks", "endpoints", "deliveries", id, "--status", "delivered", "--output", "json"))
		if len(ds.Data) == 0 {
			t.Error("no delivered deliveries listed")
		}
		for _, d := range ds.Data {
			if d.Status != api.DeliveryStatusDelivered || d.EndpointId != id {
				t.Errorf("--status delivered listed %+v", d)
			}
		}
	})

	t.Run("a test event reaches an endpoint whatever its event types", func(t *testing.T) {
		only := decode[api.WebhookEndpointWithSecret](t, run(env, "webhooks", "endpoints", "create", "--url", rcv.URL()+"/paid", "--events", "payment_link.completed", "--output", "json"))
		run(env, "webhooks", "endpoints", "test", only.Id).check(t, 0, []string{"Sent ", "answered 200"}, nil)
		run(env, "webhooks", "endpoints", "delete", only.Id, "--output", "json").check(t, 0, []string{`"deleted": true`, only.Id}, nil)
	})

	t.Run("refused by the server", func(t *testing.T) {
		run(env, "webhooks", "endpoints", "create", "--url", "ftp://example.com/hooks").check(t, 1, nil, []string{"code validation_failed", "/url"})
		run(env, "webhooks", "endpoints", "create", "--url", rcv.URL(), "--providers", "nobody").check(t, 1, nil, []string{"code validation_failed", "/providers/0"})
		for _, args := range [][]string{{"get"}, {"test"}, {"rotate"}, {"delete"}, {"deliveries"}} {
			run(env, append([]string{"webhooks", "endpoints"}, append(args, "we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8")...)...).
				check(t, 1, nil, []string{"code not_found", "paylinks webhooks endpoints list"})
		}
	})

	t.Run("update", func(t *testing.T) {
		r := run(env, "webhooks", "endpoints", "update", id, "--events", "all", "--providers", "hub2,mollie", "--description", "")
		r.check(t, 0, []string{"ID ", id, "Events ", "all", "Providers ", "hub2,mollie", "State ", "enabled"}, nil)
		if strings.Contains(r.stdout, "Description") {
			t.Errorf("--description \"\" kept a description:\n%s", r.stdout)
		}
		e := decode[api.WebhookEndpoint](t, run(env, "webhooks", "endpoints", "update", id, "--disable", "--output", "json"))
		if !e.Disabled || len(e.EventTypes) != 0 || len(e.Providers) != 2 {
			t.Errorf("after --disable: %+v", e)
		}
		run(env, "webhooks", "endpoints", "update", id, "--enable", "--providers", "all").check(t, 0, []string{"State ", "enabled", "Providers ", "all"}, nil)
		run(env, "webhooks", "endpoints", "update", id).check(t, 2, nil, []string{"nothing to change", "--url"})
		run(env, "webhooks", "endpoints", "update", id, "--enable", "--disable").check(t, 2, nil, []string{"--disable and --enable"})
		run(env, "webhooks", "endpoints", "update", id, "--url", "ftp://example.com/hooks").check(t, 1, nil, []string{"code validation_failed", "/url"})
		run(env, "webhooks", "endpoints", "update", "we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8", "--enable").check(t, 1, nil, []string{"code not_found"})
	})

	t.Run("redeliver and recover", func(t *testing.T) {
		// A test event the receiver refuses on every attempt: its delivery fails for good.
		rcv.Script(eventstest.Status(500), eventstest.Status(500), eventstest.Status(500), eventstest.Status(500), eventstest.Status(500))
		ev := decode[api.Event](t, run(env, "webhooks", "endpoints", "test", id, "--wait", "0", "--output", "json"))
		failed := func() bool {
			ds := decode[api.DeliveryList](t, run(env, "events", "deliveries", ev.Id, "--output", "json"))
			return len(ds.Data) == 1 && ds.Data[0].Status == api.DeliveryStatusFailed
		}
		for deadline := time.Now().Add(10 * time.Second); !failed(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the refused test event's delivery never failed")
			}
		}
		rcv.Script()
		answered := func() int {
			n := 0
			for _, r := range rcv.Requests() {
				if r.ID == ev.Id && r.Answered == 200 {
					n++
				}
			}
			return n
		}
		run(env, "webhooks", "endpoints", "recover", id, "--since", "1h").check(t, 0, []string{"Scheduled 1 delivery to " + id}, nil)
		for deadline := time.Now().Add(5 * time.Second); answered() < 1; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("recover did not deliver the failed event")
			}
		}
		// Nothing failed is left in the window.
		run(env, "webhooks", "endpoints", "recover", id, "--since", "1h", "--output", "json").check(t, 0, []string{`"scheduled": 0`}, nil)

		run(env, "events", "redeliver", ev.Id).check(t, 0, []string{"Scheduled 1 delivery of " + ev.Id}, nil)
		for deadline := time.Now().Add(5 * time.Second); answered() < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("redeliver did not deliver the event again")
			}
		}
		run(env, "events", "redeliver", "evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8").check(t, 1, nil, []string{"code not_found", "paylinks events list"})
		run(env, "webhooks", "endpoints", "recover", id, "--since", "1h", "--until", "2h").check(t, 2, nil, []string{"is not after --since"})
	})

	t.Run("delete", func(t *testing.T) {
		run(env, "webhooks", "endpoints", "delete", id).check(t, 0, []string{"Deleted webhook endpoint " + id}, nil)
		run(env, "webhooks", "endpoints", "delete", id).check(t, 1, nil, []string{"code not_found"})
		run(env, "webhooks", "endpoints", "list").check(t, 0, []string{"No webhook endpoints."}, []string{"paylinks listen"})
	})
}
