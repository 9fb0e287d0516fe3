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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	_ "net/http/pprof" // the plain proxy's profiles, with PLAIN_PPROF_ADDR
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
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "load per scenario, proxy and driver")
	flag.IntVar(&o.conns, "conns", 16, "concurrent connections")
	flag.IntVar(&o.rounds, "rounds", 10, "the duration is split into rounds that alternate the proxies, so drift of the machine hits both alike (wrk: whole seconds per round)")
	flag.IntVar(&o.runs, "runs", 1, "repeat the whole comparison; with more than one, the medians are printed at the end")
	flag.StringVar(&o.drivers, "driver", "go", "load generator(s): go, wrk, or both (go,wrk)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.IntVar(&o.wrkThreads, "wrk-threads", 2, "wrk threads (-t)")
	flag.StringVar(&o.bin, "paylinks", "", "paylinks binary (default: make build, static)")
	flag.StringVar(&o.logLevel, "log-level", "info", "paylinks' log level (info logs every request, to /dev/null here)")
	flag.BoolVar(&o.plainTimeouts, "plain-timeouts", false, "give the plain proxy's server the timeouts paylinks' has (read header, read, write, idle), which cost CPU per request")
	flag.Var(&o.env, "env", "KEY=VALUE added to the environment of paylinks serve (repeatable): e.g. GOGC=100")
	flag.StringVar(&o.scenarios, "scenarios", "list,close", "scenarios to run, in order: list, list-page (?page=2), close, create")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type options struct {
	duration            time.Duration
	conns, rounds, runs int
	drivers, wrk, bin   string
	wrkThreads          int
	logLevel, scenarios string
	env                 envFlag
	plainTimeouts       bool
}

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }
func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q: give KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
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
	var created atomic.Int64 // each create makes a link of its own, as a provider does
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/payment-links":
			b, _ := json.Marshal(link(int(created.Add(1))+1000, "open"))
			w.WriteHeader(http.StatusCreated)
			w.Write(b)
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
	if addr := os.Getenv("PLAIN_PPROF_ADDR"); addr != "" {
		// Profiles of the plain proxy, to compare with paylinks' (PAYLINKS_PPROF_ADDR).
		go func() { _ = http.ListenAndServe(addr, http.DefaultServeMux) }()
	}
	srv := &http.Server{Addr: addr, Handler: http.StripPrefix("/providers/mijnklantportaal", rp)}
	if os.Getenv("PLAIN_SERVER_TIMEOUTS") != "" {
		// As paylinks serve sets them (its write timeout depends on its configuration; the cost
		// is in setting a deadline per request, not in its length).
		srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 10*time.Second, 30*time.Second, 60*time.Second, 120*time.Second
	}
	_ = srv.ListenAndServe()
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

// driver is a load generator: it sends requests on conns keep-alive connections for d.
type driver interface {
	load(base string, sc scenario, key string, conns int, d time.Duration) result
}

// scenario is one request sent again and again; a body is sent as JSON.
type scenario struct{ name, method, path, body string }

var scenarios = map[string]scenario{
	"list":      {"list (15 links)", http.MethodGet, "/providers/mijnklantportaal/payment-links", ""},
	"list-page": {"list ?page=2", http.MethodGet, "/providers/mijnklantportaal/payment-links?page=2", ""},
	"close":     {"close", http.MethodDelete, "/providers/mijnklantportaal/payment-links/plk_00000000000001", ""},
	// A create: through paylinks, the events engine then watches the new link (a row in its store).
	"create": {"create", http.MethodPost, "/providers/mijnklantportaal/payment-links", `{"description":"Contribution costs","amount":"12.95"}`},
}

func run(o options) error {
	tmp, err := os.MkdirTemp("", "paylinks-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	drivers := map[string]driver{}
	var driverNames []string
	for _, d := range strings.Split(strings.ReplaceAll(o.drivers, "both", "go,wrk"), ",") {
		switch d = strings.TrimSpace(d); d {
		case "go":
			drivers[d] = goDriver{}
		case "wrk":
			bin, err := exec.LookPath(o.wrk)
			if err != nil {
				return fmt.Errorf("-driver wrk: %w (Debian: apt-get install wrk)", err)
			}
			drivers[d] = wrkDriver{bin: bin, threads: o.wrkThreads, dir: tmp}
		default:
			return fmt.Errorf("-driver %q: use go, wrk or both", d)
		}
		driverNames = append(driverNames, d)
	}
	var scs []scenario
	for _, n := range strings.Split(o.scenarios, ",") {
		sc, ok := scenarios[strings.TrimSpace(n)]
		if !ok {
			return fmt.Errorf("-scenarios: unknown %q (list, list-page, close, create)", n)
		}
		scs = append(scs, sc)
	}
	rounds := max(o.rounds, 1)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "paylinks")
		if out, err := exec.Command("make", "-s", "build", "BIN="+bin).CombinedOutput(); err != nil {
			return fmt.Errorf("make build: %v\n%s", err, out)
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
		// No Stderr: the null device, so that no pipe of this process copies the logs.
		procs = append(procs, cmd)
		return cmd.Start()
	}
	if err := start(exec.Command(self, "upstream", upAddr)); err != nil {
		return err
	}
	plainCmd := exec.Command(self, "plain", plainAddr, upstream+"/v1")
	if o.plainTimeouts {
		plainCmd.Env = append(os.Environ(), "PLAIN_SERVER_TIMEOUTS=1")
	}
	if err := start(plainCmd); err != nil {
		return err
	}
	pl := exec.Command(bin, "serve", "--addr", plAddr, "--log-level", o.logLevel, "--data-dir", filepath.Join(tmp, "data"))
	pl.Env = append(os.Environ(),
		"PAYLINKS_API_KEYS=bench-key",
		"PAYLINKS_MIJNKLANTPORTAAL_BASE_URL="+upstream+"/v1",
		"PAYLINKS_MIJNKLANTPORTAAL_TOKEN=bench-token",
	)
	pl.Env = append(pl.Env, o.env...)
	if err := start(pl); err != nil {
		return err
	}
	for _, u := range []string{upstream + "/", "http://" + plainAddr + "/", "http://" + plAddr + "/healthz"} {
		if err := waitUp(u); err != nil {
			return err
		}
	}

	idleRSS, err := memory(pl.Process.Pid, "VmHWM")
	if err != nil {
		return err
	}
	sampler := samplePeak(pl.Process.Pid, 20*time.Millisecond)
	defer sampler.close()
	var all []row
	for runNo := 1; runNo <= max(o.runs, 1); runNo++ {
		var rows []row
		for _, dn := range driverNames {
			d := drivers[dn]
			for _, sc := range scs {
				var plain, pay result
				for range rounds {
					plain = plain.add(measure(plainCmd.Process.Pid, func() result {
						return d.load("http://"+plainAddr, sc, "", o.conns, o.duration/time.Duration(rounds))
					}))
					pay = pay.add(measure(pl.Process.Pid, func() result {
						return d.load("http://"+plAddr, sc, "bench-key", o.conns, o.duration/time.Duration(rounds))
					}))
				}
				if plain.errors > 0 || pay.errors > 0 {
					return fmt.Errorf("%s, %s: errors: plain %d (%s), paylinks %d (%s)", dn, sc.name, plain.errors, plain.firstError, pay.errors, pay.firstError)
				}
				rows = append(rows, row{run: runNo, driver: dn, scenario: sc.name, plain: plain, pay: pay})
			}
		}
		rss, err := memory(pl.Process.Pid, "VmHWM")
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].rssKB, rows[i].anonKB = rss, sampler.anonPeak()
		}
		plainRSS, _ := memory(plainCmd.Process.Pid, "VmHWM")
		printRun(os.Stdout, rows)
		fmt.Printf("paylinks peak RSS so far: %.1f MB (%.1f MB when it was up, before any load); anonymous memory (heap, stacks, SQLite) peaked at %.1f MB; plain proxy's peak RSS %.1f MB\n",
			mb(rss), mb(idleRSS), mb(sampler.anonPeak()), mb(plainRSS))
		all = append(all, rows...)
	}
	if o.runs > 1 {
		printMedians(os.Stdout, all)
	}
	plainServer := "no server timeouts"
	if o.plainTimeouts {
		plainServer = "paylinks' server timeouts"
	}
	fmt.Printf("(%d connections, %s per proxy, scenario and driver in %d alternating rounds; paylinks log level %s; plain proxy with %s; %s)\n",
		o.conns, o.duration, rounds, o.logLevel, plainServer, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return nil
}

// row is one scenario of one run with one driver.
type row struct {
	run              int
	driver, scenario string
	plain, pay       result
	rssKB            int64 // paylinks' peak RSS at the end of the run
	anonKB           int64 // the peak of its anonymous resident memory, sampled
}

func (r row) ratio() float64 { return r.pay.rps() / r.plain.rps() }
func (r row) cpuRatio() float64 {
	return float64(r.pay.cpuPerRequest()) / float64(r.plain.cpuPerRequest())
}

func printRun(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\tdriver\tscenario\tplain req/s\tpaylinks req/s\tratio\tplain p99\tpaylinks p99\tCPU/req plain\tCPU/req paylinks\tCPU ratio\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.0f\t%.2f×\t%s\t%s\t%s\t%s\t%.2f×\t\n", r.run, r.driver, r.scenario, r.plain.rps(), r.pay.rps(), r.ratio(),
			r.plain.p99(), r.pay.p99(), r.plain.cpuPerRequest(), r.pay.cpuPerRequest(), r.cpuRatio())
	}
	tw.Flush()
}

// printMedians prints, per driver and scenario, the figures of every run and their medians.
func printMedians(w io.Writer, rows []row) {
	type key struct{ driver, scenario string }
	var keys []key
	by := map[key][]row{}
	for _, r := range rows {
		k := key{r.driver, r.scenario}
		if by[k] == nil {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	fmt.Fprintln(w, "\nmedians over the runs")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "driver\tscenario\tratios\tmedian ratio\tCPU ratios\tmedian CPU ratio\tpaylinks CPU/req\t\n")
	for _, k := range keys {
		var ratios, cpus, cpuPay []float64
		for _, r := range by[k] {
			ratios = append(ratios, r.ratio())
			cpus = append(cpus, r.cpuRatio())
			cpuPay = append(cpuPay, float64(r.pay.cpuPerRequest()))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f×\t%s\t%.2f×\t%s\t\n", k.driver, k.scenario, joinF(ratios), median(ratios), joinF(cpus), median(cpus),
			time.Duration(median(cpuPay)).Round(100*time.Nanosecond))
	}
	tw.Flush()
	last := rows[len(rows)-1]
	fmt.Fprintf(w, "paylinks peak RSS: %.1f MB (the process's VmHWM after the last run); anonymous: %.1f MB\n", mb(last.rssKB), mb(last.anonKB))
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

func joinF(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%.2f", f)
	}
	return strings.Join(parts, " ")
}

// median of the values (the mean of the middle two for an even count); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

type result struct {
	done       int64
	elapsed    time.Duration
	cpu        time.Duration // used by the proxy process meanwhile
	errors     int64
	firstError string
	latencies  []time.Duration // every request's (the Go driver)
	roundP99   []time.Duration // each round's 99th percentile (wrk reports no samples)
}

func (r result) rps() float64 { return float64(r.done) / r.elapsed.Seconds() }

func (r result) cpuPerRequest() time.Duration {
	if r.done == 0 {
		return 0
	}
	return (r.cpu / time.Duration(r.done)).Round(100 * time.Nanosecond)
}

// p99 is the 99th percentile of the latencies, or with wrk the median of the rounds' own.
func (r result) p99() time.Duration {
	if len(r.latencies) > 0 {
		return percentile(r.latencies, 0.99).Round(10 * time.Microsecond)
	}
	fs := make([]float64, len(r.roundP99))
	for i, d := range r.roundP99 {
		fs[i] = float64(d)
	}
	return time.Duration(median(fs)).Round(10 * time.Microsecond)
}

// measure runs f and adds the CPU time the process pid used meanwhile.
func measure(pid int, f func() result) result {
	before := cpuTime(pid)
	r := f()
	r.cpu = cpuTime(pid) - before
	return r
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
	r.roundP99 = append(r.roundP99, o.roundP99...)
	return r
}

// goDriver is the load generator in Go: one goroutine per connection, in this process.
type goDriver struct{}

// load sends requests from conns workers for d and counts answered requests per second.
func (goDriver) load(base string, sc scenario, key string, conns int, d time.Duration) result {
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
				var body io.Reader
				if sc.body != "" {
					body = strings.NewReader(sc.body)
				}
				req, _ := http.NewRequest(sc.method, base+sc.path, body)
				if sc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if err != nil || res.StatusCode/100 != 2 {
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
