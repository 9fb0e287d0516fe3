// Command load measures the throughput of the validated passthrough of `paylinks serve` against a
// plain httputil.ReverseProxy in front of the same cheap upstream, under the same load, in one run,
// and prints the ratios with the peak RSS of the paylinks process.
//
//	go run ./bench/load -duration 10s -conns 16
//
// Everything listens on 127.0.0.1 and stops by itself. The upstream mimics MijnKlantportaal: a
// 15-link list page and a close.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "upstream":
			serveUpstream(os.Args[2])
			return
		case "plain":
			servePlain(os.Args[2], os.Args[3])
			return
		}
	}
	duration := flag.Duration("duration", 10*time.Second, "load per scenario and proxy")
	conns := flag.Int("conns", 16, "concurrent connections")
	rounds := flag.Int("rounds", 10, "the duration is split into rounds that alternate the proxies, so drift of the machine hits both alike")
	bin := flag.String("paylinks", "", "paylinks binary (default: go build ./cmd/paylinks)")
	flag.Parse()
	if err := run(*duration, *conns, *rounds, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// upstream answers are built once: the point is to measure the proxies, not the upstream.
func upstreamHandler() http.Handler {
	link := func(i int, status string) map[string]any {
		var checkout any = fmt.Sprintf("https://demo.mijnklantportaal.nl/payment-link/plk_%014d", i)
		if status == "closed" {
			checkout = nil
		}
		return map[string]any{
			"id": fmt.Sprintf("plk_%014d", i), "description": "Contribution costs", "currency": "EUR",
			"amount": "12.95", "reusable": false, "expiresAt": "2030-05-14T21:00:00+02:00", "status": status,
			"checkoutUrl": checkout, "createdAt": "2024-04-29T21:00:00+02:00",
		}
	}
	var data []any
	for i := range 15 {
		data = append(data, link(i, "open"))
	}
	page, _ := json.Marshal(map[string]any{
		"current_page": 1, "data": data, "first_page_url": "https://api.mijnklantportaal.nl/v1/payment-links?page=1",
		"from": 1, "next_page_url": "https://api.mijnklantportaal.nl/v1/payment-links?page=2",
		"path": "https://api.mijnklantportaal.nl/v1/payment-links", "per_page": 15, "prev_page_url": nil, "to": 15,
	})
	closed, _ := json.Marshal(link(1, "closed"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/payment-links":
			w.Write(page)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v1/payment-links/"):
			w.Write(closed)
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"message":"not found"}`))
		}
	})
}

func serveUpstream(addr string) {
	srv := &http.Server{Addr: addr, Handler: upstreamHandler()}
	_ = srv.ListenAndServe()
}

// servePlain is the practical limit: a reverse proxy that validates nothing.
func servePlain(addr, upstream string) {
	u, _ := url.Parse(upstream)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	_ = http.ListenAndServe(addr, http.StripPrefix("/providers/mijnklantportaal", rp))
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitUp(url string) error {
	for range 200 {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", url)
}

func run(duration time.Duration, conns, rounds int, bin string) error {
	tmp, err := os.MkdirTemp("", "paylinks-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "paylinks")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/paylinks").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	upAddr, plainAddr, plAddr := freeAddr(), freeAddr(), freeAddr()
	upstream := "http://" + upAddr
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_, _ = p.Process.Wait()
		}
	}()
	start := func(cmd *exec.Cmd) error {
		cmd.Stderr = io.Discard
		procs = append(procs, cmd)
		return cmd.Start()
	}
	if err := start(exec.Command(self, "upstream", upAddr)); err != nil {
		return err
	}
	plainCmd := exec.Command(self, "plain", plainAddr, upstream+"/v1")
	if err := start(plainCmd); err != nil {
		return err
	}
	pl := exec.Command(bin, "serve", "--addr", plAddr, "--log-level", "error")
	pl.Env = append(os.Environ(),
		"PAYLINKS_API_KEYS=bench-key",
		"PAYLINKS_MIJNKLANTPORTAAL_BASE_URL="+upstream+"/v1",
		"PAYLINKS_MIJNKLANTPORTAAL_TOKEN=bench-token",
	)
	if err := start(pl); err != nil {
		return err
	}
	for _, u := range []string{upstream + "/", "http://" + plainAddr + "/", "http://" + plAddr + "/healthz"} {
		if err := waitUp(u); err != nil {
			return err
		}
	}

	scenarios := []struct{ name, method, path string }{
		{"list (15 links)", http.MethodGet, "/providers/mijnklantportaal/payment-links"},
		{"close", http.MethodDelete, "/providers/mijnklantportaal/payment-links/plk_00000000000001"},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tplain proxy req/s\tpaylinks req/s\tratio\tpaylinks p99\tCPU/request plain\tCPU/request paylinks\t\n")
	for _, sc := range scenarios {
		var plain, pay result
		for range max(rounds, 1) {
			plain = plain.add(measure(plainCmd.Process.Pid, func() result {
				return load("http://"+plainAddr, sc.method, sc.path, "", conns, duration/time.Duration(max(rounds, 1)))
			}))
			pay = pay.add(measure(pl.Process.Pid, func() result {
				return load("http://"+plAddr, sc.method, sc.path, "bench-key", conns, duration/time.Duration(max(rounds, 1)))
			}))
		}
		if plain.errors > 0 || pay.errors > 0 {
			return fmt.Errorf("%s: errors: plain %d, paylinks %d (%s)", sc.name, plain.errors, pay.errors, pay.firstError)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f×\t%s\t%s\t%s\t\n", sc.name, plain.rps(), pay.rps(), pay.rps()/plain.rps(),
			percentile(pay.latencies, 0.99).Round(10*time.Microsecond), plain.cpuPerRequest(), pay.cpuPerRequest())
	}
	tw.Flush()
	if rss, err := peakRSS(pl.Process.Pid); err == nil {
		fmt.Printf("paylinks peak RSS: %.1f MB\n", float64(rss)/1024)
	}
	fmt.Printf("(%d connections, %s per proxy and scenario in %d alternating rounds, %s)\n", conns, duration, rounds, time.Now().UTC().Format("2006-01-02"))
	return nil
}

type result struct {
	done       int64
	elapsed    time.Duration
	cpu        time.Duration // used by the proxy process meanwhile
	errors     int64
	firstError string
	latencies  []time.Duration
}

func (r result) rps() float64 { return float64(r.done) / r.elapsed.Seconds() }

func (r result) cpuPerRequest() time.Duration {
	if r.done == 0 {
		return 0
	}
	return (r.cpu / time.Duration(r.done)).Round(100 * time.Nanosecond)
}

// measure runs f and adds the CPU time the process pid used meanwhile.
func measure(pid int, f func() result) result {
	before := cpuTime(pid)
	r := f()
	r.cpu = cpuTime(pid) - before
	return r
}

// cpuTime is the user + system time of a process so far (Linux; 0 elsewhere).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func (r result) add(o result) result {
	r.done += o.done
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.errors += o.errors
	if r.firstError == "" {
		r.firstError = o.firstError
	}
	r.latencies = append(r.latencies, o.latencies...)
	return r
}

// load sends requests from conns workers for d and counts answered requests per second.
func load(base, method, path, key string, conns int, d time.Duration) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var done, errs atomic.Int64
	var mu sync.Mutex
	var first string
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest(method, base+path, nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode != 200 {
					errs.Add(1)
					mu.Lock()
					if first == "" {
						if err != nil {
							first = err.Error()
						} else {
							first = res.Status
						}
					}
					mu.Unlock()
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	client.CloseIdleConnections()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return result{done: done.Load(), elapsed: elapsed, errors: errs.Load(), firstError: first, latencies: all}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[int(float64(len(d)-1)*p)]
}

func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(l)); len(f) >= 2 && f[0] == "VmHWM:" {
			var kb int64
			fmt.Sscan(f[1], &kb)
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}
