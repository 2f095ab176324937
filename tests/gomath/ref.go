// ref.go: the Go side of tests/integration/test_gomath.sh. Reads lines
// "func hex64 [hex64]" (IEEE bits of the inputs; pow and atan2 take two) on
// stdin and prints the bits of Go's math result, one "hex64" line per input,
// for comparison with query/gomath.c through tests/gomath/dump.c. Function
// names are PromQL's (ln is math.Log); atan2 takes y then x, as math.Atan2.
// Build it with the Go that built Prometheus (Debian's go1.19 on amd64).
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

var unary = map[string]func(float64) float64{
	"exp": math.Exp, "ln": math.Log, "log2": math.Log2, "log10": math.Log10,
	"log1p": math.Log1p, "sin": math.Sin, "cos": math.Cos, "tan": math.Tan,
	"asin": math.Asin, "acos": math.Acos, "atan": math.Atan, "sinh": math.Sinh,
	"cosh": math.Cosh, "tanh": math.Tanh, "asinh": math.Asinh, "acosh": math.Acosh,
	"atanh": math.Atanh,
}

var binary = map[string]func(float64, float64) float64{
	"pow": math.Pow, "atan2": math.Atan2,
}

func arg(s string) float64 {
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ref: bad operand:", s)
		os.Exit(2)
	}
	return math.Float64frombits(u)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	buf := make([]byte, 0, 32)
	for in.Scan() {
		f := strings.Fields(in.Text())
		var r float64
		if len(f) == 0 {
			fmt.Fprintln(os.Stderr, "ref: empty input line")
			os.Exit(2)
		}
		if fn, ok := unary[f[0]]; ok && len(f) == 2 {
			r = fn(arg(f[1]))
		} else if fn, ok := binary[f[0]]; ok && len(f) == 3 {
			r = fn(arg(f[1]), arg(f[2]))
		} else {
			fmt.Fprintln(os.Stderr, "ref: bad input line:", in.Text())
			os.Exit(2)
		}
		hex := strconv.FormatUint(math.Float64bits(r), 16)
		buf = append(buf[:0], "0000000000000000"[len(hex):]...)
		buf = append(buf, hex...)
		buf = append(buf, '\n')
		out.Write(buf)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "ref:", err)
		os.Exit(2)
	}
}
