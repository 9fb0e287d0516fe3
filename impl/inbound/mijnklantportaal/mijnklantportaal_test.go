package mijnklantportaal_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/paylinks/paylinks/impl/inbound"
	mkp "github.com/paylinks/paylinks/impl/inbound/mijnklantportaal"
)

const (
	secret = "OUJX2prdBbJxR77BZlGz" // the docs' example secret
	body   = `{"id":"plk_abc12345def678","status":"paid"}`
	// HMAC-SHA256 of body with secret, from `openssl dgst -sha256 -hmac` when this test was written.
	hexGolden = "c1dcb53863502b15245d716b2910a8fcc15a1192ff04d23dea8eb7dec5e73e29"
	b64Golden = "wdy1OGNQKxUkXXFrKRCo/MFaEZL/BNI96o633sXnPik="
)

func TestVerifySignatureForms(t *testing.T) {
	raw, _ := hex.DecodeString(hexGolden)
	for _, tt := range []struct {
		name, sig string
		secrets   []string
		want      string
	}{
		{"the secret itself", secret, []string{secret}, mkp.FormSecret},
		{"hex", hexGolden, []string{secret}, mkp.FormHex},
		{"hex, upper case", strings.ToUpper(hexGolden), []string{secret}, mkp.FormHex},
		{"base64", b64Golden, []string{secret}, mkp.FormBase64},
		{"base64 url, unpadded", base64.RawURLEncoding.EncodeToString(raw), []string{secret}, mkp.FormBase64},
		{"sha256= hex", "sha256=" + hexGolden, []string{secret}, mkp.FormPrefixHex},
		{"sha256= base64", "sha256=" + b64Golden, []string{secret}, mkp.FormPrefixBase64},
		{"the second secret", hexGolden, []string{"other", secret}, mkp.FormHex},
		{"another secret", hexGolden, []string{"other"}, ""},
		{"the secret with a prefix", "sha256=" + secret, []string{secret}, ""},
		{"a digest of another body", hex.EncodeToString(inbound.HMACSHA256(secret, []byte(body+" "))), []string{secret}, ""},
		{"the digest truncated", hexGolden[:40], []string{secret}, ""},
		{"empty", "", []string{secret}, ""},
		{"no secret", secret, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form, ok := mkp.VerifySignature(tt.sig, []byte(body), tt.secrets)
			if form != tt.want || ok != (tt.want != "") {
				t.Fatalf("got %q %v, want %q", form, ok, tt.want)
			}
		})
	}
}

// The hex and base64 forms computed independently of Go's crypto, by openssl.
func TestVerifyOpenSSLDigests(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on the PATH; TestVerifySignatureForms holds the vectors it gave")
	}
	run := func(args ...string) []byte {
		cmd := exec.Command("openssl", append([]string{"dgst", "-sha256", "-hmac", secret}, args...)...)
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl: %v", err)
		}
		return out
	}
	hexOut := strings.Fields(string(run("-r")))[0]
	b64Out := base64.StdEncoding.EncodeToString(run("-binary"))
	for sig, want := range map[string]string{hexOut: mkp.FormHex, b64Out: mkp.FormBase64, "sha256=" + hexOut: mkp.FormPrefixHex} {
		if form, ok := mkp.VerifySignature(sig, []byte(body), []string{secret}); !ok || form != want {
			t.Errorf("openssl's %s: %q %v", want, form, ok)
		}
	}
}

func newProvider(t testing.TB) inbound.Provider {
	t.Helper()
	p, err := mkp.New(inbound.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func status(err error) int {
	var r *inbound.Refusal
	if errors.As(err, &r) {
		return r.Status
	}
	return 0
}

func TestVerify(t *testing.T) {
	p := newProvider(t)
	if n := len(p.Kinds()); n != 23 {
		t.Fatalf("%d kinds", n)
	}
	keys, err := inbound.ParseSecrets(p, "payment-link-paid="+secret+",payment-link-created=created-secret")
	if err != nil {
		t.Fatal(err)
	}
	call := func(kind, sig string) inbound.Call {
		return inbound.Call{Kind: kind, Header: http.Header{mkp.Header: {sig}}, Body: []byte(body)}
	}
	acc, err := p.Verify(call("payment-link-paid", hexGolden), keys)
	if err != nil || acc.Kind != "payment-link-paid" || acc.Signature != mkp.FormHex || acc.Assumption == "" || acc.Repeatable || !strings.HasPrefix(acc.DedupKey, "sha256:payment-link-paid:") {
		t.Fatalf("accepted %+v, %v", acc, err)
	}
	// The same body under another type is another message.
	acc2, err := p.Verify(call("payment-link-created", hex.EncodeToString(inbound.HMACSHA256("created-secret", []byte(body)))), keys)
	if err != nil || acc2.DedupKey == acc.DedupKey {
		t.Fatalf("created: %+v, %v", acc2, err)
	}
	for _, tt := range []struct {
		name string
		call inbound.Call
		want int
	}{
		{"the secret of another type", call("payment-link-expired", hexGolden), http.StatusUnauthorized},
		{"signed with another type's secret", call("payment-link-created", hexGolden), http.StatusUnauthorized},
		{"no header", inbound.Call{Kind: "payment-link-paid", Body: []byte(body)}, http.StatusUnauthorized},
		{"no type", call("", hexGolden), http.StatusNotFound},
		{"an undocumented type", call("payment-link-closed", hexGolden), http.StatusNotFound},
		{"a type of no link", call("invoice-paid", hexGolden), http.StatusUnprocessableEntity},
	} {
		if _, err := p.Verify(tt.call, keys); status(err) != tt.want {
			t.Errorf("%s: %v, want %d", tt.name, err, tt.want)
		}
	}
	// One secret for every type.
	all, err := inbound.ParseSecrets(p, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(call("payment-link-expired", hexGolden), all); err != nil {
		t.Errorf("one secret for every type: %v", err)
	}
}

func TestParseSecrets(t *testing.T) {
	p := newProvider(t)
	for _, bad := range []string{"payment-link-paid=a,b", "a,b", "payment-link-paid=", "nope=x,payment-link-paid=y"} {
		if _, err := inbound.ParseSecrets(p, bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "=x") || strings.Contains(err.Error(), "a,b") {
			t.Errorf("%q: the error shows a secret: %v", bad, err)
		}
	}
	k, err := inbound.ParseSecrets(p, " payment-link-paid = s1 ")
	if err != nil {
		t.Fatal(err)
	}
	// Blanks around a pair's parts are not part of them.
	if got := k.For("payment-link-paid"); len(got) != 1 || got[0] != "s1" || len(k.For("payment-link-expired")) != 0 {
		t.Errorf("blank-padded pair: %v", got)
	}
}

func TestReadLinks(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []string
	}{
		{body, []string{"plk_abc12345def678"}},
		{`{"type":"payment-link-paid","data":{"id":"plk_1","payments":[{"paymentLinkId":"plk_1"},{"paymentLinkId":"plk_2"}]}}`, []string{"plk_1", "plk_2"}},
		{`{"id":"plp_1","integrationId":"tr_1","paymentLinkId":"plk_x!"}`, nil},
		{`plk_1`, nil},
	} {
		var got []string
		for _, id := range mkp.ReadLinks([]byte(tt.body)) {
			_, own, _ := id.Parse()
			got = append(got, own)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.body, got, tt.want)
		}
	}
}

// FuzzVerify: any type, signature and body give a verdict, never a panic; only a signature made
// with the secret passes; the links read are MijnKlantportaal ids.
func FuzzVerify(f *testing.F) {
	f.Add("payment-link-paid", hexGolden, []byte(body))
	f.Add("payment-link-paid", "sha256="+b64Golden, []byte(body))
	f.Add("payment-link-expired", secret, []byte(`{"data":[{"id":"plk_1"},{"id":2}]}`))
	f.Add("invoice-paid", "", []byte("\x00\xff"))
	p := newProvider(f)
	keys, _ := inbound.ParseSecrets(p, secret)
	mac := func(b []byte) []byte { return inbound.HMACSHA256(secret, b) }
	f.Fuzz(func(t *testing.T, kind, sig string, b []byte) {
		acc, err := p.Verify(inbound.Call{Kind: kind, Header: http.Header{mkp.Header: {sig}}, Body: b}, keys)
		if err == nil {
			s := strings.TrimPrefix(strings.TrimSpace(sig), "sha256=")
			h, _ := hex.DecodeString(s)
			ok := strings.TrimSpace(sig) == secret || string(h) == string(mac(b))
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				d, _ := enc.DecodeString(s)
				ok = ok || string(d) == string(mac(b))
			}
			if !ok || acc.Signature == "" {
				t.Fatalf("%q verified over %q", sig, b)
			}
		} else if s := status(err); s != 401 && s != 404 && s != 422 {
			t.Fatalf("refused with %v", err)
		}
		for _, id := range mkp.ReadLinks(b) {
			if prov, own, err := id.Parse(); err != nil || prov != "mijnklantportaal" || !strings.HasPrefix(own, "plk_") {
				t.Fatalf("link %q", id)
			}
		}
	})
}
