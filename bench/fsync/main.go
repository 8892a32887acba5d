//go:build linux

// Command fsync measures how long the disk takes to sync a small write, as
// the durable history's commits do (docs/benchmarks.md, "Machine" and
// "Kept: delivering staged updates before the fsync"): it writes 4 KiB and
// calls fdatasync, n times, one every -every, and prints p50, p90, p99 and
// the maximum.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory of the test file (put it on the disk to measure)")
	n := flag.Int("n", 500, "syncs to time")
	every := flag.Duration("every", 20*time.Millisecond, "pause between syncs")
	flag.Parse()
	if *n < 1 {
		log.Fatal("fsync: -n must be at least 1")
	}
	f, err := os.CreateTemp(*dir, "fsync-probe-")
	if err != nil {
		log.Fatalf("fsync: %v", err)
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	page := make([]byte, 4096)
	took := make([]time.Duration, 0, *n)
	for i := range *n {
		start := time.Now()
		if _, err := f.WriteAt(page, int64(i%64)*int64(len(page))); err != nil {
			log.Fatalf("fsync: write: %v", err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil { // as bbolt syncs on Linux
			log.Fatalf("fsync: sync: %v", err)
		}
		took = append(took, time.Since(start))
		time.Sleep(*every)
	}
	slices.Sort(took)
	at := func(p float64) time.Duration { return took[min(len(took)-1, int(float64(len(took))*p))] }
	fmt.Printf("syncs %d  p50 %v  p90 %v  p99 %v  max %v\n", len(took), at(0.5), at(0.9), at(0.99), took[len(took)-1])
}
