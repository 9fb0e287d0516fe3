package events

import (
	"context"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/netguard"
	"github.com/paylinks/paylinks/impl/events/stdwebhook"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

func field(err error) string {
	var ve *paylink.ValidationError
	if errors.As(err, &ve) && len(ve.Violations) > 0 {
		return ve.Violations[0].Field
	}
	return ""
}

func TestCreateEndpointValidation(t *testing.T) {
	strict := newEnv(t, func(c *Config) {
		c.AllowPrivate = false
		c.Providers = []string{"hub2", "telness"}
		c.Resolver = staticResolver{"hooks.example.com": "93.184.216.34", "corp.example.com": "10.1.2.3"}
	})
	ctx := context.Background()
	tests := []struct {
		in    EndpointInput
		field string
		part  string
	}{
		{EndpointInput{URL: "https://hooks.example.com/p", EventTypes: []string{"payment_link.completed"}, Providers: []string{"hub2"}}, "", ""},
		{EndpointInput{}, "/url", "required"},
		{EndpointInput{URL: "http://hooks.example.com/p"}, "/url", "https"},
		{EndpointInput{URL: "ftp://hooks.example.com/p"}, "/url", "scheme"},
		{EndpointInput{URL: "https://127.0.0.1/p"}, "/url", "loopback"},
		{EndpointInput{URL: "https://corp.example.com/p"}, "/url", "private"},
		{EndpointInput{URL: "https://hooks.example.com/p", EventTypes: []string{"payment_link.completed", "payment_link.paid"}}, "/eventTypes/1", "unknown event type"},
		{EndpointInput{URL: "https://hooks.example.com/p", EventTypes: []string{"payment_link.closed", "payment_link.closed"}}, "/eventTypes/1", "twice"},
		{EndpointInput{URL: "https://hooks.example.com/p", Providers: []string{"stripe"}}, "/providers/0", "unknown provider"},
		{EndpointInput{URL: "https://hooks.example.com/p", Description: strings.Repeat("x", 501)}, "/description", "500"},
	}
	for _, tt := range tests {
		ep, secret, err := strict.svc.CreateEndpoint(ctx, tt.in)
		if tt.field == "" {
			if err != nil || !strings.HasPrefix(secret, "whsec_") || ep.ID == "" {
				t.Fatalf("%+v: %v", tt.in, err)
			}
			continue
		}
		if !errors.Is(err, paylink.ErrInvalidInput) || field(err) != tt.field || !strings.Contains(err.Error(), tt.part) {
			t.Errorf("%+v: err = %v (field %q), want %s about %q", tt.in, err, field(err), tt.field, tt.part)
		}
	}
	// Sandbox mode (AllowPrivate) takes plain http on loopback.
	open := newEnv(t, nil)
	if _, _, err := open.svc.CreateEndpoint(ctx, EndpointInput{URL: "http://127.0.0.1:3000/hooks"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := open.svc.CreateEndpoint(ctx, EndpointInput{URL: "file:///etc/passwd"}); field(err) != "/url" {
		t.Fatalf("file URL in sandbox mode: %v", err)
	}
}

type staticResolver map[string]string

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// A name that resolved publicly at registration and to loopback at delivery (DNS rebinding) is
// refused at connect time: the attempt fails, the loopback receiver never hears of it.
func TestDeliveryRefusesRebindingAtConnect(t *testing.T) {
	rcv := eventstest.NewReceiver(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(rcv.URL(), "http://127.0.0.1"), ":")
	port = strings.TrimSuffix(port, "/hooks")
	res := &flipResolver{}
	e := newEnv(t, func(c *Config) { c.AllowPrivate = false; c.Resolver = res })
	ctx := context.Background()
	ep, _, err := e.svc.CreateEndpoint(ctx, EndpointInput{URL: "https://hooks.rebind.example:" + port + "/hooks"})
	must(t, err)
	res.flip()
	_, err = e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	e.runOnce(t)
	d := e.deliveries(t, ep.ID)[0]
	if len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Error, "loopback") || d.Status != store.DeliveryPending {
		t.Fatalf("delivery = %+v", d)
	}
	if n := len(rcv.Requests()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

type flipResolver struct{ flipped bool }

func (r *flipResolver) flip() { r.flipped = true }

func (r *flipResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.flipped {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

var _ netguard.Resolver = (*flipResolver)(nil)

func TestEndpointLifecycle(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SecretsKey = "test key" })
	ctx := context.Background()
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{EventTypes: []string{"payment_link.completed"}, Description: "shop"})
	// The secret is sealed at rest: not in the database in clear.
	raw, err := e.svc.Store().GetEndpoint(ctx, ep.ID)
	must(t, err)
	if !strings.HasPrefix(raw.Secret, "aesgcm1:") {
		t.Fatalf("secret stored as %q", raw.Secret[:12])
	}
	// Update: url, types, disable.
	types := []string{}
	desc := "shop 2"
	upd, err := e.svc.UpdateEndpoint(ctx, ep.ID, EndpointPatch{EventTypes: &types, Description: &desc})
	must(t, err)
	if upd.EventTypes != nil || upd.Description != "shop 2" || upd.URL != ep.URL {
		t.Fatalf("updated = %+v", upd)
	}
	bad := "gopher://x"
	if _, err := e.svc.UpdateEndpoint(ctx, ep.ID, EndpointPatch{URL: &bad}); field(err) != "/url" {
		t.Fatalf("bad URL patch: %v", err)
	}
	if _, err := e.svc.UpdateEndpoint(ctx, "we_01HZZZZZZZZZZZZZZZZZZZZZZZ", EndpointPatch{Description: &desc}); !errors.Is(err, ErrNotFound) || !errors.Is(err, paylink.ErrNotFound) {
		t.Fatalf("patch unknown: %v", err)
	}
	// Rotation: both secrets sign for the overlap, then only the new one.
	oldSecret := rcv
	_ = oldSecret
	prevSecrets := secretOf(t, e, ep.ID)
	overlap := time.Hour
	_, newSecret, err := e.svc.RotateSecret(ctx, ep.ID, &overlap)
	must(t, err)
	_, err = e.svc.TestEndpoint(ctx, ep.ID)
	must(t, err)
	e.runOnce(t)
	reqs := rcv.Requests()
	sigs := strings.Fields(reqs[len(reqs)-1].Header.Get("webhook-signature"))
	if len(sigs) != 2 {
		t.Fatalf("during the overlap: %d signatures", len(sigs))
	}
	for _, s := range []string{newSecret, prevSecrets} {
		v, _ := stdwebhook.NewVerifier(s)
		v.Now = e.clock.Now
		if err := v.Verify(reqs[len(reqs)-1].Header, reqs[len(reqs)-1].Body); err != nil {
			t.Fatalf("a receiver with one of the two secrets rejects it: %v", err)
		}
	}
	e.clock.Advance(overlap + time.Second)
	_, err = e.svc.TestEndpoint(ctx, ep.ID)
	must(t, err)
	e.runOnce(t)
	reqs = rcv.Requests()
	if sigs = strings.Fields(reqs[len(reqs)-1].Header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("after the overlap: %d signatures", len(sigs))
	}
	for _, bad := range []time.Duration{-time.Second, 8 * 24 * time.Hour} {
		if _, _, err := e.svc.RotateSecret(ctx, ep.ID, &bad); field(err) != "/previousSecretExpiresIn" {
			t.Fatalf("overlap %v: %v", bad, err)
		}
	}
	// The test event went to that endpoint only, with its own type and data.
	other, _, err := e.svc.CreateEndpoint(ctx, EndpointInput{URL: "http://127.0.0.1:1/x"})
	must(t, err)
	tev, err := e.svc.TestEndpoint(ctx, ep.ID)
	must(t, err)
	ds, err := e.svc.EventDeliveries(ctx, tev.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].EndpointID != ep.ID || tev.Type != EndpointTest || tev.Data.EndpointID != ep.ID {
		t.Fatalf("test event %+v deliveries %+v", tev, ds)
	}
	// Redeliver to the other endpoint creates a delivery there.
	if n, err := e.svc.Redeliver(ctx, tev.ID, other.ID); err != nil || n != 1 {
		t.Fatalf("redeliver = %d, %v", n, err)
	}
	if _, err := e.svc.Redeliver(ctx, "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ", ""); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "event") {
		t.Fatalf("redeliver unknown event: %v", err)
	}
	if _, err := e.svc.Redeliver(ctx, tev.ID, "we_01HZZZZZZZZZZZZZZZZZZZZZZZ"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "endpoint") {
		t.Fatalf("redeliver to unknown endpoint: %v", err)
	}
	// Recover checks its window.
	if _, err := e.svc.Recover(ctx, ep.ID, time.Time{}, time.Time{}); field(err) != "/since" {
		t.Fatalf("recover without since: %v", err)
	}
	if _, err := e.svc.Recover(ctx, ep.ID, t0, t0.Add(-time.Hour)); field(err) != "/until" {
		t.Fatalf("recover backwards: %v", err)
	}
	// Delete.
	must(t, e.svc.DeleteEndpoint(ctx, ep.ID))
	if _, err := e.svc.GetEndpoint(ctx, ep.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := e.svc.DeleteEndpoint(ctx, ep.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// secretOf reads the current secret back from the store (as the dispatcher does).
func secretOf(t *testing.T, e *env, id string) string {
	raw, err := e.svc.Store().GetEndpoint(context.Background(), id)
	must(t, err)
	s, err := e.svc.box.Open(raw.Secret, id)
	must(t, err)
	return s
}

func TestSecretsAtRestNeedTheKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SecretsKey = "k1" })
	ctx := context.Background()
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	dir := e.svc.cfg.DataDir
	// Another instance with a wrong key cannot sign: its attempt fails, the secret is not leaked.
	wrong := newEnv(t, func(c *Config) { c.Store = sqliteStore(t, dir); c.SecretsKey = "k2" })
	_, err := wrong.svc.TestEndpoint(ctx, ep.ID)
	must(t, err)
	wrong.runOnce(t)
	d := wrong.deliveries(t, ep.ID)[0]
	if len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Error, "cannot sign") || len(rcv.Requests()) != 0 {
		t.Fatalf("wrong key: %+v", d.Attempts)
	}
}

func TestListEndpointsPagingAndNoSecrets(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var created []string
	for i := 0; i < 7; i++ {
		ep, _, err := e.svc.CreateEndpoint(ctx, EndpointInput{URL: "http://127.0.0.1:9/x"})
		must(t, err)
		created = append(created, ep.ID)
		e.clock.Advance(time.Millisecond)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := e.svc.ListEndpoints(ctx, cursor, 3)
		must(t, err)
		for _, ep := range p.Items {
			seen = append(seen, ep.ID)
		}
		if p.NextCursor == "" {
			if pages != 2 {
				t.Fatalf("%d pages for 7 endpoints by 3", pages+1)
			}
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 7 || seen[0] != created[6] || seen[6] != created[0] {
		t.Fatalf("listed %v", seen)
	}
	// An events cursor is not an endpoints cursor.
	evCursor := encodeCursor(cursorEvents, "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ")
	if _, err := e.svc.ListEndpoints(ctx, evCursor, 3); field(err) != "query.cursor" {
		t.Fatalf("foreign cursor: %v", err)
	}
	if _, err := e.svc.ListEndpoints(ctx, "", 101); field(err) != "query.limit" {
		t.Fatalf("limit 101: %v", err)
	}
}

func TestListEventsFiltersAndCursor(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Providers = []string{"hub2", "telness"} })
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		prov := []string{"hub2", "telness"}[i%2]
		st := []paylink.Status{paylink.StatusActive, paylink.StatusCompleted, paylink.StatusClosed}[i%3]
		_, err := e.svc.Observe(ctx, Observation{Link: link(prov, "l"+string(rune('a'+i)), st), Source: SourcePoll})
		must(t, err)
		e.clock.Advance(time.Second)
	}
	all := map[string]bool{}
	cursor := ""
	for {
		p, err := e.svc.ListEvents(ctx, EventFilter{Cursor: cursor, Limit: 5})
		must(t, err)
		for _, ev := range p.Items {
			if all[ev.ID] {
				t.Fatalf("event %s listed twice", ev.ID)
			}
			all[ev.ID] = true
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 12+8 { // 12 created, 4 completed, 4 closed
		t.Fatalf("listed %d events", len(all))
	}
	p, err := e.svc.ListEvents(ctx, EventFilter{Type: "payment_link.completed", Provider: "telness"})
	must(t, err)
	for _, ev := range p.Items {
		if ev.Type != LinkCompleted || ev.Provider != "telness" {
			t.Fatalf("filter leaked %+v", ev)
		}
	}
	if len(p.Items) != 2 {
		t.Fatalf("completed telness events = %d", len(p.Items))
	}
	for _, f := range []struct {
		f     EventFilter
		field string
	}{
		{EventFilter{Type: "payment_link.paid"}, "query.type"},
		{EventFilter{Provider: "stripe"}, "query.provider"},
		{EventFilter{Cursor: "!!"}, "query.cursor"},
		{EventFilter{Limit: -1}, "query.limit"},
	} {
		if _, err := e.svc.ListEvents(ctx, f.f); field(err) != f.field {
			t.Errorf("%+v: %v", f.f, err)
		}
	}
	if _, err := e.svc.GetEvent(ctx, "evt_nope"); !errors.Is(err, paylink.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if _, err := e.svc.EventDeliveries(ctx, "evt_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deliveries of unknown: %v", err)
	}
}

func FuzzEventCursor(f *testing.F) {
	f.Add(encodeCursor(cursorEvents, "evt_01HZX3Y7Q9R8K2M4N6P0S1T3V5"))
	f.Add(encodeCursor(cursorEndpoints, "we_01HZX3Y7Q9R8K2M4N6P0S1T3V5"))
	f.Add("")
	f.Add("ZTE6")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("e1:evt_' OR 1=1 --")))
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(cursorEvents, c)
		if err != nil {
			if field(err) != "query.cursor" {
				t.Fatalf("error %v does not name query.cursor", err)
			}
			return
		}
		if c == "" {
			return
		}
		if _, ok := store.IDTime(id); !ok || !strings.HasPrefix(id, "evt_") || len(id) != 30 {
			t.Fatalf("cursor %q decoded to %q", c, id)
		}
		if encodeCursor(cursorEvents, id) != c {
			t.Fatalf("cursor %q does not round-trip", c)
		}
	})
}
