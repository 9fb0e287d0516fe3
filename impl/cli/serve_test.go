package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/paylinks/paylinks/impl/cli"
)

// fakeServer records what the serve command hands it.
type fakeServer struct {
	addr                 string
	configureErr, runErr error
	waitForCancel        bool

	addrGiven, configured, ran bool
	envAddr                    string
}

func (f *fakeServer) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (PAYLINKS_ADDR)")
}

func (f *fakeServer) Configure(fs *pflag.FlagSet, getenv func(string) string, logs io.Writer) error {
	f.configured, f.addrGiven, f.envAddr = true, fs.Changed("addr"), getenv("PAYLINKS_ADDR")
	fmt.Fprintln(logs, "log line")
	return f.configureErr
}

func (f *fakeServer) Run(ctx context.Context) error {
	f.ran = true
	if f.waitForCancel {
		<-ctx.Done()
	}
	return f.runErr
}

func TestServe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		srv    *fakeServer
		args   []string
		code   int
		stdout []string
		stderr []string
		check  func(t *testing.T, f *fakeServer)
	}{
		{"defaults", &fakeServer{}, nil, 0, nil, []string{"log line"}, func(t *testing.T, f *fakeServer) {
			if !f.configured || !f.ran || f.addrGiven || f.addr != "127.0.0.1:8080" || f.envAddr != ":7000" {
				t.Errorf("%+v, want configured from the environment with the flag's default, and run", f)
			}
		}},
		{"a flag", &fakeServer{}, []string{"--addr", ":9000"}, 0, nil, nil, func(t *testing.T, f *fakeServer) {
			if !f.addrGiven || f.addr != ":9000" || !f.ran {
				t.Errorf("%+v, want --addr :9000 given", f)
			}
		}},
		{"bad configuration", &fakeServer{configureErr: errors.New(`PAYLINKS_PROVIDER_RETRIES="x": give a whole number ≥ 0`)}, nil, 2, nil,
			[]string{"paylinks serve: PAYLINKS_PROVIDER_RETRIES=\"x\": give a whole number ≥ 0\nRun 'paylinks serve --help'"}, func(t *testing.T, f *fakeServer) {
				if f.ran {
					t.Error("ran with a bad configuration")
				}
			}},
		{"cannot start", &fakeServer{runErr: errors.New("listen tcp 127.0.0.1:8080: bind: address already in use")}, nil, 1, nil,
			[]string{"paylinks serve: listen tcp 127.0.0.1:8080: bind: address already in use\n"}, nil},
		{"stray argument", &fakeServer{}, []string{"now"}, 2, nil, []string{`paylinks serve: unexpected argument "now"`}, func(t *testing.T, f *fakeServer) {
			if f.configured {
				t.Error("configured despite a wrong command line")
			}
		}},
		{"unknown flag", &fakeServer{}, []string{"--port", "80"}, 2, nil, []string{"paylinks serve: unknown flag --port"}, nil},
		{"help", &fakeServer{}, []string{"--help"}, 0, []string{"Usage:\n  paylinks serve [flags]", "Examples:\n  paylinks serve\n", "--addr string", "PAYLINKS_ADDR", "SIGTERM"}, nil, func(t *testing.T, f *fakeServer) {
			if f.configured {
				t.Error("--help configured the server")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			root := cli.NewRoot(cli.Env{Stdout: &out, Stderr: &errOut, Server: tt.srv,
				Getenv: func(k string) string { return map[string]string{"PAYLINKS_ADDR": ":7000"}[k] }})
			code := cli.Execute(context.Background(), root, append([]string{"serve"}, tt.args...))
			result{code, out.String(), errOut.String()}.check(t, tt.code, tt.stdout, tt.stderr)
			if tt.check != nil {
				tt.check(t, tt.srv)
			}
		})
	}

	t.Run("stops when the context ends", func(t *testing.T) {
		t.Parallel()
		f := &fakeServer{waitForCancel: true}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		go func() {
			done <- cli.Execute(ctx, cli.NewRoot(cli.Env{Stdout: io.Discard, Stderr: io.Discard, Server: f}), []string{"serve"})
		}()
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d, want 0 after a graceful stop", code)
		}
	})

	t.Run("without a server", func(t *testing.T) {
		t.Parallel()
		r := run(nil, "serve")
		r.check(t, 2, nil, []string{`unknown command "serve"`})
		if strings.Contains(run(nil, "--help").stdout, "\n  serve ") {
			t.Error("help lists serve, which this tree lacks")
		}
	})
}
