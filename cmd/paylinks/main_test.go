package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles the binary once for the tests of this file.
func build(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "paylinks")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// command runs the binary with only the given environment (and PATH, for the shells). HOME is the
// test's temporary directory, so serve keeps its data there.
func command(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "GOGC=100", "HOME=" + filepath.Dir(bin)}, env...)
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestBinary runs the built binary as a user does: the process exit codes, and serve started,
// used by the client commands and stopped by a signal.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := build(t)

	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, nil, 2, "", "paylinks: no command given\nUse one of: completion, events, links, listen, providers, serve, spec, version, webhooks."},
		{"help", nil, []string{"--help"}, 0, "  serve       Run the proxy", ""},
		{"version", nil, []string{"version"}, 0, "paylinks ", ""},
		{"completion", nil, []string{"completion", "fish"}, 0, "complete -c paylinks", ""},
		{"serve: bad flag value", nil, []string{"serve", "--mode", "strict"}, 2, "", `paylinks serve: validation mode "strict": use enforce or report`},
		{"serve: bad variable", []string{"PAYLINKS_PROVIDER_RETRIES=x"}, []string{"serve"}, 2, "", `paylinks serve: PAYLINKS_PROVIDER_RETRIES="x"`},
		{"serve: cannot listen", nil, []string{"serve", "--addr", "127.0.0.1:99999"}, 1, "", "paylinks serve: listen tcp"},
		{"client: no server", []string{"PAYLINKS_SERVER=http://127.0.0.1:1"}, []string{"providers"}, 1, "", "not reachable at http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			cmd := command(bin, tt.env, tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCode(cmd.Run())
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tt.code, tt.stdout, stdout.String(), tt.stderr, stderr.String())
			}
		})
	}

	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		serve := command(bin, nil, "serve", "--addr", "127.0.0.1:0")
		logs, err := serve.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(logs)
		var addr string
		for addr == "" && lines.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "paylinks serving" {
				addr = l.Addr
			}
		}
		if addr == "" {
			serve.Process.Kill()
			t.Fatalf("serve did not start: %v", serve.Wait())
		}
		rest := make(chan string, 1)
		go func() {
			var b strings.Builder
			for lines.Scan() {
				b.WriteString(lines.Text() + "\n")
			}
			rest <- b.String()
		}()

		out, err := command(bin, []string{"PAYLINKS_SERVER=http://" + addr, "PAYLINKS_API_KEY=sk_sandbox_demo"}, "providers", "--output", "json").Output()
		if err != nil || !strings.Contains(string(out), `"name": "hub2"`) {
			t.Errorf("providers: %v\n%s", err, out)
		}

		// listen runs until interrupted, and an interrupt is a normal end.
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			listen := command(bin, []string{"PAYLINKS_SERVER=http://" + addr, "PAYLINKS_API_KEY=sk_sandbox_demo"}, "listen", "--forward-to", "http://127.0.0.1:9/hooks")
			out, err := listen.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := listen.Start(); err != nil {
				t.Fatal(err)
			}
			ready := bufio.NewScanner(out)
			for ready.Scan() && !strings.HasPrefix(ready.Text(), "Ready! Your webhook signing secret is whsec_") {
			}
			if err := listen.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for ready.Scan() { // drain, so Wait may close the pipe
			}
			if code := exitCode(listen.Wait()); code != 0 {
				t.Errorf("listen exited %d after %v, want 0", code, sig)
			}
		}

		if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select { // the logs end when serve exits; only then may Wait close the pipe
		case logs := <-rest:
			if !strings.Contains(logs, `"msg":"stopped"`) {
				t.Errorf("no graceful stop in the logs:\n%s", logs)
			}
		case <-time.After(30 * time.Second):
			serve.Process.Kill()
			t.Fatal("serve did not stop on SIGTERM")
		}
		if code := exitCode(serve.Wait()); code != 0 {
			t.Errorf("serve exited %d after SIGTERM, want 0", code)
		}
	})
}
