package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
)

// buildBinary compiles `paylinks` once per test that needs the real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "paylinks")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/paylinks/paylinks/cmd/paylinks").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// command runs the binary with only the given environment; HOME is the test's directory.
func command(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GOGC=100", "HOME=" + filepath.Dir(bin)}, env...)
	return cmd
}

// instance is a `paylinks serve` process.
type instance struct {
	t    *testing.T
	cmd  interface{ Kill() error }
	addr string
	wait func() error
}

// serveProcess starts `paylinks serve` on a free port with the environment given and returns once
// it serves.
func serveProcess(t *testing.T, bin string, env ...string) *instance {
	t.Helper()
	cmd := command(bin, append(env, "PAYLINKS_WEBHOOK_ALLOW_PRIVATE=true"), "serve", "--addr", "127.0.0.1:0")
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(logs)
	var addr string
	var seen strings.Builder
	for addr == "" && lines.Scan() {
		seen.WriteString(lines.Text() + "\n")
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "paylinks serving" {
			addr = l.Addr
		}
	}
	if addr == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not start: %v\n%s", cmd.Wait(), seen.String())
	}
	go func() { _, _ = io.Copy(io.Discard, logs) }()
	inst := &instance{t: t, cmd: cmd.Process, addr: addr, wait: cmd.Wait}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return inst
}

// kill stops the instance the hard way: SIGKILL, no draining, leases left behind.
func (i *instance) kill() {
	if err := i.cmd.Kill(); err != nil {
		i.t.Fatal(err)
	}
	_ = i.wait()
}

func (i *instance) call(method, path, key, body string) map[string]any {
	i.t.Helper()
	req, _ := http.NewRequest(method, "http://"+i.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		i.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
		i.t.Fatalf("%s %s: %d %v %v", method, path, res.StatusCode, out, err)
	}
	return out
}

const hub2Link = `{"provider":"hub2","amount":{"currency":"XOF","value":"1000"},"reference":"ORDER-1","providerOptions":{"hub2":{"country":"CI"}}}`

// attempts returns the outcomes of the attempts of an event's one delivery.
func attempts(t *testing.T, inst *instance, key, eventID string) []string {
	t.Helper()
	ds := inst.call("GET", "/v1/events/"+eventID+"/deliveries", key, "")
	data, _ := ds["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("deliveries of %s: %v", eventID, ds)
	}
	var out []string
	for _, a := range data[0].(map[string]any)["attempts"].([]any) {
		out = append(out, a.(map[string]any)["outcome"].(string))
	}
	return out
}

// A serve process killed with -9 in the middle of a delivery, restarted on the same SQLite file:
// the event is not lost, the receiver gets it again with the same webhook-id, and the attempt log
// shows the attempt that was cut off.
func TestKilledMidDeliveryRestartsOnTheSameFile(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	env := []string{"PAYLINKS_DATA_DIR=" + t.TempDir(), "PAYLINKS_WEBHOOK_TIMEOUT=3s", "PAYLINKS_WEBHOOK_RETRY_SCHEDULE=0s,100ms"}
	rcv := eventstest.NewReceiver(t)
	rcv.Script(eventstest.Action{Sleep: time.Minute}) // the first attempt hangs until its sender dies

	first := serveProcess(t, bin, env...)
	ep := first.call("POST", "/v1/webhook-endpoints", "sk_sandbox_demo", `{"url":"`+rcv.URL()+`"}`)
	rcv.SetSecrets(ep["secret"].(string))
	first.call("POST", "/v1/payment-links", "sk_sandbox_demo", hub2Link)
	rcv.Wait(1, 10*time.Second)
	first.kill()

	second := serveProcess(t, bin, env...)
	got := rcv.Wait(2, 60*time.Second) // after the dead process's lease (12 s) runs out
	if got[0].ID != got[1].ID || !got[1].VerifyOK {
		t.Errorf("redelivered %s (verified %v), first delivery %s", got[1].ID, got[1].VerifyOK, got[0].ID)
	}
	var ev struct{ Type string }
	_ = json.Unmarshal(got[1].Body, &ev)
	if ev.Type != "payment_link.created" {
		t.Errorf("redelivered a %s", ev.Type)
	}
	var outcomes []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if outcomes = attempts(t, second, "sk_sandbox_demo", got[0].ID); len(outcomes) == 2 {
			break
		}
	}
	if strings.Join(outcomes, ",") != "abandoned,succeeded" {
		t.Errorf("attempt log %v, want abandoned then succeeded", outcomes)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(rcv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// Two instances on one PostgreSQL: the one delivering is killed with -9, the other takes the
// delivery over once the lease runs out.
func TestKilledInstanceLeasesAreTakenOver(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dsn := pgtest.NewDB(t)
	env := []string{"PAYLINKS_DATABASE_URL=" + dsn, "PAYLINKS_WEBHOOK_TIMEOUT=3s", "PAYLINKS_WEBHOOK_RETRY_SCHEDULE=0s,100ms"}
	rcv := eventstest.NewReceiver(t)
	rcv.Script(eventstest.Action{Sleep: time.Minute})

	first := serveProcess(t, bin, append(env, "PAYLINKS_DATA_DIR="+t.TempDir())...)
	ep := first.call("POST", "/v1/webhook-endpoints", "sk_sandbox_demo", `{"url":"`+rcv.URL()+`"}`)
	rcv.SetSecrets(ep["secret"].(string))
	first.call("POST", "/v1/payment-links", "sk_sandbox_demo", hub2Link)
	rcv.Wait(1, 10*time.Second) // the first instance is delivering
	// Killed before its attempt times out (3 s), so that the attempt is cut off, not failed.
	first.kill()
	second := serveProcess(t, bin, append(env, "PAYLINKS_DATA_DIR="+t.TempDir())...)

	got := rcv.Wait(2, 60*time.Second) // after the dead instance's lease (12 s) runs out
	if got[0].ID != got[1].ID || !got[1].VerifyOK {
		t.Errorf("taken over: %s (verified %v), first %s", got[1].ID, got[1].VerifyOK, got[0].ID)
	}
	var outcomes []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if outcomes = attempts(t, second, "sk_sandbox_demo", got[0].ID); len(outcomes) == 2 {
			break
		}
	}
	if strings.Join(outcomes, ",") != "abandoned,succeeded" {
		t.Errorf("attempt log %v, want abandoned then succeeded", outcomes)
	}
}
