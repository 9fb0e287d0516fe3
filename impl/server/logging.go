package server

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/paylinks/paylinks/impl/telemetry"
)

// secretKeys are log attribute names whose values are never written.
var secretKeys = []string{"authorization", "token", "secret", "password", "apikey", "api_key", "x-api-key", "credential"}

// NewLogger returns the JSON logger paylinks uses, which redacts attributes that name secrets and
// writes the trace_id and span_id of the request on every line logged with its context.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	lw := &lockedWriter{w: w}
	return slog.New(&jsonLogger{
		Handler: telemetry.LogHandler(slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr})),
		out:     lw,
	})
}

// jsonLogger is NewLogger's handler. The request line, one per request, is written by
// writeRequest directly, byte for byte what the handler would write (TestRequestLineIsSlogs): the
// handler's general path (a record, each attribute through ReplaceAttr, encoding/json for the
// duration) was most of a request's logging cost.
type jsonLogger struct {
	slog.Handler
	out *lockedWriter
}

// lockedWriter serialises the handler's writes and writeRequest's. While hold runs, request lines
// at info wait in held (up to the flush interval, or maxHeld bytes) and go out in one write; any
// other line first writes out those held, then itself, so the order of lines is kept.
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	held    []byte
	holding int // hold calls running
}

// maxLogFlush bounds how long a request line may be held; maxHeld how many bytes.
const (
	maxLogFlush = 10 * time.Second
	maxHeld     = 32 << 10
)

// errLogFlush is a log flush interval out of its range.
var errLogFlush = fmt.Errorf("give a duration from 0 (each line at once) to %s", maxLogFlush)

// checkLogFlush checks a log flush interval (Config.LogFlush) read from a variable or a flag.
func checkLogFlush(d time.Duration) error {
	if d < 0 || d > maxLogFlush {
		return errLogFlush
	}
	return nil
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.flushLocked(); err != nil {
		return 0, err
	}
	return l.w.Write(p)
}

// writeHeld writes p, or holds it while hold runs.
func (l *lockedWriter) writeHeld(p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holding == 0 {
		_, err := l.w.Write(p)
		return err
	}
	l.held = append(l.held, p...)
	if len(l.held) >= maxHeld {
		return l.flushLocked()
	}
	return nil
}

func (l *lockedWriter) flushLocked() error {
	if len(l.held) == 0 {
		return nil
	}
	_, err := l.w.Write(l.held)
	l.held = l.held[:0]
	return err
}

// hold has request lines held and written every interval, until the function it returns is
// called (once or more), which writes the lines still held.
func (l *lockedWriter) hold(every time.Duration) (stop func()) {
	l.mu.Lock()
	l.holding++
	l.mu.Unlock()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.mu.Lock()
				_ = l.flushLocked()
				l.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
			l.mu.Lock()
			defer l.mu.Unlock()
			l.holding--
			_ = l.flushLocked()
		})
	}
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// requestLine is what observe logs of a request.
type requestLine struct {
	id, method, route, path string
	status, answered        int
	durationMS              float64
}

// writeRequest writes the request line at time t and level (held, below warn, while hold runs), with the trace_id and span_id of ctx as
// telemetry.LogHandler adds them. The attribute names are none of secretKeys.
func (h *jsonLogger) writeRequest(ctx context.Context, t time.Time, level slog.Level, l requestLine) error {
	bp := lineBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request","request_id":`...)
	b = appendJSONString(b, l.id)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, l.method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, l.route)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, l.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, l.durationMS)
	if l.answered != l.status {
		b = append(b, `,"answer_status":`...)
		b = strconv.AppendInt(b, int64(l.answered), 10)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		b = append(b, `,"trace_id":"`...)
		tid := sc.TraceID()
		b = hex.AppendEncode(b, tid[:])
		b = append(b, `","span_id":"`...)
		sid := sc.SpanID()
		b = hex.AppendEncode(b, sid[:])
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	var err error
	if level < slog.LevelWarn {
		err = h.out.writeHeld(b)
	} else {
		_, err = h.out.Write(b)
	}
	*bp = b
	lineBuffers.Put(bp)
	return err
}

// appendJSONString appends s quoted as slog's JSON handler writes strings: encoding/json's
// escapes without HTML's, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONFloat appends f as encoding/json writes a float64 (which slog's JSON handler uses).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) || math.IsInf(f, 0) || math.IsNaN(f) {
		out, err := json.Marshal(f) // rare: let encoding/json say it
		if err != nil {
			return append(b, `"!ERROR:`+err.Error()+`"`...)
		}
		return append(b, out...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// replaceAttr redacts secrets, and writes the level as the handler would without it: with a
// ReplaceAttr the handler passes the level as a value it encodes with encoding/json, which took
// a fifth of the cost of a request's log line.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if secretKey(a.Key) {
		return slog.String(a.Key, "[redacted]")
	}
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(a.Key, l.String())
		}
	}
	return a
}

// secretNames remembers the decision for each attribute name seen. Names come from the code, so
// they are few; the bound keeps a name made of input from growing it.
var secretNames struct {
	sync.Map // string → bool
	n        atomic.Int32
}

const maxSecretNames = 512

// secretKey reports whether an attribute of that name holds a secret.
func secretKey(key string) bool {
	if v, ok := secretNames.Load(key); ok {
		return v.(bool)
	}
	k := strings.ToLower(key)
	secret := false
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			secret = true
			break
		}
	}
	if secretNames.n.Add(1) <= maxSecretNames {
		secretNames.Store(key, secret)
	}
	return secret
}

func newRequestID() string {
	// Unique, not secret: math/rand/v2's generator (ChaCha8, seeded from the OS) is enough.
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return "req_" + hex.EncodeToString(b[:])
}
