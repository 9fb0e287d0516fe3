package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkDriver drives the load with wrk (github.com/wg/wrk; Debian's package), an event-loop load
// generator in C: it leaves more of the cores to the proxies than the Go driver does.
type wrkDriver struct {
	bin     string
	threads int
	dir     string // where the request scripts are written
}

// script writes the request script: wrk has no flag for the method or a body.
func (w wrkDriver) script(sc scenario) (string, error) {
	if sc.method == "" || sc.method == "GET" && sc.body == "" {
		return "", nil
	}
	for _, r := range sc.method {
		if r < 'A' || r > 'Z' {
			return "", fmt.Errorf("method %q: letters only", sc.method)
		}
	}
	lua := fmt.Sprintf("wrk.method = %q\n", sc.method)
	if sc.body != "" {
		lua += fmt.Sprintf("wrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", sc.body)
	}
	f, err := os.CreateTemp(w.dir, "wrk-*.lua")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(lua)
	return f.Name(), err
}

func (w wrkDriver) load(base string, sc scenario, key string, conns int, d time.Duration) result {
	secs := int(d.Round(time.Second) / time.Second) // wrk takes whole seconds
	args := []string{"-t", strconv.Itoa(min(w.threads, conns)), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", max(secs, 1)),
		"--latency", "--timeout", "10s"}
	if key != "" {
		args = append(args, "-H", "Authorization: Bearer "+key)
	}
	script, err := w.script(sc)
	if err != nil {
		return result{errors: 1, firstError: err.Error()}
	}
	if script != "" {
		args = append(args, "-s", script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(secs, 1))*time.Second+30*time.Second)
	defer cancel()
	if script != "" {
		defer os.Remove(script)
	}
	out, err := exec.CommandContext(ctx, w.bin, append(args, base+sc.path)...).CombinedOutput()
	if err != nil {
		return result{errors: 1, firstError: fmt.Sprintf("wrk: %v: %s", err, bytes.TrimSpace(out))}
	}
	r, err := parseWrk(out)
	if err != nil {
		return result{errors: 1, firstError: fmt.Sprintf("%v in:\n%s", err, out)}
	}
	return r
}

// parseWrk reads what wrk prints: the requests answered and in how long, the 99th percentile of
// the latency (--latency), and the requests that failed (non-2xx/3xx answers, socket errors).
func parseWrk(out []byte) (result, error) {
	var r result
	var haveCount, haveP99 bool
	var non2xx int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			// "52000 requests in 10.00s, 245.12MB read"
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: request count %q", f[0])
			}
			d, err := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			if err != nil || d <= 0 {
				return r, fmt.Errorf("wrk: run time %q", f[3])
			}
			r.done, r.elapsed, haveCount = n, d, true
		case len(f) == 2 && f[0] == "99%":
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("wrk: 99th percentile %q", f[1])
			}
			r.roundP99, haveP99 = []time.Duration{d}, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")), 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q", line)
			}
			r.errors += n
			non2xx = n
			r.firstError = fmt.Sprintf("%d non-2xx/3xx answers", n)
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			var sum int64
			for _, kv := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				kf := strings.Fields(kv)
				if len(kf) != 2 {
					return r, fmt.Errorf("wrk: %q", line)
				}
				n, err := strconv.ParseInt(kf[1], 10, 64)
				if err != nil {
					return r, fmt.Errorf("wrk: %q", line)
				}
				sum += n
			}
			if sum > 0 {
				r.errors += sum
				if r.firstError == "" {
					r.firstError = line
				}
			}
		}
	}
	if !haveCount {
		return r, errors.New("wrk: no request count (\"N requests in T\")")
	}
	if !haveP99 {
		return r, errors.New("wrk: no latency distribution (run it with --latency)")
	}
	// wrk counts every answer it read, failed ones too (but not the socket errors).
	r.done -= non2xx
	return r, nil
}
