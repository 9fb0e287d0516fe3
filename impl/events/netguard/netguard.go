// Package netguard keeps paylinks' outgoing webhook deliveries away from internal networks (SSRF):
// it checks endpoint URLs when they are registered and, through a net.Dialer Control hook, every
// address actually connected to, so a hostname that resolves to a public address at registration
// and to a private one later (DNS rebinding) is still refused.
//
// It imports nothing of paylinks.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal, whether of a URL or of a connection.
var ErrRefused = errors.New("refused")

// URLError says why an endpoint URL is refused. It matches ErrRefused.
type URLError struct {
	URL    string
	Reason string
}

func (e *URLError) Error() string { return fmt.Sprintf("webhook URL %q refused: %s", e.URL, e.Reason) }

// Is makes a URLError match ErrRefused.
func (e *URLError) Is(target error) bool { return target == ErrRefused }

// Resolver looks hostnames up; *net.Resolver satisfies it, tests substitute their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is what outgoing deliveries may reach. The zero value is the production policy: https
// only, public addresses only.
type Policy struct {
	// AllowPrivate admits plain http and private, loopback and link-local targets (sandbox mode,
	// PAYLINKS_WEBHOOK_ALLOW_PRIVATE=true, tests). Other schemes stay refused.
	AllowPrivate bool
	// Resolver resolves hostnames, at registration and before each connection; nil: net.DefaultResolver.
	Resolver Resolver
}

// The ranges that are not the public Internet, beyond what netip.Addr's own predicates cover.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast included
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
}

// nat64 and sixToFour embed an IPv4 address, which is checked in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Disallowed reports why ip is not a public unicast address ("" when it is public).
func Disallowed(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not an IP address"
	case ip.IsUnspecified():
		return "unspecified address"
	case ip.IsLoopback():
		return "loopback address"
	case ip.IsPrivate():
		return "private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast address"
	}
	if ip.Is6() && (nat64.Contains(ip) || sixToFour.Contains(ip)) {
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if sixToFour.Contains(ip) {
			v4 = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if r := Disallowed(v4); r != "" {
			return r + " (embedded in IPv6)"
		}
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return "reserved address " + p.String()
		}
	}
	return ""
}

// CheckURL parses and checks an endpoint URL without resolving it: scheme, host, no credentials,
// no IP literal or name that is obviously internal. It returns the parsed URL.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	refuse := func(reason string) (*url.URL, error) { return nil, &URLError{URL: raw, Reason: reason} }
	if len(raw) > 2048 {
		return refuse("longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("not a URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowPrivate {
			return refuse("plain http is allowed only in sandbox mode or with PAYLINKS_WEBHOOK_ALLOW_PRIVATE=true; use https")
		}
	default:
		return refuse("scheme must be https")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return refuse("no host")
	}
	if u.User != nil {
		return refuse("credentials in the URL are not allowed")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return refuse("fragments are not allowed")
	}
	if port := u.Port(); port != "" {
		if n, ok := parsePort(port); !ok || n == 0 {
			return refuse("bad port")
		}
	}
	if p.AllowPrivate {
		return u, nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		if r := Disallowed(ip); r != "" {
			return refuse(r)
		}
		return u, nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".") {
		return refuse("host must be a public domain name")
	}
	return u, nil
}

func parsePort(s string) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > 65535 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// CheckResolved is CheckURL plus a lookup of the host: every address it resolves to must be
// public. A failed lookup is not a refusal (the connection guard still applies); ctx bounds it.
func (p Policy) CheckResolved(ctx context.Context, raw string) (*url.URL, error) {
	u, err := p.CheckURL(raw)
	if err != nil || p.AllowPrivate {
		return u, err
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return u, nil
	}
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return u, nil
	}
	for _, a := range addrs {
		if r := Disallowed(a); r != "" {
			return nil, &URLError{URL: raw, Reason: fmt.Sprintf("%s resolves to a %s", u.Hostname(), r)}
		}
	}
	return u, nil
}

func (p Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// Control is a net.Dialer Control hook refusing connections to addresses that are not public
// (unless AllowPrivate). It runs on the resolved address of every connection attempt.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: connection to %q: %v", ErrRefused, address, err)
	}
	if r := Disallowed(ap.Addr()); r != "" {
		return fmt.Errorf("%w: connection to %s: %s", ErrRefused, address, r)
	}
	return nil
}

// DialContext resolves with the policy's resolver and connects through a dialer whose Control
// hook checks each address; the first address that connects wins.
func (p Policy) DialContext(dialer *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := *dialer
	d.Control = p.Control
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else if ips, err = p.resolver().LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var errs []error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return nil, fmt.Errorf("no address for %s", host)
		}
		return nil, errors.Join(errs...)
	}
}

// Transport returns an http.Transport for deliveries: guarded dialing, no proxy (a proxy would
// connect on our behalf, unchecked), bounded idle connections.
func (p Policy) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.DialContext(&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
	}
}
