package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// newTransport is the connection pool to real providers: keep-alive, bounded idle connections,
// and timeouts on every phase. Every call has a deadline of call (the provider's timeout, retries
// included); the wait for an answer's headers gets a timer of its own only when that deadline is
// further than responseHeaderTimeout (a timer per call, for nothing, otherwise).
func newTransport(call time.Duration) *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if call <= 0 || call > responseHeaderTimeout {
		t.ResponseHeaderTimeout = responseHeaderTimeout
	}
	return t
}

// responseHeaderTimeout is the longest a provider may take to start its answer.
const responseHeaderTimeout = 30 * time.Second

// maxRetryWait is the longest a retry waits; a provider asking for more (Retry-After) gets its
// answer passed on instead, so the caller decides.
const maxRetryWait = 2 * time.Second

// retrying retries only calls that are safe to repeat: GET and HEAD, and calls that carry an
// idempotency key the provider honours. It retries connection failures, 429 and 5xx (but 501) with
// exponential backoff (or the provider's Retry-After, up to maxRetryWait), and passes the last
// answer on when it gives up.
func retrying(next http.RoundTripper, max int) http.RoundTripper {
	if max <= 0 {
		return next
	}
	const waitMin = 50 * time.Millisecond
	checkRetry := func(ctx context.Context, res *http.Response, err error) (bool, error) {
		if res != nil && (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) {
			if wait := retryablehttp.DefaultBackoff(0, time.Hour, 0, res); wait > maxRetryWait {
				return false, nil
			}
		}
		return retryablehttp.DefaultRetryPolicy(ctx, res, err)
	}
	// The retries after a first attempt that failed.
	rest := &retryablehttp.RoundTripper{Client: &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: next, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		RetryWaitMin: waitMin,
		RetryWaitMax: maxRetryWait,
		RetryMax:     max - 1,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		CheckRetry:   checkRetry,
	}}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !safeToRetry(r) {
			return next.RoundTrip(r)
		}
		hasBody := r.Body != nil && r.Body != http.NoBody
		if hasBody && r.GetBody == nil {
			return rest.RoundTrip(r) // cannot be sent twice by us: all attempts through the library
		}
		// The first attempt goes out directly: nearly every call succeeds, and the retry machinery
		// (a request wrapper and an http.Client of its own) costs ~3 % of a passthrough GET. A call
		// to be retried waits the backoff, then goes on through the library for the other attempts.
		res, err := next.RoundTrip(r)
		if retry, _ := checkRetry(r.Context(), res, err); !retry {
			return res, err
		}
		wait := retryablehttp.DefaultBackoff(waitMin, maxRetryWait, 0, res)
		if res != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10)) // lets the connection be reused
			res.Body.Close()
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-timer.C:
		}
		again := r.Clone(r.Context())
		if hasBody {
			body, gerr := r.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			again.Body = body
		}
		return rest.RoundTrip(again)
	})
}

func safeToRetry(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	for _, h := range idempotencyKeyHeaders {
		if headerValue(r.Header, h) != "" {
			return true
		}
	}
	return false
}

// inProcess hands requests to an embedded sandbox without a network hop.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	// Make it look as a server sees a request: a path-only URL, the host in Host.
	in := r.Clone(r.Context())
	in.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	in.RequestURI, in.Host, in.RemoteAddr = r.URL.RequestURI(), r.URL.Host, "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = r
	return res, nil
}
