package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// switchesJSON is how the control API reads and writes Switches: the delay as a Go duration.
type switchesJSON struct {
	Mode    WebhookMode `json:"mode"`
	Delay   string      `json:"delay,omitempty"`
	MisSign bool        `json:"missign"`
}

func (s Switches) wire() switchesJSON {
	out := switchesJSON{Mode: s.Mode, MisSign: s.MisSign}
	if s.Delay > 0 {
		out.Delay = s.Delay.String()
	}
	return out
}

// controlWebhooks serves the webhook part of the control API of a simulator that sends webhooks:
//
//	{base}/_control/webhooks          GET   the switches in force
//	{base}/_control/webhooks          POST  {"mode": normal|drop|duplicate|delay|reorder, "delay": "2s", "missign": false}
//	{base}/_control/webhooks/log      GET   {"data": [attempts, oldest first]}
//	{base}/_control/webhooks/rotate   POST  new secrets for every subscription (providers that rotate)
func controlWebhooks(mux *http.ServeMux, base string, s Simulator) {
	n, ok := s.(Notifier)
	if !ok {
		return
	}
	w := n.Webhooks()
	mux.HandleFunc("GET "+base+"/_control/webhooks", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusOK, w.Switches().wire())
	})
	mux.HandleFunc("POST "+base+"/_control/webhooks", func(rw http.ResponseWriter, r *http.Request) {
		sw, err := readSwitches(r.Body)
		if err == nil {
			err = w.Set(sw)
		}
		if err != nil {
			writeJSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(rw, http.StatusOK, w.Switches().wire())
	})
	mux.HandleFunc("GET "+base+"/_control/webhooks/log", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusOK, map[string][]WebhookAttempt{"data": w.Log()})
	})
	if rot, ok := s.(Rotator); ok {
		mux.HandleFunc("POST "+base+"/_control/webhooks/rotate", func(rw http.ResponseWriter, r *http.Request) {
			writeJSON(rw, http.StatusOK, map[string][]RotatedSecret{"data": rot.RotateWebhookSecrets()})
		})
	}
}

// readSwitches reads the body of POST _control/webhooks; its errors name the field.
func readSwitches(body io.Reader) (Switches, error) {
	raw, err := io.ReadAll(io.LimitReader(body, 4<<10+1))
	if err != nil || len(raw) > 4<<10 {
		return Switches{}, errors.New("body: give a JSON object of at most 4 KiB")
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var in switchesJSON
	if err := dec.Decode(&in); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return Switches{}, fmt.Errorf("%s: must be a JSON %s", typeErr.Field, map[string]string{"mode": "string", "delay": "string", "missign": "boolean"}[typeErr.Field])
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Switches{}, fmt.Errorf("%s: unknown field (mode, delay and missign are known)", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		}
		return Switches{}, errors.New("body: not a JSON object")
	}
	sw := Switches{Mode: in.Mode, MisSign: in.MisSign}
	if in.Delay != "" {
		d, err := time.ParseDuration(in.Delay)
		if err != nil {
			return Switches{}, errors.New("delay: give a Go duration such as 500ms or 2s")
		}
		sw.Delay = d
	}
	return sw, sw.Check()
}
