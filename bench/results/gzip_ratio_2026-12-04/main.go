// Go compress/gzip at gzip.DefaultCompression: ratio and MB/s, REPS runs of >=1 s each.
// Usage: gzgo FILE [REPS]
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	reps := 3
	if len(os.Args) > 2 {
		reps, _ = strconv.Atoi(os.Args[2])
	}
	for r := 0; r < reps; r++ {
		var buf bytes.Buffer
		start := time.Now()
		n := 0
		for time.Since(start) < time.Second {
			buf.Reset()
			w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
			w.Write(data)
			w.Close()
			n++
		}
		el := time.Since(start).Seconds() / float64(n)
		fmt.Printf("go-default rep %d: %d -> %d bytes, ratio %.3f, %.1f MB/s (%d iters)\n", r, len(data), buf.Len(), float64(len(data))/float64(buf.Len()), float64(len(data))/el/1e6, n)
	}
}
