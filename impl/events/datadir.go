package events

import (
	"errors"
	"path/filepath"
)

// DataDir resolves the data directory: flag (--data-dir) if set, else PAYLINKS_DATA_DIR, else
// the per-user data directory $XDG_DATA_HOME/paylinks, else $HOME/.local/share/paylinks. The
// default is never the working directory (a relative XDG_DATA_HOME or HOME is ignored, as the XDG
// specification says); a relative path given explicitly is made absolute.
func DataDir(flag string, getenv func(string) string) (string, error) {
	for _, d := range []string{flag, getenv("PAYLINKS_DATA_DIR")} {
		if d != "" {
			return filepath.Abs(d)
		}
	}
	if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "paylinks"), nil
	}
	if h := getenv("HOME"); h != "" && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "paylinks"), nil
	}
	return "", errors.New("no data directory: set --data-dir or PAYLINKS_DATA_DIR (HOME is not set)")
}
