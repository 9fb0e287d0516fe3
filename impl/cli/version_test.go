package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	t.Parallel()
	const rev = "760b871b3d73639cee3c386bf80aaeeec9d29aff"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T07:26:09Z"}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name  string
		bi    *debug.BuildInfo
		ok    bool
		want  buildInfo
		short string
		text  []string // lines of `paylinks version`, spaces squeezed
	}{
		{
			name:  "release",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("false")},
			ok:    true,
			want:  buildInfo{Version: "v1.4.0", Revision: rev, Time: "2026-11-30T07:26:09Z", Go: "go1.26.8"},
			short: "v1.4.0 760b871b3d73",
			text:  []string{"paylinks v1.4.0", "revision " + rev, "committed 2026-11-30T07:26:09Z", "go go1.26.8 "},
		},
		{
			name:  "go build of a tree with uncommitted changes",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130072609-760b871b3d73+dirty"}, Settings: vcs("true")},
			ok:    true,
			want:  buildInfo{Version: "v0.0.0-20261130072609-760b871b3d73+dirty", Revision: rev, Time: "2026-11-30T07:26:09Z", Modified: true, Go: "go1.26.8"},
			short: "v0.0.0-20261130072609-760b871b3d73+dirty",
			text:  []string{"paylinks v0.0.0-20261130072609-760b871b3d73+dirty", "revision " + rev + ", with uncommitted changes"},
		},
		{
			name:  "a version that does not name the commit, from a modified tree",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: devel}, Settings: vcs("true")},
			ok:    true,
			want:  buildInfo{Version: devel, Revision: rev, Time: "2026-11-30T07:26:09Z", Modified: true, Go: "go1.26.8"},
			short: "(devel) 760b871b3d73+dirty",
		},
		{
			name:  "go run",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/paylinks/paylinks", Version: devel}},
			ok:    true,
			want:  buildInfo{Version: devel, Go: "go1.26.8"},
			short: devel,
			text:  []string{"paylinks (devel)", "revision unknown: built without version-control information"},
		},
		{
			name:  "no build info",
			want:  buildInfo{Version: devel, Go: runtime.Version()},
			short: devel,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := versionOf(tt.bi, tt.ok)
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tt.want {
				t.Errorf("versionOf = %+v\nwant        %+v", got, tt.want)
			}
			if s := got.short(); s != tt.short {
				t.Errorf("short() = %q, want %q", s, tt.short)
			}
			var b bytes.Buffer
			got.write(&b)
			var lines []string // the table's columns, one space apart
			for _, line := range strings.Split(b.String(), "\n") {
				lines = append(lines, strings.Join(strings.Fields(line), " "))
			}
			text := strings.Join(lines, "\n")
			for _, want := range tt.text {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(args, &out, &errOut, nil)
		if errOut.Len() > 0 {
			t.Errorf("%v: stderr %q", args, errOut.String())
		}
		return code, out.String()
	}
	want := buildVersion()
	if code, out := run("version"); code != 0 || !strings.HasPrefix(out, "paylinks ") || !strings.Contains(out, want.Go) {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	code, out := run("version", "--output", "json")
	var got buildInfo
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got != want {
		t.Errorf("version --output json: exit %d, %+v (%v), want %+v", code, got, err, want)
	}
	if code, out := run("--version"); code != 0 || out != "paylinks "+want.short()+"\n" {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}
