package call_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

var wire = call.Provider{
	Name: "acme",
	ErrorBody: func(b []byte) (string, string) {
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		return e.Code, e.Message
	},
	Refine: func(a call.Answer, pe *paylink.ProviderError) {
		if pe.Code == "busy" {
			pe.Kind = paylink.ErrProviderUnavailable
		}
	},
}

// answer is a response of status with body, as a generated client returns it.
func answer(status int, body string, header ...string) (*http.Response, error) {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}, nil
}

func TestExpect(t *testing.T) {
	t.Parallel()
	closing := wire.Expect(http.StatusOK).Or(http.StatusConflict, paylink.ErrNotClosable)
	tests := []struct {
		name   string
		rsp    *http.Response
		err    error
		want   error // nil: the answer is returned
		status int
	}{
		{"success", must(answer(200, `{}`)), nil, nil, 200},
		{"no answer", nil, errors.New("connection refused"), paylink.ErrProviderUnavailable, 0},
		{"a 2xx the operation does not give", must(answer(204, ``)), nil, paylink.ErrContractViolation, 204},
		{"the operation's own meaning of a status", must(answer(409, `{"message":"not active"}`)), nil, paylink.ErrNotClosable, 409},
		{"refined by the provider's code", must(answer(409, `{"code":"busy"}`)), nil, paylink.ErrProviderUnavailable, 409},
		{"default kind of the status", must(answer(404, `not json`)), nil, paylink.ErrNotFound, 404},
		{"rate limited", must(answer(429, `{}`, "Retry-After", "3")), nil, paylink.ErrProviderUnavailable, 429},
		{"too large", must(answer(200, strings.Repeat("x", call.MaxBody+1))), nil, paylink.ErrAnswerTooLarge, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := closing.Of(tt.rsp, tt.err)
			if tt.want == nil {
				if err != nil || a.Status != tt.status || !a.OK() {
					t.Fatalf("%+v, %v", a, err)
				}
				return
			}
			var pe *paylink.ProviderError
			if !errors.Is(err, tt.want) || !errors.As(err, &pe) || pe.Provider != "acme" {
				t.Fatalf("%v, want acme's %v", err, tt.want)
			}
			if tt.status != 0 && pe.Status != tt.status {
				t.Errorf("status %d, want %d", pe.Status, tt.status)
			}
		})
	}
	if _, err := wire.Expect(http.StatusOK).Of(answer(409, `{"message":"m"}`)); !errors.Is(err, paylink.ErrProvider) {
		t.Errorf("Or belongs to its expectation only: %v", err)
	}
	pe := wire.Failure(call.Answer{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(`{"message":"slow"}`)})
	if pe.RetryAfter != 3*time.Second || pe.Message != "slow" {
		t.Errorf("Failure: %#v", pe)
	}
}

func must(r *http.Response, _ error) *http.Response { return r }

func TestDecodeAndItems(t *testing.T) {
	t.Parallel()
	type item struct{ ID string }
	a := call.Answer{Status: 200, Body: []byte(`{"data":{"items":[{"ID":"a"},{"ID":"b"}]}}`)}
	items, raws, err := call.Items[item](wire, a, "data", "items")
	if err != nil || len(items) != 2 || items[1].ID != "b" || string(raws[0]) != `{"ID":"a"}` {
		t.Errorf("nested: %v %s %v", items, raws, err)
	}
	bare := call.Answer{Status: 200, Body: []byte(`[{"ID":"a"}]`)}
	if items, _, err := call.Items[item](wire, bare); err != nil || len(items) != 1 {
		t.Errorf("bare: %v %v", items, err)
	}
	for _, bad := range []call.Answer{{Status: 200, Body: []byte(`{"data":{}}`)}, {Status: 200, Body: []byte(`[{"ID":1}]`)}, {Status: 200, Body: []byte(`<html>`)}} {
		if _, _, err := call.Items[item](wire, bad, "data", "items"); !errors.Is(err, paylink.ErrContractViolation) {
			t.Errorf("Items(%s): %v", bad.Body, err)
		}
	}
	if _, err := call.Decode[item](wire, call.Answer{Status: 200, Body: []byte(`{"ID":`)}); !errors.Is(err, paylink.ErrContractViolation) {
		t.Errorf("Decode: %v", err)
	}
}

type options struct {
	Country string   `json:"country,omitempty"`
	Max     int      `json:"maximumPayments,omitempty"`
	Methods []string `json:"methods,omitempty"`
}

func TestDecodeOptions(t *testing.T) {
	t.Parallel()
	const field = "/providerOptions/acme"
	for _, tt := range []struct {
		data         string
		want         options
		field, about string
	}{
		{``, options{}, "", ""},
		{`{"country":"CI","maximumPayments":3}`, options{Country: "CI", Max: 3}, "", ""},
		{`{"colour":"red"}`, options{}, field + "/colour", "unknown option (acme takes country, maximumPayments, methods)"},
		{`{"maximumPayments":"3"}`, options{}, field + "/maximumPayments", "must be a JSON integer, not string"},
		{`{"methods":"ideal"}`, options{}, field + "/methods", "must be a JSON array"},
		{`[]`, options{}, field, "must be a JSON object of acme options"},
		{`{"country":"CI"} {}`, options{}, field, "one JSON object"},
		{`{"country":`, options{}, field, "not valid JSON"},
	} {
		got, err := call.DecodeOptions[options]("acme", field, json.RawMessage(tt.data))
		var ve *paylink.ValidationError
		switch {
		case tt.field == "" && (err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want)):
			t.Errorf("%s: %+v, %v", tt.data, got, err)
		case tt.field != "" && (!errors.As(err, &ve) || ve.Violations[0].Field != tt.field || !strings.Contains(ve.Violations[0].Reason, tt.about)):
			t.Errorf("%s: %v, want a violation at %s about %q", tt.data, err, tt.field, tt.about)
		}
	}
	for _, v := range []any{nil, options{Country: "CI"}, &options{Country: "CI"}, (*options)(nil)} {
		if _, err := call.OptionsOf[options]("acme", field, v); err != nil {
			t.Errorf("OptionsOf(%#v): %v", v, err)
		}
	}
	if _, err := call.OptionsOf[options]("acme", field, struct{}{}); !errors.Is(err, paylink.ErrInvalidInput) || !strings.Contains(err.Error(), "call_test.options") {
		t.Errorf("foreign options: %v", err)
	}
}

type config struct {
	BaseURL    string
	Key        string `paylinks:"secret"`
	Mode       string `paylinks:"secret,prefix"`
	Empty      string `paylinks:"secret"`
	HTTPClient call.Doer
	Retries    int
}

func (c config) String() string       { return call.Describe(c) }
func (c config) LogValue() slog.Value { return call.LogValue(c) }

func TestRedaction(t *testing.T) {
	t.Parallel()
	c := config{BaseURL: "https://api.acme.test", Key: "s3cret-key", Mode: "test_s3cretmode", HTTPClient: &http.Client{}, Retries: 2}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "c", c)
	for _, out := range []string{c.String(), fmt.Sprintf("%v %+v %s", c, c, c), logged.String()} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("a secret shows: %s", out)
		}
	}
	want := `call_test.config{BaseURL: "https://api.acme.test", Key: (redacted), Mode: (redacted test_… key), Empty: (none), HTTPClient: *http.Client, Retries: 2}`
	if c.String() != want {
		t.Errorf("Describe = %s\nwant       %s", c.String(), want)
	}
	if !strings.Contains(logged.String(), `"BaseURL":"https://api.acme.test"`) {
		t.Errorf("logged %s", logged.String())
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	call.Headers(map[string]string{"X-Key": "k"})(r)
	if r.Header.Get("X-Key") != "k" {
		t.Errorf("Headers: %v", r.Header)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	if c, ok := call.HTTPClient(nil).(*http.Client); !ok || c.Timeout != call.Timeout {
		t.Errorf("default client %#v", c)
	}
	mine := &http.Client{}
	if call.HTTPClient(mine) != mine {
		t.Error("the config's client is replaced")
	}
	for _, u := range []string{"", "api.acme.test", "ftp://api.acme.test", "http://"} {
		if err := call.BaseURL("acme", u); err == nil {
			t.Errorf("BaseURL(%q) accepted", u)
		}
	}
	if err := call.BaseURL("acme", "https://api.acme.test/v1"); err != nil {
		t.Error(err)
	}
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	type link struct{ ID string }
	decode := call.Decoder(wire, func(a call.Answer, l link) (paylink.Link, error) {
		return paylink.Link{ProviderLinkID: l.ID, Raw: a.Body}, nil
	})
	if l, err := decode(call.Answer{Status: 200, Body: []byte(`{"ID":"l1"}`)}, nil); err != nil || l.ProviderLinkID != "l1" {
		t.Errorf("decoded %+v, %v", l, err)
	}
	failed := errors.New("the call failed")
	if _, err := decode(call.Answer{}, failed); !errors.Is(err, failed) {
		t.Errorf("the call's error: %v", err)
	}
	if _, err := decode(call.Answer{Status: 200, Body: []byte(`[`)}, nil); !errors.Is(err, paylink.ErrContractViolation) {
		t.Errorf("an undecodable answer: %v", err)
	}
	for u, want := range map[string]bool{"https://shop.example/ok": true, "http://x": true, "/ok": false, "ftp://x": false, "https://": false} {
		if call.HTTPURL(u) != want {
			t.Errorf("HTTPURL(%q) = %v", u, !want)
		}
	}
}
