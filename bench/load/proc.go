package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: 100 on every Linux platform Go runs on.
const userHZ = 100

// cpuTime is the user + system time of a process so far (Linux; 0 elsewhere).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	d, err := parseStatCPU(b)
	if err != nil {
		return 0
	}
	return d
}

// parseStatCPU reads utime + stime from the contents of /proc/<pid>/stat.
func parseStatCPU(stat []byte) (time.Duration, error) {
	// The fields after the command name, which is in parentheses and may hold spaces and ")".
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := bytes.Fields(stat[end+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want ≥ 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("stat: CPU time %q: not a count of ticks", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// memory reads a field of /proc/<pid>/status in KiB: VmHWM (the peak resident set size),
// RssAnon (what is resident of the heap, stacks and other anonymous memory), RssFile (of mapped
// files: the executable's own code and data).
func memory(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, field)
}

// parseStatusKB reads a field given in kB from the contents of /proc/<pid>/status.
func parseStatusKB(status []byte, field string) (int64, error) {
	for _, l := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(l, []byte(field+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("status: %s %q: want <number> kB", field, bytes.TrimSpace(rest))
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("status: no %s", field)
}

// peakSampler follows the anonymous resident memory of a process, which /proc keeps no peak of.
type peakSampler struct {
	mu      sync.Mutex
	anonMax int64
	stop    chan struct{}
	done    chan struct{}
}

func samplePeak(pid int, every time.Duration) *peakSampler {
	s := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if kb, err := memory(pid, "RssAnon"); err == nil {
				s.mu.Lock()
				s.anonMax = max(s.anonMax, kb)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// anonPeak is the largest RssAnon seen so far, in KiB.
func (s *peakSampler) anonPeak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anonMax
}

func (s *peakSampler) close() {
	close(s.stop)
	<-s.done
}
