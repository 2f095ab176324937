// ref.go: the Go side of tests/integration/test_fmtfloat_go.sh. Reads one
// hex64 per line on stdin (the IEEE bits of a float64) and prints, one line
// per input, strconv.FormatFloat(v, 'e', -1, 64) and FormatFloat(v, 'f', -1,
// 64) separated by one space, for comparison with core/fmtfloat.c's
// fmtfloat_e and fmtfloat_f through tests/fmtfloat/dump.c. With the argument
// "e" only the 'e' form is printed (long one-off runs: the 'f' form of a
// large or tiny value is hundreds of bytes). Standard library only; build it
// with the Go that built Prometheus (Debian's go1.19 on amd64).
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
)

func main() {
	withF := true
	if len(os.Args) == 2 && os.Args[1] == "e" {
		withF = false
	} else if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: ref [e] <hex64 lines")
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	buf := make([]byte, 0, 400)
	for in.Scan() {
		u, err := strconv.ParseUint(in.Text(), 16, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ref: bad input line:", in.Text())
			os.Exit(2)
		}
		v := math.Float64frombits(u)
		buf = strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
		if withF {
			buf = append(buf, ' ')
			buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		}
		buf = append(buf, '\n')
		out.Write(buf)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "ref:", err)
		os.Exit(2)
	}
}
