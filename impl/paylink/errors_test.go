package paylink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// sentinels are every sentinel of the domain, to check an error matches its own and no other.
var sentinels = []error{
	paylink.ErrNotFound, paylink.ErrAlreadyClosed, paylink.ErrNotClosable, paylink.ErrInvalidInput,
	paylink.ErrUnsupported, paylink.ErrProviderAuth, paylink.ErrProviderUnavailable,
	paylink.ErrProviderTimeout, paylink.ErrContractViolation, paylink.ErrProvider, paylink.ErrAnswerTooLarge,
}

// matchesOnly checks that err matches want and none of the other sentinels.
func matchesOnly(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range sentinels {
		if got, should := errors.Is(err, s), errors.Is(s, want); got != should {
			t.Errorf("errors.Is(%v, %v) = %t, want %t", err, s, got, should)
		}
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("creating: %w", &paylink.ValidationError{Violations: []paylink.Violation{
		{Field: "/amount/value", Reason: "must be greater than zero"},
		{Field: "/expiresAt", Reason: "must be in the future"},
	}})
	matchesOnly(t, err, paylink.ErrInvalidInput)
	var ve *paylink.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 2 || ve.Violations[1].Field != "/expiresAt" {
		t.Fatalf("errors.As(%v) = %+v", err, ve)
	}
	if got, want := err.Error(), "creating: invalid input: /amount/value: must be greater than zero; /expiresAt: must be in the future"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	one := paylink.Invalid("query.cursor", "tampered")
	matchesOnly(t, one, paylink.ErrInvalidInput)
	if want := []paylink.Violation{{Field: "query.cursor", Reason: "tampered"}}; len(one.Violations) != 1 || one.Violations[0] != want[0] {
		t.Errorf("Invalid() = %+v, want %+v", one.Violations, want)
	}
}

func TestUnsupportedError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("creating: %w", paylink.Unsupported("telness", "/amount", "links carry no amount"))
	matchesOnly(t, err, paylink.ErrUnsupported)
	var ue *paylink.UnsupportedError
	if !errors.As(err, &ue) || ue.Provider != "telness" || ue.Field != "/amount" {
		t.Fatalf("errors.As(%v) = %+v", err, ue)
	}
	if got, want := ue.Error(), "telness: /amount: links carry no amount"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := paylink.Unsupported("telness", "", "no list").Error(), "telness: no list"; got != want {
		t.Errorf("Error() without field = %q, want %q", got, want)
	}
}

func TestProviderError(t *testing.T) {
	t.Parallel()
	cause := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	err := fmt.Errorf("getting: %w", &paylink.ProviderError{
		Provider: "hub2", Kind: paylink.ErrNotFound, Status: 404, Code: "not-found", Message: "no such link", Err: cause,
	})
	// Both the kind and the cause are reachable.
	matchesOnly(t, err, paylink.ErrNotFound)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("errors.Is(%v, ECONNRESET) = false; the cause is lost", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe != cause {
		t.Errorf("errors.As(%v, *net.OpError) = %v, want the cause", err, oe)
	}
	var pe *paylink.ProviderError
	if !errors.As(err, &pe) || pe.Provider != "hub2" || pe.Status != 404 || pe.Code != "not-found" {
		t.Fatalf("errors.As(%v, *ProviderError) = %+v", err, pe)
	}
	if got, want := pe.Error(), "hub2: payment link not found (HTTP 404 not-found): no such link: read tcp: connection reset by peer"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	// Without a cause only the kind is wrapped, and the message shows what the provider said.
	bare := &paylink.ProviderError{Provider: "mijnklantportaal", Kind: paylink.ErrAlreadyClosed, Status: 422, Message: "Payment link is already closed."}
	matchesOnly(t, bare, paylink.ErrAlreadyClosed)
	if got, want := bare.Error(), "mijnklantportaal: payment link is already closed (HTTP 422): Payment link is already closed."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&paylink.ProviderError{Provider: "telness", Kind: paylink.ErrProviderTimeout}).Error(), "telness: provider did not answer in time"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestKindForStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		kind   error
	}{
		{100, paylink.ErrProvider},
		{200, paylink.ErrProvider}, // a success where an error was expected is still no answer to use
		{204, paylink.ErrProvider},
		{301, paylink.ErrProvider},
		{302, paylink.ErrProvider}, // e.g. a login page instead of a JSON 401
		{304, paylink.ErrProvider},
		{400, paylink.ErrInvalidInput},
		{401, paylink.ErrProviderAuth},
		{403, paylink.ErrProviderAuth},
		{404, paylink.ErrNotFound},
		{405, paylink.ErrProvider},
		{408, paylink.ErrProviderTimeout},
		{409, paylink.ErrProvider},
		{410, paylink.ErrProvider},
		{415, paylink.ErrProvider},
		{422, paylink.ErrInvalidInput},
		{429, paylink.ErrProviderUnavailable},
		{499, paylink.ErrProvider},
		{500, paylink.ErrProvider},
		{501, paylink.ErrProvider},
		{502, paylink.ErrProviderUnavailable},
		{503, paylink.ErrProviderUnavailable},
		{504, paylink.ErrProviderTimeout},
		{599, paylink.ErrProvider},
		{0, paylink.ErrProvider},
	}
	for _, tt := range tests {
		if got := paylink.KindForStatus(tt.status); !errors.Is(got, tt.kind) {
			t.Errorf("KindForStatus(%d) = %v, want %v", tt.status, got, tt.kind)
		}
	}
}

func TestResponseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		retryAfter string
		want       time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"1", time.Second},
		{"0", 0},
		{"-5", 0},
		{"+5", 0},
		{"1.5", 0},
		{"10m", 0}, // not ten milliseconds: Retry-After is whole seconds
		{"1m30s", 0},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0}, // the date form is not read
		{"99999999999999999999", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		e := paylink.ResponseError("hub2", http.StatusTooManyRequests, "Too Many Requests", "slow down", tt.retryAfter)
		if e.RetryAfter != tt.want {
			t.Errorf("ResponseError(Retry-After %q).RetryAfter = %v, want %v", tt.retryAfter, e.RetryAfter, tt.want)
		}
	}
	e := paylink.ResponseError("hub2", http.StatusUnauthorized, "unauthorized", "bad key", "")
	matchesOnly(t, e, paylink.ErrProviderAuth)
	if e.Provider != "hub2" || e.Status != 401 || e.Code != "unauthorized" || e.Message != "bad key" || e.Err != nil {
		t.Errorf("ResponseError() = %+v", e)
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	cause := io.ErrUnexpectedEOF
	err := paylink.DecodeError("hub2", 200, cause)
	matchesOnly(t, err, paylink.ErrContractViolation)
	var pe *paylink.ProviderError
	if !errors.Is(err, cause) || !errors.As(err, &pe) || pe.Status != 200 {
		t.Errorf("DecodeError() = %#v", err)
	}
}

func TestTransportError(t *testing.T) {
	t.Parallel()
	refused := connectionRefused(t)
	timeout := netTimeout(t)
	violation := fmt.Errorf("validating the answer: %w: status is not one of the enum", paylink.ErrContractViolation)
	tests := []struct {
		name string
		err  error
		kind error
	}{
		{"deadline exceeded", context.DeadlineExceeded, paylink.ErrProviderTimeout},
		{"deadline exceeded, wrapped by net/http", fmt.Errorf("Get \"http://x\": %w", context.DeadlineExceeded), paylink.ErrProviderTimeout},
		{"net timeout", timeout, paylink.ErrProviderTimeout},
		{"connection refused", refused, paylink.ErrProviderUnavailable},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, paylink.ErrProviderUnavailable},
		{"unexpected EOF", io.ErrUnexpectedEOF, paylink.ErrProviderUnavailable},
		{"contract violation", violation, paylink.ErrContractViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := paylink.TransportError("hub2", tt.err)
			matchesOnly(t, err, tt.kind)
			var pe *paylink.ProviderError
			if !errors.As(err, &pe) || pe.Provider != "hub2" || pe.Status != 0 {
				t.Fatalf("TransportError() = %#v, want a *ProviderError of hub2 without status", err)
			}
			if !errors.Is(pe.Err, tt.err) || !errors.Is(err, tt.err) {
				t.Errorf("the cause %v is not kept: %v", tt.err, pe.Err)
			}
		})
	}

	// A cancelled call is the caller's doing, not the provider's: it comes back as is.
	if err := paylink.TransportError("hub2", context.Canceled); !errors.Is(err, context.Canceled) || errors.As(err, new(*paylink.ProviderError)) {
		t.Errorf("TransportError(context.Canceled) = %#v, want context.Canceled itself", err)
	}
	wrapped := fmt.Errorf("Get \"http://x\": %w", context.Canceled)
	if err := paylink.TransportError("hub2", wrapped); !errors.Is(err, wrapped) || errors.As(err, new(*paylink.ProviderError)) {
		t.Errorf("TransportError(%v) = %#v, want it as is", wrapped, err)
	}
}

// connectionRefused returns the error of an HTTP request to a port nothing listens on.
func connectionRefused(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res, err := http.Get("http://" + addr + "/payment-links")
	if err == nil {
		res.Body.Close()
		t.Skip("something answered on a port just closed")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Skipf("dialling a closed port gave %v, not connection refused", err)
	}
	return err
}

// netTimeout returns the error of a read that hit its deadline on a real connection.
func netTimeout(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now())
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a read past its deadline gave %v, not a net timeout", err)
	}
	return err
}
