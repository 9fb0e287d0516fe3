package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// build compiles the binary once for the tests of this package with `make build`, as users do.
func build(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "paylinks-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "paylinks")
		if _, err := exec.LookPath("make"); err != nil {
			built.err = fmt.Errorf("make is needed to build the binary as users do: %w", err)
			return
		}
		cmd := exec.Command("make", "-C", filepath.Join("..", ".."), "build", "BIN="+built.bin)
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("make build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// command runs the binary with only the given environment (and PATH, for the shells). HOME is the
// binary's temporary directory (removed after the tests), so serve keeps its data there.
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

// TestTheBinaryIsStatic holds what the README says of the binary: built by `make build`, it
// needs no C library where it runs (no program interpreter, no shared library), and no dependency
// outside the standard library needs cgo, so the static build leaves nothing out (a driver with a
// cgo and a pure-Go build would otherwise change behaviour with CGO_ENABLED).
func TestTheBinaryIsStatic(t *testing.T) {
	t.Parallel()
	bin := build(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF executable on this system: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary names a program interpreter: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}

	list := exec.Command("go", "list", "-deps", "-f", "{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}", ".")
	list.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if cgo := strings.Fields(string(out)); len(cgo) > 0 {
		t.Errorf("dependencies with cgo files (built differently, or not at all, without cgo): %v", cgo)
	}
}
