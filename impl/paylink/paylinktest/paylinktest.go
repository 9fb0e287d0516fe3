// Package paylinktest is the conformance suite of paylink.Provider: one set of checks that every
// provider adapter runs against its sandbox, so that every provider is held to the same contract
// (the MUSTs in the doc of paylink.Provider). It checks adapters through paylink.Client, as users
// call them, plus what only a direct call can show (List of a provider without one).
//
// An adapter's test is a harness, which makes the adapter against a fresh sandbox, and one call:
//
//	func TestConformance(t *testing.T) { paylinktest.RunConformance(t, harness) }
//
// Optional behaviour (list, amounts, reuse, open amounts, native idempotency) is checked or
// skipped by what the adapter's Capabilities report, never by the provider's name.
//
// It imports only the domain and the standard library.
package paylinktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// Harness makes one Env: an adapter against a sandbox of its own, empty. The suite calls it once
// per sub-suite, which may run in parallel.
type Harness func(t *testing.T) Env

// Env is one adapter under test.
type Env struct {
	// Provider is the adapter, with credentials the sandbox accepts, calling it through a
	// transport that validates every answer against the provider's curated spec.
	Provider paylink.Provider
	// WrongCredential is the adapter calling the same sandbox with credentials it refuses.
	WrongCredential paylink.Provider
	// At returns the adapter with valid credentials calling the server at baseURL (an httptest
	// URL the suite serves misbehaving answers on) without a validating transport, so that what
	// is checked is the adapter's own reading of answers.
	At func(baseURL string) paylink.Provider
	// Input returns a valid create at the provider: what it requires (a description, a reference,
	// options) and an amount when it takes one. The suite sets Amount, ExpiresAt and Reusable.
	Input func() paylink.CreateInput
	// Pay simulates a successful payment of a link (the simulator's Pay).
	Pay func(linkID string) error
	// Now and Advance are the sandbox's clock, which drives expiry.
	Now     func() time.Time
	Advance func(time.Duration) error
	// Secrets are every credential Provider and WrongCredential were made with: no error, and no
	// printout of an adapter or of Config, may contain one.
	Secrets []string
	// Config is the adapter's config as it was made with Secrets, for the printing checks.
	Config any
}

// env is an Env in one sub-suite, with the Client over its adapter.
type env struct {
	Env
	t      *testing.T
	name   string
	caps   paylink.Capabilities
	client *paylink.Client
	ctx    context.Context
}

// RunConformance runs every sub-suite against adapters made by h.
func RunConformance(t *testing.T, h Harness) {
	for _, s := range []struct {
		name string
		run  func(*env)
	}{
		{"Lifecycle", lifecycle},
		{"NotClosable", notClosable},
		{"NotFound", notFound},
		{"ProviderAuth", providerAuth},
		{"Unavailable", unavailable},
		{"ContractViolation", contractViolation},
		{"Timeout", timeout},
		{"Cancelled", cancelled},
		{"List", list},
		{"Capabilities", capabilities},
		{"Idempotency", idempotency},
		{"Concurrency", concurrency},
		{"NoSecrets", noSecrets},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(newEnv(t, h))
		})
	}
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	e := &env{Env: h(t), t: t, ctx: context.Background()}
	mutate(&e.Env, os.Getenv(MutantEnv))
	e.name = e.Provider.Name()
	e.caps = e.Provider.Capabilities()
	c, err := paylink.NewClient([]paylink.Provider{e.Provider}, paylink.WithClock(e.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	return e
}

// input is a valid create with the sample amount where the provider takes one.
func (e *env) input() paylink.CreateInput {
	in := e.Input()
	in.Provider = e.name
	in.Reusable = false
	in.ExpiresAt = time.Time{}
	in.Amount = nil
	if e.caps.Amounts {
		in.Amount = sampleAmount(e.t, e.currency())
	}
	return in
}

// currency is the first currency the provider takes (EUR when it names none).
func (e *env) currency() string {
	if len(e.caps.Currencies) == 0 {
		return "EUR"
	}
	return e.caps.Currencies[0]
}

// sampleAmount is 10 major units of the currency, in its minor units.
func sampleAmount(t *testing.T, currency string) *paylink.Amount {
	t.Helper()
	digits, ok := paylink.Digits(currency)
	if !ok {
		t.Fatalf("%q is not an ISO 4217 currency", currency)
	}
	a, err := paylink.AmountFromMinor(currency, 10*int64(math.Pow10(int(digits))))
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

// create creates a link through the Client and checks it.
func (e *env) create(in paylink.CreateInput) paylink.Link {
	e.t.Helper()
	l, err := e.client.Create(e.ctx, in)
	if err != nil {
		e.t.Fatalf("Create(%s): %v", describe(in), err)
	}
	e.checkLink("Create", l)
	e.checkEchoes(in, l, true)
	if l.Status != paylink.StatusActive {
		e.t.Errorf("Create: status %q (provider %q), want active", l.Status, l.ProviderStatus)
	}
	return l
}

func describe(in paylink.CreateInput) string {
	return fmt.Sprintf("amount %v, reusable %v, expiresAt %v", in.Amount, in.Reusable, in.ExpiresAt)
}

// get reads a link through the Client and checks it.
func (e *env) get(id paylink.ID) paylink.Link {
	e.t.Helper()
	l, err := e.client.Get(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", id, err)
	}
	e.checkLink("Get", l)
	if l.ID != id {
		e.t.Errorf("Get(%s) returned %s", id, l.ID)
	}
	return l
}

// checkLink checks what holds of every link: its id round-trips, its status is unified, its times
// are UTC, its Raw is the provider's JSON, and an active link has a URL to pay on.
func (e *env) checkLink(op string, l paylink.Link) {
	e.t.Helper()
	provider, linkID, err := l.ID.Parse()
	if err != nil || provider != e.name || linkID != l.ProviderLinkID || l.Provider != e.name || paylink.NewID(e.name, l.ProviderLinkID) != l.ID {
		e.t.Errorf("%s: id %q parses to %q %q (%v); provider %q, provider link id %q", op, l.ID, provider, linkID, err, l.Provider, l.ProviderLinkID)
	}
	if !l.Status.Valid() {
		e.t.Errorf("%s %s: status %q is not a unified status", op, l.ID, l.Status)
	}
	if l.CreatedAt.IsZero() {
		e.t.Errorf("%s %s: no createdAt", op, l.ID)
	}
	for name, at := range map[string]time.Time{"createdAt": l.CreatedAt, "updatedAt": l.UpdatedAt, "expiresAt": l.ExpiresAt, "completedAt": l.CompletedAt} {
		if !at.IsZero() && at.Location() != time.UTC {
			e.t.Errorf("%s %s: %s %v is not in UTC", op, l.ID, name, at)
		}
	}
	if len(l.Raw) == 0 || !json.Valid(l.Raw) {
		e.t.Errorf("%s %s: raw %q is not the provider's JSON", op, l.ID, l.Raw)
	}
	if l.Status == paylink.StatusActive && l.URL == "" {
		e.t.Errorf("%s %s: active without a URL to pay on", op, l.ID)
	}
	if l.Status != paylink.StatusActive && l.URL != "" {
		e.t.Errorf("%s %s: %s, yet a URL to pay on %q", op, l.ID, l.Status, l.URL)
	}
}

// checkEchoes checks the link shows what was asked of it. A description is checked on the
// create's answer only: some providers (Hub2) leave it out of later reads.
func (e *env) checkEchoes(in paylink.CreateInput, l paylink.Link, created bool) {
	e.t.Helper()
	switch {
	case in.Amount != nil && (l.Amount == nil || *l.Amount != *in.Amount):
		e.t.Errorf("%s: amount %v, asked %v", l.ID, l.Amount, in.Amount)
	case in.Amount == nil && l.Amount != nil:
		e.t.Errorf("%s: amount %v, asked none", l.ID, l.Amount)
	}
	if created && in.Description != "" && l.Description != in.Description {
		e.t.Errorf("%s: description %q, asked %q", l.ID, l.Description, in.Description)
	}
	if in.Reference != "" && l.Reference != in.Reference {
		e.t.Errorf("%s: reference %q, asked %q", l.ID, l.Reference, in.Reference)
	}
	for k, v := range in.Metadata {
		if l.Metadata[k] != v {
			e.t.Errorf("%s: metadata %q is %q, asked %q", l.ID, k, l.Metadata[k], v)
		}
	}
	if l.Reusable != in.Reusable {
		e.t.Errorf("%s: reusable %v, asked %v", l.ID, l.Reusable, in.Reusable)
	}
	if !in.ExpiresAt.IsZero() && l.ExpiresAt.Before(in.ExpiresAt) {
		e.t.Errorf("%s: expires at %v, before the %v asked", l.ID, l.ExpiresAt, in.ExpiresAt)
	}
}

// wantErr checks err matches want (and, when not nil, not notWant) and shows no secret.
func (e *env) wantErr(what string, err, want, notWant error) {
	e.t.Helper()
	if !errors.Is(err, want) {
		e.t.Errorf("%s: %v, want %v", what, err, want)
	}
	if notWant != nil && errors.Is(err, notWant) {
		e.t.Errorf("%s: %v also matches %v", what, err, notWant)
	}
	e.checkSecrets(what, err)
}

// checkSecrets checks a printout of v, with every verb, holds no credential.
func (e *env) checkSecrets(what string, v any) {
	e.t.Helper()
	if v == nil {
		return
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%v %+v %#v %s", v, v, v, v)
	if err, ok := v.(error); ok {
		out.WriteString(err.Error())
	}
	for _, s := range e.Secrets {
		if s != "" && strings.Contains(out.String(), s) {
			e.t.Errorf("%s: a credential shows in %s", what, out.String())
		}
	}
}

func lifecycle(e *env) {
	in := e.input()
	in.ExpiresAt = e.Now().Add(48 * time.Hour).Truncate(time.Second)
	created := e.create(in)
	got := e.get(created.ID)
	e.checkEchoes(in, got, false)
	if got.ProviderLinkID != created.ProviderLinkID || got.Status != paylink.StatusActive {
		e.t.Errorf("Get after Create: %s %s, want %s active", got.ProviderLinkID, got.Status, created.ProviderLinkID)
	}
	if e.caps.Supports(paylink.OpList) {
		page, err := e.client.List(e.ctx, paylink.ListQuery{Provider: e.name})
		if err != nil || len(page.Links) != 1 || page.Links[0].ID != created.ID {
			e.t.Errorf("List after Create: %+v, %v; want the one link %s", page, err, created.ID)
		}
	}
	closed, err := e.client.Close(e.ctx, created.ID, paylink.CloseInput{})
	if err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.checkLink("Close", closed)
	if closed.ID != created.ID || closed.Status != paylink.StatusClosed {
		e.t.Errorf("Close: %s %s, want %s closed", closed.ID, closed.Status, created.ID)
	}
	if got := e.get(created.ID); got.Status != paylink.StatusClosed {
		e.t.Errorf("Get after Close: %s, want closed", got.Status)
	}
	_, err = e.client.Close(e.ctx, created.ID, paylink.CloseInput{})
	e.wantErr("Close again", err, paylink.ErrAlreadyClosed, paylink.ErrNotClosable)
}

func notClosable(e *env) {
	paid := e.create(e.input())
	if err := e.Pay(paid.ProviderLinkID); err != nil {
		e.t.Fatalf("paying %s: %v", paid.ID, err)
	}
	if got := e.get(paid.ID); got.Status != paylink.StatusCompleted {
		e.t.Errorf("Get of a paid link: %s (provider %q), want completed", got.Status, got.ProviderStatus)
	}
	_, err := e.client.Close(e.ctx, paid.ID, paylink.CloseInput{})
	e.wantErr("Close of a paid link", err, paylink.ErrNotClosable, paylink.ErrAlreadyClosed)

	in := e.input()
	in.ExpiresAt = e.Now().Add(time.Hour).Truncate(time.Second)
	expiring := e.create(in)
	if err := e.Advance(72 * time.Hour); err != nil {
		e.t.Fatal(err)
	}
	if got := e.get(expiring.ID); got.Status != paylink.StatusExpired {
		e.t.Errorf("Get of a link past its expiry: %s (provider %q), want expired", got.Status, got.ProviderStatus)
	}
	_, err = e.client.Close(e.ctx, expiring.ID, paylink.CloseInput{})
	e.wantErr("Close of an expired link", err, paylink.ErrNotClosable, paylink.ErrAlreadyClosed)
}

func notFound(e *env) {
	l := e.create(e.input())
	for _, id := range []paylink.ID{paylink.NewID(e.name, l.ProviderLinkID+"0"), paylink.NewID(e.name, "")} {
		_, err := e.client.Get(e.ctx, id)
		e.wantErr(fmt.Sprintf("Get(%q)", id), err, paylink.ErrNotFound, nil)
		_, err = e.client.Close(e.ctx, id, paylink.CloseInput{})
		e.wantErr(fmt.Sprintf("Close(%q)", id), err, paylink.ErrNotFound, nil)
	}
	if got := e.get(l.ID); got.Status != paylink.StatusActive {
		e.t.Errorf("the link next to the unknown one is %s", got.Status)
	}
}

// calls are the operations the provider supports, each made on p through a Client.
func (e *env) calls(p paylink.Provider, linkID string) map[string]func() error {
	c, err := paylink.NewClient([]paylink.Provider{p}, paylink.WithClock(e.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	id := paylink.NewID(e.name, linkID)
	out := map[string]func() error{
		"Create": func() error { _, err := c.Create(e.ctx, e.input()); return err },
		"Get":    func() error { _, err := c.Get(e.ctx, id); return err },
		"Close":  func() error { _, err := c.Close(e.ctx, id, paylink.CloseInput{}); return err },
	}
	if e.caps.Supports(paylink.OpList) {
		out["List"] = func() error { _, err := c.List(e.ctx, paylink.ListQuery{Provider: e.name}); return err }
	}
	return out
}

func providerAuth(e *env) {
	l := e.create(e.input())
	for op, call := range e.calls(e.WrongCredential, l.ProviderLinkID) {
		e.wantErr(op+" with a refused credential", call(), paylink.ErrProviderAuth, nil)
	}
	if got := e.get(l.ID); got.Status != paylink.StatusActive {
		e.t.Errorf("a close with a refused credential left the link %s", got.Status)
	}
}

func unavailable(e *env) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // gone: connections are refused
	for op, call := range e.calls(e.At(srv.URL), "gone_1") {
		e.wantErr(op+" of a server that is gone", call(), paylink.ErrProviderUnavailable, nil)
	}
}

// misbehaving serves one answer to every request.
func (e *env) misbehaving(status int, contentType, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	e.t.Cleanup(srv.Close)
	return srv.URL
}

func contractViolation(e *env) {
	for _, garbage := range []struct{ name, contentType, body string }{
		{"not JSON", "application/json", `{"id": "lnk_1", "status":`},
		{"an HTML page", "text/html", `<html><body>OK</body></html>`},
		{"the wrong JSON", "application/json", `[{"unexpected": true}]`},
		{"an empty object", "application/json", `{}`},
	} {
		for op, call := range e.calls(e.At(e.misbehaving(http.StatusOK, garbage.contentType, garbage.body)), "lnk_1") {
			e.wantErr(fmt.Sprintf("%s answered 200 with %s", op, garbage.name), call(), paylink.ErrContractViolation, nil)
		}
	}
}

func timeout(e *env) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second): // an adapter that does not give up must not hang the suite
		}
	}))
	e.t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	c, err := paylink.NewClient([]paylink.Provider{e.At(srv.URL)})
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = c.Get(ctx, paylink.NewID(e.name, "slow_1"))
	e.wantErr("Get of a server that does not answer in time", err, paylink.ErrProviderTimeout, nil)
}

func cancelled(e *env) {
	l := e.create(e.input())
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.client.Get(ctx, l.ID); !errors.Is(err, context.Canceled) {
		e.t.Errorf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := e.client.Create(ctx, e.input()); !errors.Is(err, context.Canceled) {
		e.t.Errorf("Create with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := e.client.Close(ctx, l.ID, paylink.CloseInput{}); !errors.Is(err, context.Canceled) {
		e.t.Errorf("Close with a cancelled context: %v, want context.Canceled", err)
	}
	if got := e.get(l.ID); got.Status != paylink.StatusActive {
		e.t.Errorf("a cancelled close left the link %s", got.Status)
	}
}

// listed is how many links the list checks create: more than a page of the providers that page.
const listed = 17

func list(e *env) {
	if !e.caps.Supports(paylink.OpList) {
		_, err := e.Provider.List(e.ctx, paylink.PageQuery{})
		e.wantErr("List of a provider without list in its capabilities", err, paylink.ErrUnsupported, nil)
		_, err = e.client.List(e.ctx, paylink.ListQuery{Provider: e.name})
		e.wantErr("Client.List naming that provider", err, paylink.ErrUnsupported, nil)
		return
	}
	var created []paylink.Link // newest first
	for range listed {
		created = slices.Insert(created, 0, e.create(e.input()))
		if err := e.Advance(time.Second); err != nil {
			e.t.Fatal(err)
		}
	}
	// The adapter's own pages, to the end: newest first, each link once.
	var pages []paylink.Link
	token := ""
	for n := 0; ; n++ {
		if n > listed {
			e.t.Fatalf("List did not end after %d pages", n)
		}
		res, err := e.Provider.List(e.ctx, paylink.PageQuery{Page: token})
		if err != nil {
			e.t.Fatalf("List page %d (%q): %v", n, token, err)
		}
		pages = append(pages, res.Links...)
		if res.Next == "" {
			break
		}
		token = res.Next
	}
	if got, want := providerIDs(pages), providerIDs(created); !slices.Equal(got, want) {
		e.t.Errorf("the provider's pages hold\n%v\nwant, newest first,\n%v", got, want)
	}
	// Through the Client: every link once, newest first, in small pages.
	var all []paylink.Link
	for l, err := range e.client.All(e.ctx, paylink.ListQuery{Provider: e.name, Limit: 5}) {
		if err != nil {
			e.t.Fatalf("All: %v", err)
		}
		e.checkLink("List", l)
		all = append(all, l)
	}
	if got, want := providerIDs(all), providerIDs(created); !slices.Equal(got, want) {
		e.t.Errorf("Client.All holds\n%v\nwant\n%v", got, want)
	}
	// A status filter: the closed links only, and the active ones only.
	for _, l := range created[3:5] {
		if _, err := e.client.Close(e.ctx, l.ID, paylink.CloseInput{}); err != nil {
			e.t.Fatal(err)
		}
	}
	for status, want := range map[paylink.Status][]paylink.Link{
		paylink.StatusClosed: created[3:5],
		paylink.StatusActive: slices.Concat(created[:3], created[5:]),
	} {
		page, err := e.client.List(e.ctx, paylink.ListQuery{Provider: e.name, Status: status, Limit: 100})
		if err != nil {
			e.t.Fatalf("List of %s links: %v", status, err)
		}
		if got := providerIDs(page.Links); !slices.Equal(got, providerIDs(want)) {
			e.t.Errorf("List of %s links: %v, want %v", status, got, providerIDs(want))
		}
	}
}

func providerIDs(links []paylink.Link) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.ProviderLinkID
	}
	return out
}

// capabilities checks that what Capabilities include works.
func capabilities(e *env) {
	if e.name == "" || !e.caps.Supports(paylink.OpCreate) || !e.caps.Supports(paylink.OpGet) {
		e.t.Errorf("capabilities %+v: a provider has a name, and creates and gets links", e.caps)
	}
	if e.caps.Amounts {
		currencies := e.caps.Currencies
		if len(currencies) == 0 {
			currencies = []string{"EUR"}
		}
		for _, c := range currencies {
			in := e.input()
			in.Amount = sampleAmount(e.t, c)
			e.create(in)
		}
	} else {
		in := e.input()
		in.Amount = sampleAmount(e.t, "EUR")
		_, err := e.client.Create(e.ctx, in)
		e.wantErr("Create with an amount at a provider without amounts", err, paylink.ErrUnsupported, nil)
	}
	if e.caps.OpenAmount {
		in := e.input()
		in.Amount = nil
		e.create(in)
	}
	if e.caps.ReusableLinks {
		in := e.input()
		in.Reusable = true
		l := e.create(in)
		e.checkEchoes(in, e.get(l.ID), false)
	} else {
		in := e.input()
		in.Reusable = true
		_, err := e.client.Create(e.ctx, in)
		e.wantErr("Create of a reusable link at a provider without them", err, paylink.ErrUnsupported, nil)
	}
}

// idempotency checks a provider that honours idempotency keys does: the same key and input make
// one link.
func idempotency(e *env) {
	if !e.caps.NativeIdempotency {
		e.t.Skip("the provider does not honour idempotency keys")
	}
	in := e.input()
	in.IdempotencyKey = "conformance-key-1"
	first, second := e.create(in), e.create(in)
	if first.ID != second.ID {
		e.t.Errorf("two creates with one idempotency key made %s and %s", first.ID, second.ID)
	}
}

// concurrency uses one adapter from several goroutines; run with -race.
func concurrency(e *env) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			l, err := e.client.Create(e.ctx, e.input())
			if err == nil {
				_, err = e.client.Get(e.ctx, l.ID)
			}
			if err == nil {
				_, err = e.client.Close(e.ctx, l.ID, paylink.CloseInput{})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			e.t.Errorf("concurrent create, get, close: %v", err)
		}
	}
}

// noSecrets checks the adapters and their config print without credentials.
func noSecrets(e *env) {
	if len(e.Secrets) == 0 {
		e.t.Fatal("the harness names no secrets to look for")
	}
	e.checkSecrets("the adapter", e.Provider)
	e.checkSecrets("the adapter with a refused credential", e.WrongCredential)
	e.checkSecrets("the config", e.Config)
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", e.Config, "adapter", e.Provider)
	e.checkSecrets("the config, logged", logged.String())
}
