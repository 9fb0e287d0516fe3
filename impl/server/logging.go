package server

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"

	"github.com/paylinks/paylinks/impl/telemetry"
)

// secretKeys are log attribute names whose values are never written.
var secretKeys = []string{"authorization", "token", "secret", "password", "apikey", "api_key", "x-api-key", "credential"}

// NewLogger returns the JSON logger paylinks uses, which redacts attributes that name secrets and
// writes the trace_id and span_id of the request on every line logged with its context.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			k := strings.ToLower(a.Key)
			for _, s := range secretKeys {
				if strings.Contains(k, s) {
					return slog.String(a.Key, "[redacted]")
				}
			}
			return a
		},
	})))
}

func newRequestID() string {
	// Unique, not secret: math/rand/v2's generator (ChaCha8, seeded from the OS) is enough.
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return "req_" + hex.EncodeToString(b[:])
}
