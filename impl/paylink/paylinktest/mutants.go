package paylinktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// MutantEnv names a deliberately broken variant of the adapter under test: when it is set,
// RunConformance checks that variant instead of the adapter, and must fail. It exists to show that
// the suite catches what it claims to (see Mutants and the adapters' TestConformanceCatchesMutants).
const MutantEnv = "PAYLINKTEST_MUTANT"

// Mutants are the breakages the suite must catch, each with the sub-suite that catches it (when
// the provider supports what the breakage needs).
var Mutants = map[string]string{
	// A plain error for an unknown id instead of ErrNotFound.
	"plain-error-for-unknown-id": "NotFound",
	// Capabilities claim a list the adapter does not serve.
	"list-claimed-not-served": "List",
	// Capabilities claim a currency the provider does not take (the link comes back in another).
	"currency-claimed-not-taken": "Capabilities",
	// Capabilities claim reusable links, and the adapter drops the flag.
	"reusable-claimed-not-honoured": "Capabilities",
	// Times in the provider's zone instead of UTC.
	"local-times": "Lifecycle",
	// The credential in error messages.
	"credential-in-errors": "ProviderAuth",
	// Raw that is not the provider's JSON.
	"raw-not-json": "Lifecycle",
	// Pages oldest first.
	"oldest-first": "List",
	// A caller's cancellation ignored.
	"ignores-cancellation": "Cancelled",
	// Closing a closed link answered with success.
	"close-again-succeeds": "Lifecycle",
}

// mutate replaces the adapters of e with the named mutant of them; "" leaves them.
func mutate(e *Env, name string) {
	if name == "" {
		return
	}
	if _, ok := Mutants[name]; !ok {
		panic(fmt.Sprintf("%s=%q: no such mutant", MutantEnv, name))
	}
	secrets := e.Secrets
	secret := func() string { return secrets[0] } // a function, so that printing the mutant shows none
	wrap := func(p paylink.Provider) paylink.Provider { return &mutant{Provider: p, name: name, secret: secret} }
	e.Provider, e.WrongCredential = wrap(e.Provider), wrap(e.WrongCredential)
	at := e.At
	e.At = func(baseURL string) paylink.Provider { return wrap(at(baseURL)) }
}

// mutant is an adapter broken in one way.
type mutant struct {
	paylink.Provider
	name   string
	secret func() string
}

func (m *mutant) Capabilities() paylink.Capabilities {
	c := m.Provider.Capabilities()
	switch m.name {
	case "list-claimed-not-served":
		if !c.Supports(paylink.OpList) {
			c.Operations = append(slices.Clone(c.Operations), paylink.OpList)
		}
	case "currency-claimed-not-taken":
		c.Amounts = true
		for _, code := range []string{"JPY", "XOF", "KWD"} { // one the provider does not take
			if !slices.Contains(c.Currencies, code) {
				c.Currencies = append(slices.Clone(c.Currencies), code)
				break
			}
		}
	case "reusable-claimed-not-honoured":
		c.ReusableLinks = true
	}
	return c
}

func (m *mutant) ctx(ctx context.Context) context.Context {
	if m.name == "ignores-cancellation" {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (m *mutant) Create(ctx context.Context, in paylink.CreateInput) (paylink.Link, error) {
	if m.name == "reusable-claimed-not-honoured" {
		in.Reusable = false
	}
	l, err := m.Provider.Create(m.ctx(ctx), in)
	return m.link(l), m.err(err)
}

func (m *mutant) Get(ctx context.Context, linkID string) (paylink.Link, error) {
	l, err := m.Provider.Get(m.ctx(ctx), linkID)
	return m.link(l), m.err(err)
}

func (m *mutant) List(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
	if m.name == "list-claimed-not-served" {
		return paylink.PageResult{}, paylink.Unsupported(m.Name(), "", "mutant")
	}
	res, err := m.Provider.List(m.ctx(ctx), q)
	for i, l := range res.Links {
		res.Links[i] = m.link(l)
	}
	if m.name == "oldest-first" {
		slices.Reverse(res.Links)
	}
	return res, m.err(err)
}

func (m *mutant) Close(ctx context.Context, linkID string, in paylink.CloseInput) (paylink.Link, error) {
	l, err := m.Provider.Close(m.ctx(ctx), linkID, in)
	if m.name == "close-again-succeeds" && err != nil {
		if again, gerr := m.Provider.Get(ctx, linkID); gerr == nil && again.Status == paylink.StatusClosed {
			return again, nil
		}
	}
	return m.link(l), m.err(err)
}

func (m *mutant) link(l paylink.Link) paylink.Link {
	switch m.name {
	case "local-times":
		zone := time.FixedZone("CEST", 2*3600)
		l.CreatedAt = l.CreatedAt.In(zone)
	case "raw-not-json":
		l.Raw = []byte("<link/>")
	}
	return l
}

func (m *mutant) err(err error) error {
	switch {
	case err == nil:
		return nil
	case m.name == "plain-error-for-unknown-id" && errors.Is(err, paylink.ErrNotFound):
		return errors.New("no such payment link")
	case m.name == "credential-in-errors":
		return fmt.Errorf("%w (called with %s)", err, m.secret())
	}
	return err
}

// CheckMutants runs the test named test (which calls RunConformance) once per mutant, in a
// process of its own, and fails unless each run fails in the sub-suite that catches that mutant.
// except names the mutants the provider cannot show (a list breakage at a provider without a
// list). Call it from the same package as the conformance test.
func CheckMutants(t *testing.T, test string, except ...string) {
	if os.Getenv(MutantEnv) != "" {
		t.Skip("this process runs a mutant")
	}
	if testing.Short() {
		t.Skip("mutants run the suite once each")
	}
	for name, suite := range Mutants {
		if slices.Contains(except, name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), MutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			switch {
			case err == nil:
				t.Errorf("the suite passed the mutant %q:\n%s", name, out)
			case !errors.As(err, &exit):
				t.Fatalf("running the mutant: %v", err)
			case !strings.Contains(string(out), "--- FAIL: "+test+"/"+suite):
				t.Errorf("the mutant %q did not fail %s/%s:\n%s", name, test, suite, out)
			}
		})
	}
}
