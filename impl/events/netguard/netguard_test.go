package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDisallowed(t *testing.T) {
	tests := []struct {
		ip     string
		public bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.255.0.9", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"100.64.0.1", false},
		{"100.127.255.254", false},
		{"100.128.0.1", true},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:7f00:1::", false},   // 6to4 of 127.0.0.1
		{"2002:a00:1::", false},    // 6to4 of 10.0.0.1
		{"198.18.0.1", false},
	}
	for _, tt := range tests {
		got := Disallowed(netip.MustParseAddr(tt.ip))
		if (got == "") != tt.public {
			t.Errorf("Disallowed(%s) = %q, want public=%v", tt.ip, got, tt.public)
		}
	}
}

func TestCheckURL(t *testing.T) {
	strict, open := Policy{}, Policy{AllowPrivate: true}
	tests := []struct {
		url          string
		strict, open string // "" = accepted, else a fragment of the reason
	}{
		{"https://hooks.example.com/paylinks", "", ""},
		{"https://hooks.example.com:8443/x?y=1", "", ""},
		{"https://93.184.216.34/x", "", ""},
		{"http://hooks.example.com/x", "plain http", ""},
		{"http://127.0.0.1:3000/hooks", "plain http", ""},
		{"https://127.0.0.1/hooks", "loopback", ""},
		{"https://[::1]/hooks", "loopback", ""},
		{"https://[::ffff:192.168.0.1]/hooks", "private", ""},
		{"https://10.0.0.8/hooks", "private", ""},
		{"https://169.254.169.254/latest", "link-local", ""},
		{"https://localhost/x", "public domain", ""},
		{"https://api.localhost/x", "public domain", ""},
		{"https://intranet/x", "public domain", ""},
		{"ftp://example.com/x", "scheme", "scheme"},
		{"file:///etc/passwd", "scheme", "scheme"},
		{"gopher://example.com", "scheme", "scheme"},
		{"javascript:alert(1)", "scheme", "scheme"},
		{"https://user:pw@example.com/", "credentials", "credentials"},
		{"https:///nohost", "no host", "no host"},
		{"https://example.com:99999/", "port", "port"},
		{"https://example.com:0/", "port", "port"},
		{"https://example.com/#frag", "fragment", "fragment"},
		{"not a url", "scheme", "scheme"},
		{"", "scheme", "scheme"},
		{"https://" + strings.Repeat("a", 2100) + ".com", "longer", "longer"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			p    Policy
			want string
		}{{strict, tt.strict}, {open, tt.open}} {
			_, err := c.p.CheckURL(tt.url)
			if c.want == "" && err != nil {
				t.Errorf("AllowPrivate=%v CheckURL(%q) = %v, want accepted", c.p.AllowPrivate, tt.url, err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrRefused)) {
				t.Errorf("AllowPrivate=%v CheckURL(%q) = %v, want a refusal about %q", c.p.AllowPrivate, tt.url, err, c.want)
			}
		}
	}
}

// rebinding resolves a name to a public address the first time and to loopback afterwards, like
// a DNS rebinding attack.
type rebinding struct{ calls atomic.Int32 }

func (r *rebinding) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if r.calls.Add(1) == 1 {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

func TestRebindingIsRefusedAtConnect(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	target := "https://hooks.rebind.example:" + port + "/x"

	res := &rebinding{}
	p := Policy{Resolver: res}
	if _, err := p.CheckResolved(context.Background(), target); err != nil {
		t.Fatalf("registration refused a name resolving publicly: %v", err)
	}
	// The delivery: the name now resolves to 127.0.0.1, where a server listens.
	c := &http.Client{Transport: p.Transport()}
	req, _ := http.NewRequest(http.MethodPost, strings.Replace(target, "https", "http", 1), nil)
	_, err := c.Do(req)
	if err == nil || !errors.Is(err, ErrRefused) {
		t.Fatalf("connect to a rebound loopback address: err = %v, want ErrRefused", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the loopback server was reached")
	}
	// With AllowPrivate the same connection goes through: the refusal above was the guard's.
	open := Policy{AllowPrivate: true, Resolver: res}
	resp, err := (&http.Client{Transport: open.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("hits = %d", hits.Load())
	}
}

func TestCheckResolvedRefusesPrivateResolution(t *testing.T) {
	p := Policy{Resolver: staticResolver{"10.0.0.5"}}
	_, err := p.CheckResolved(context.Background(), "https://hooks.corp.example/x")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "private") {
		t.Fatalf("err = %v", err)
	}
}

func TestLiteralLoopbackRefusedAtConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, err := (&http.Client{Transport: Policy{}.Transport()}).Get(srv.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
}

type staticResolver []string

func (s staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/x", "http://127.0.0.1:3000", "https://[::ffff:10.0.0.1]/", "https://0x7f.1/", "https://2130706433/", "https://example.com:0/", "https://u@h/", "https://%31%32%37.0.0.1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Policy{}.CheckURL(raw)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not match ErrRefused", err)
			}
			return
		}
		if u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
			t.Fatalf("accepted %q: scheme %q host %q", raw, u.Scheme, u.Hostname())
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && Disallowed(ip) != "" {
			t.Fatalf("accepted %q with a non-public IP literal", raw)
		}
		// What the Control hook would see for a literal must agree with CheckURL.
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := (Policy{}).Control("tcp", netip.AddrPortFrom(ip, 443).String(), nil); err != nil {
				t.Fatalf("CheckURL accepted %q, Control refuses it: %v", raw, err)
			}
		}
	})
}
