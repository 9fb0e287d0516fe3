package paylink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxAnswerBytes is the most an adapter reads of one provider answer, whatever a caller's own
// limit (a validating transport's) allows: it keeps one answer from taking all memory.
const MaxAnswerBytes = 64 << 20

// Sentinel errors. Every error the Client and the adapters return matches one of them with errors.Is.
var (
	ErrNotFound            = errors.New("payment link not found")
	ErrAlreadyClosed       = errors.New("payment link is already closed")
	ErrNotClosable         = errors.New("payment link cannot be closed in its current status")
	ErrInvalidInput        = errors.New("invalid input")
	ErrUnsupported         = errors.New("not supported by this provider")
	ErrProviderAuth        = errors.New("provider refused the configured credentials")
	ErrProviderUnavailable = errors.New("provider unavailable")
	ErrProviderTimeout     = errors.New("provider did not answer in time")
	ErrContractViolation   = errors.New("provider answer violates its specification")
	// ErrNotHonoured is a provider answering success to a request it did not carry out: a close
	// answered with a link that is still open, a create whose link lacks what was asked for.
	ErrNotHonoured = errors.New("provider did not do what was asked")
	// ErrAnswerTooLarge is an answer larger than the caller accepts: a limit of the deployment,
	// not a contract violation of the provider.
	ErrAnswerTooLarge = errors.New("provider answer larger than accepted")
	ErrProvider       = errors.New("provider failed")
)

// Violation names one invalid field and why. Field is a JSON pointer into the unified create body
// ("/amount/value") or a parameter ("query.cursor").
type Violation struct {
	Field  string
	Reason string
}

// ValidationError is invalid input, with every violation found. It matches ErrInvalidInput.
type ValidationError struct {
	Violations []Violation
}

// Invalid returns a ValidationError with one violation.
func Invalid(field, reason string) *ValidationError {
	return &ValidationError{Violations: []Violation{{Field: field, Reason: reason}}}
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes a ValidationError match ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// UnsupportedError is a request a provider cannot honour (a field it has no place for, an operation
// it lacks). It matches ErrUnsupported.
type UnsupportedError struct {
	Provider string
	Field    string
	Reason   string
}

// Unsupported returns an UnsupportedError.
func Unsupported(provider, field, reason string) *UnsupportedError {
	return &UnsupportedError{Provider: provider, Field: field, Reason: reason}
}

func (e *UnsupportedError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Provider, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.Provider, e.Field, e.Reason)
}

// Is makes an UnsupportedError match ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// ProviderError is a failed call to a provider. Kind is the sentinel it matches (ErrNotFound,
// ErrAlreadyClosed, ErrProviderAuth, …); Status, Code and Message are what the provider answered,
// when it answered. It never holds credentials.
type ProviderError struct {
	Provider   string
	Kind       error
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *ProviderError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// KindForStatus is the default reading of a provider's HTTP error status; adapters refine it where
// their provider documents more (e.g. MijnKlantportaal's 422 on close means already closed).
func KindForStatus(status int) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrProviderAuth
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return ErrInvalidInput
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusBadGateway:
		return ErrProviderUnavailable
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return ErrProviderTimeout
	default:
		return ErrProvider
	}
}

// ResponseError builds the ProviderError of an unexpected provider answer. retryAfter is the value
// of its Retry-After header, if any.
func ResponseError(provider string, status int, code, message, retryAfter string) *ProviderError {
	return &ProviderError{Provider: provider, Kind: KindForStatus(status), Status: status, Code: code, Message: message, RetryAfter: retryAfterSeconds(retryAfter)}
}

// retryAfterSeconds reads a Retry-After header in its delta-seconds form ("120", RFC 9110 §10.2.3).
// Anything else, an HTTP date included, is zero: no hint, so callers use their own backoff. Going
// through time.ParseDuration would misread "10m" as ten milliseconds and take "1.5" or "+5".
func retryAfterSeconds(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs <= 0 || secs > int64(math.MaxInt64/time.Second) {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// TransportError wraps a failure to get an answer from the provider: a timeout, a refused or reset
// connection, or an answer the validating transport rejected (which already matches
// ErrContractViolation or ErrAnswerTooLarge).
func TransportError(provider string, err error) error {
	var ne net.Error
	switch {
	case isContractViolation(err):
		return &ProviderError{Provider: provider, Kind: ErrContractViolation, Err: err}
	case isAnswerTooLarge(err):
		return &ProviderError{Provider: provider, Kind: ErrAnswerTooLarge, Err: err}
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &ProviderError{Provider: provider, Kind: ErrProviderTimeout, Err: err}
	default:
		return &ProviderError{Provider: provider, Kind: ErrProviderUnavailable, Err: err}
	}
}

// DecodeError is the ProviderError of a 2xx answer whose body could not be read as documented.
func DecodeError(provider string, status int, err error) error {
	return &ProviderError{Provider: provider, Kind: ErrContractViolation, Status: status, Err: err}
}

// sentinels are the errors every error of the Client matches one of.
var sentinels = []error{
	ErrNotFound, ErrAlreadyClosed, ErrNotClosable, ErrInvalidInput, ErrUnsupported, ErrProviderAuth,
	ErrProviderUnavailable, ErrProviderTimeout, ErrContractViolation, ErrNotHonoured, ErrAnswerTooLarge, ErrProvider,
}

// classify is the one place where an adapter's error becomes the Client's: an error that matches a
// sentinel, and the caller's own context.Canceled, are returned as they are; anything else is
// wrapped once into a *ProviderError (ErrProviderTimeout for a bare deadline, ErrProvider
// otherwise), so that callers can always tell what happened with errors.Is.
func classify(p Provider, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	kind := ErrProvider
	if errors.Is(err, context.DeadlineExceeded) {
		kind = ErrProviderTimeout
	}
	return &ProviderError{Provider: p.Name(), Kind: kind, Err: err}
}

// contractViolation is implemented by errors that say an answer breaks its spec (the validating
// transport's); asking for the behaviour keeps the domain from importing the validator.
type contractViolation interface{ ContractViolation() bool }

func isContractViolation(err error) bool {
	var cv contractViolation
	return errors.Is(err, ErrContractViolation) || (errors.As(err, &cv) && cv.ContractViolation())
}

// answerTooLarge is implemented by errors that say an answer is over the caller's size limit (the
// validating transport's).
type answerTooLarge interface{ AnswerTooLarge() bool }

func isAnswerTooLarge(err error) bool {
	var tl answerTooLarge
	return errors.Is(err, ErrAnswerTooLarge) || (errors.As(err, &tl) && tl.AnswerTooLarge())
}
