package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func (c *cli) versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the version and the source revision of this binary",
		Long: `Shows the module version of paylinks, the version-control revision it was built from (and
whether the tree had uncommitted changes), and the Go version, as the Go toolchain recorded them
in the binary. A binary built with 'go run' or -buildvcs=false has no revision.`,
		Example: `  paylinks version
  paylinks version --output json | jq -r .revision`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			v := buildVersion()
			if output == "json" {
				out, err := json.Marshal(v)
				if err != nil {
					return err
				}
				c.printJSON(out)
				return nil
			}
			v.write(c.stdout)
			return nil
		},
	}
	outputFlag(cmd.Flags(), &output)
	completeWith(cmd, "output", "table", "json")
	return cmd
}

// buildInfo is what `paylinks version` reports.
type buildInfo struct {
	// Version is the module version: a release tag, a pseudo-version (with +dirty for a tree with
	// uncommitted changes), or (devel) when the toolchain did not know it.
	Version string `json:"version"`
	// Revision, Time and Modified are the version-control commit, its time and whether the tree
	// differed from it; empty when the binary was built without version-control information.
	Revision string `json:"revision"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// devel is what Go reports as the version of a module it has no version for.
const devel = "(devel)"

func buildVersion() buildInfo {
	return versionOf(debug.ReadBuildInfo())
}

// versionOf reads the build info the Go toolchain embeds in the binary.
func versionOf(bi *debug.BuildInfo, ok bool) buildInfo {
	v := buildInfo{Version: devel, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// short is the version in one word or two, for --version: the module version, and the commit when
// the version does not name it.
func (v buildInfo) short() string {
	s := v.Version
	if rev := abbrev(v.Revision); rev != "" && !strings.Contains(s, rev) {
		s += " " + rev
		if v.Modified {
			s += "+dirty"
		}
	}
	return s
}

func abbrev(rev string) string {
	return rev[:min(len(rev), 12)]
}

func (v buildInfo) write(w io.Writer) {
	tw := newTable(w)
	fmt.Fprintf(tw, "paylinks\t%s\n", v.Version)
	switch {
	case v.Revision == "":
		fmt.Fprintf(tw, "revision\tunknown: built without version-control information (go run, or -buildvcs=false)\n")
	case v.Modified:
		fmt.Fprintf(tw, "revision\t%s, with uncommitted changes\n", v.Revision)
	default:
		fmt.Fprintf(tw, "revision\t%s\n", v.Revision)
	}
	if v.Time != "" {
		fmt.Fprintf(tw, "committed\t%s\n", v.Time)
	}
	fmt.Fprintf(tw, "go\t%s %s\n", v.Go, v.Platform)
	tw.Flush()
}
