package sandbox_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// The log keeps the last 1000 attempts, oldest first, whatever was sent before.
func TestWebhookLogIsBounded(t *testing.T) {
	t.Parallel()
	w := sandbox.NewWebhooks(sandbox.Config{})
	if err := w.Set(sandbox.Switches{Mode: sandbox.Drop}); err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		w.Send(sandbox.Delivery{URL: "http://127.0.0.1:1/hook", Event: fmt.Sprint(i), Header: http.Header{}})
	}
	log := w.Log()
	if len(log) != 1000 || log[0].Event != "200" || log[999].Event != "1199" || log[0].Delivery == log[1].Delivery {
		t.Errorf("%d entries, from %+v to %+v", len(log), log[0], log[len(log)-1])
	}
}

func TestWebhookSwitchesCheck(t *testing.T) {
	t.Parallel()
	w := sandbox.NewWebhooks(sandbox.Config{})
	for _, s := range []sandbox.Switches{{Mode: "later"}, {Mode: sandbox.Delay, Delay: -1}, {Mode: sandbox.Reorder, Delay: 2 * sandbox.MaxWebhookDelay}} {
		if err := w.Set(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if err := w.Set(sandbox.Switches{Mode: sandbox.Delay}); err != nil || w.Switches().Delay <= 0 {
		t.Errorf("delay without a duration: %v %+v, want the default", err, w.Switches())
	}
	if err := w.Set(sandbox.Switches{}); err != nil || w.Switches().Mode != sandbox.Normal {
		t.Errorf("the zero switches: %v %+v", err, w.Switches())
	}
}
