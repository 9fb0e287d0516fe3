package hub2_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
)

const (
	secret   = "5257a869e7ecebeda32affa62cd4b1c0"
	previous = "old-secret-0001"
	body     = `{"id":"evt_3Lx1F7WfEmTdhc0sA2Y5K","type":"payment.succeeded","data":{"id":"pay_QW2d6JnqiatcH8KhK0mD1","intentId":"pi_z1urYtVFgEebtcj8fxp4v","status":"successful"}}`
	// The digests of body, computed with `openssl dgst -sha256 -hmac <secret>` when this test was
	// written (TestSignMatchesOpenSSL recomputes them when openssl is on the PATH).
	s1Golden = "3d76e4c3027d08cdbb81c7ce9d93c394d090f17cb58a32e8bb62b978a9de7cbd"
	s0Golden = "750e6f377e9f2b1a226a328f6acb3c70ca6c82c772cdd2282e2e7b6a6010ea2c"
)

func TestSignGolden(t *testing.T) {
	if got, want := hub2.Sign([]byte(body), secret, previous), "s1="+s1Golden+",s0="+s0Golden; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := hub2.Sign([]byte(body), secret, ""); got != "s1="+s1Golden {
		t.Fatalf("Sign without a previous secret = %s", got)
	}
}

// The digest computed independently of Go's crypto: openssl's HMAC of the same bytes.
func TestSignMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on the PATH; TestSignGolden holds the vector it gave")
	}
	for _, key := range []string{secret, previous, "another key, with spaces"} {
		cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", key, "-r")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl: %v", err)
		}
		want := strings.Fields(string(out))[0]
		if got := strings.TrimPrefix(hub2.Sign([]byte(body), key, ""), "s1="); got != want {
			t.Errorf("key %q: Sign %s, openssl %s", key, got, want)
		}
		if which, err := hub2.VerifySignature("s1="+want, []byte(body), []string{key}); err != nil || which != "s1" {
			t.Errorf("key %q: openssl's digest does not verify: %v", key, err)
		}
	}
}

func refusal(t *testing.T, err error) *inbound.Refusal {
	t.Helper()
	var r *inbound.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a refusal", err)
	}
	return r
}

func TestVerifySignature(t *testing.T) {
	for _, tt := range []struct {
		name    string
		header  string
		body    string
		secrets []string
		want    string // "s1", "s0", or the refusal's status
	}{
		{"s1 with the current secret", "s1=" + s1Golden, body, []string{secret}, "s1"},
		{"both, current held", "s1=" + s1Golden + ",s0=" + s0Golden, body, []string{secret, previous}, "s1"},
		{"rotation: only the previous secret held yet", "s1=" + hex.EncodeToString(make([]byte, 32)) + ",s0=" + s0Golden, body, []string{previous}, "s0"},
		{"upper-case hex", "s1=" + strings.ToUpper(s1Golden), body, []string{secret}, "s1"},
		{"blanks and unknown items", " t=1714417260 , s1=" + s1Golden + " ", body, []string{secret}, "s1"},
		{"wrong secret", "s1=" + s1Golden, body, []string{"not-it"}, "401"},
		{"no secret", "s1=" + s1Golden, body, nil, "401"},
		{"body changed by one byte", "s1=" + s1Golden, strings.Replace(body, "successful", "successfuL", 1), []string{secret}, "401"},
		{"body re-serialised", "s1=" + s1Golden, strings.ReplaceAll(body, ",", ", "), []string{secret}, "401"},
		{"no s1 or s0", "v1=" + s1Golden, body, []string{secret}, "400"},
		{"not hex", "s1=" + strings.Repeat("zz", 32), body, []string{secret}, "400"},
		{"short digest", "s1=" + s1Golden[:62], body, []string{secret}, "400"},
		{"base64 digest", "s1=PXbkwwJ9CM27gcfOnZPDlNCQ8Xy1ijLou2K5eKnefL0=", body, []string{secret}, "400"},
		{"s1 twice", "s1=" + s1Golden + ",s1=" + s1Golden, body, []string{secret}, "400"},
		{"no pairs", "garbage", body, []string{secret}, "400"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			which, err := hub2.VerifySignature(tt.header, []byte(tt.body), tt.secrets)
			if tt.want == "s1" || tt.want == "s0" {
				if err != nil || which != tt.want {
					t.Fatalf("got %q, %v; want %s", which, err, tt.want)
				}
				return
			}
			if r := refusal(t, err); strconv.Itoa(r.Status) != tt.want {
				t.Fatalf("refused with %d (%s), want %s", r.Status, r.Reason, tt.want)
			}
		})
	}
}

func keyring(secrets ...string) inbound.Keyring {
	var k inbound.Keyring
	k.Add("", secrets...)
	return k
}

func newProvider(t *testing.T) inbound.Provider {
	t.Helper()
	p, err := hub2.New(inbound.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	p := newProvider(t)
	call := func(b string, h http.Header) inbound.Call {
		if h == nil {
			h = http.Header{hub2.Header: {hub2.Sign([]byte(b), secret, "")}}
		}
		return inbound.Call{Header: h, Body: []byte(b)}
	}
	acc, err := p.Verify(call(body, nil), keyring(secret))
	if err != nil || acc.Kind != "payment.succeeded" || acc.DedupKey != "event:evt_3Lx1F7WfEmTdhc0sA2Y5K:payment.succeeded" || acc.Repeatable || acc.Ignore || acc.Signature != "s1" {
		t.Fatalf("accepted %+v, %v", acc, err)
	}
	// No envelope id: a hash of the body; an unreadable body is kept all the same.
	for _, b := range []string{`{"type":"payment_intent.succeeded","data":{"id":"pi_1"}}`, `not json at all`, ``} {
		acc, err = p.Verify(call(b, nil), keyring(secret))
		if err != nil || !strings.HasPrefix(acc.DedupKey, "sha256:") || acc.Ignore {
			t.Errorf("%q: %+v, %v", b, acc, err)
		}
	}
	// Not a payment event: verified, acknowledged, not kept.
	if acc, err = p.Verify(call(`{"id":"evt_2","type":"transfer.succeeded"}`, nil), keyring(secret)); err != nil || !acc.Ignore {
		t.Errorf("transfer: %+v, %v", acc, err)
	}
	if _, err = p.Verify(call(body, http.Header{}), keyring(secret)); refusal(t, err).Status != http.StatusUnauthorized {
		t.Errorf("no header: %v", err)
	}
	c := call(body, nil)
	c.Kind = "payment.succeeded"
	if _, err = p.Verify(c, keyring(secret)); refusal(t, err).Status != http.StatusNotFound {
		t.Errorf("a path below /webhooks/hub2: %v", err)
	}
}

func TestReadHints(t *testing.T) {
	for _, tt := range []struct {
		body  string
		links []string
		refs  []string
	}{
		{body, nil, []string{"pay_QW2d6JnqiatcH8KhK0mD1", "pi_z1urYtVFgEebtcj8fxp4v"}},
		{`{"type":"payment_intent.succeeded","data":{"id":"pi_9","purchaseReference":"ORDER-1","payments":[{"id":"pay_9","intentId":"pi_9"}]}}`, nil, []string{"pi_9", "pay_9", "ref:ORDER-1"}},
		{`{"data":{"metadata":{"link":"pl_z1urYtVFgEebtcj8fxp4v"}}}`, []string{"pl_z1urYtVFgEebtcj8fxp4v"}, nil},
		{`{"data":{"id":"pi_1 x","other":"pl_","ref":"pi_ok"}}`, nil, []string{"pi_ok"}},
		{`not json pi_1`, nil, nil},
		{`["pi_a","pi_a"]`, nil, []string{"pi_a"}},
	} {
		h := hub2.ReadHints([]byte(tt.body))
		var links []string
		for _, id := range h.Links {
			_, own, _ := id.Parse()
			links = append(links, own)
		}
		slices.Sort(h.Refs)
		slices.Sort(tt.refs)
		if !slices.Equal(links, tt.links) || !slices.Equal(h.Refs, tt.refs) {
			t.Errorf("%s: links %v refs %v, want %v %v", tt.body, links, h.Refs, tt.links, tt.refs)
		}
	}
}

func TestRefs(t *testing.T) {
	p := newProvider(t)
	l := paylink.Link{Provider: "hub2", Reference: "ORDER-1", Raw: []byte(`{"id":"pl_1","purchaseReference":"ORDER-1","paymentAttempts":[{"id":"pay_1","intentId":"pi_1","status":"failed"},{"id":"pay_2","intentId":"pi_2"},{"id":7}]}`)}
	if got := p.Refs(l); !slices.Equal(got, []string{"ref:ORDER-1", "pay_1", "pi_1", "pay_2", "pi_2"}) {
		t.Fatalf("refs %v", got)
	}
	if got := p.Refs(paylink.Link{Raw: []byte(`not json`)}); len(got) != 0 {
		t.Fatalf("refs of an unreadable link %v", got)
	}
}

// FuzzVerify: any header and body give a verdict, never a panic; whatever verifies carries a
// digest the secret made; what ReadHints reads is well formed.
func FuzzVerify(f *testing.F) {
	f.Add("s1="+s1Golden, []byte(body))
	f.Add("s1="+s1Golden+",s0="+s0Golden, []byte(body))
	f.Add("s1=,s0=", []byte(`{"id":1,"type":["x"]}`))
	f.Add("s0="+strings.Repeat("A", 64), []byte(`{"data":{"purchaseReference":{"x":"pl_1"}}}`))
	f.Add(",,,=", []byte("\xff\x00"))
	p, _ := hub2.New(inbound.Deps{})
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		acc, err := p.Verify(inbound.Call{Header: http.Header{hub2.Header: {header}}, Body: b}, keyring(secret, previous))
		if err == nil {
			sigs, perr := hub2.ParseSignature(header)
			d := sigs[acc.Signature]
			if perr != nil || d == nil || (!bytes.Equal(d, inbound.HMACSHA256(secret, b)) && !bytes.Equal(d, inbound.HMACSHA256(previous, b))) {
				t.Fatalf("verified %q over %q without a digest of a secret", header, b)
			}
			if acc.DedupKey == "" {
				t.Fatal("no dedup key")
			}
		} else if r := refusal(t, err); r.Status != 400 && r.Status != 401 {
			t.Fatalf("refused with %d", r.Status)
		}
		h := hub2.ReadHints(b)
		for _, id := range h.Links {
			if _, own, err := id.Parse(); err != nil || !strings.HasPrefix(own, "pl_") {
				t.Fatalf("link %q", id)
			}
		}
		for _, r := range h.Refs {
			if !strings.HasPrefix(r, "pi_") && !strings.HasPrefix(r, "pay_") && !strings.HasPrefix(r, "ref:") {
				t.Fatalf("ref %q", r)
			}
		}
	})
}
