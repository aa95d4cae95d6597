// Command pcanswer answers price lookups through the Go binding, for the
// cross-language check (C, Go, Python and Node must answer alike).
//
// It reads lookups from stdin, one per line "chain<TAB>store<TAB>item"
// (store empty: the base price only), and prints one line per lookup:
// "ok<TAB>cents<TAB>updated_at<TAB>flags", "notfound", "nochain" or
// "error<TAB>CODE" (CODE the PC_* name, e.g. PC_EINVAL). The cache is
// $PRICECACHE_PATH, else /var/lib/pricecache.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"pricecache.dev/pricecache"
)

func main() {
	r, err := pricecache.Open("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcanswer:", err)
		os.Exit(1)
	}
	defer r.Close()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 16*1024*1024)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Split(in.Text(), "\t")
		if len(f) != 3 {
			c, _ := pricecache.CodeOf(pricecache.ErrInvalid)
			fmt.Fprintf(out, "error\t%s\n", c.String())
			continue
		}
		p, err := r.Get(f[0], f[1], f[2])
		switch {
		case err == nil:
			fmt.Fprintf(out, "ok\t%d\t%d\t%d\n", p.Cents, p.UpdatedAt.Unix(), p.Flags)
		case errors.Is(err, pricecache.ErrNotFound):
			fmt.Fprintln(out, "notfound")
		case errors.Is(err, pricecache.ErrNoChain):
			fmt.Fprintln(out, "nochain")
		default:
			if c, ok := pricecache.CodeOf(err); ok {
				fmt.Fprintf(out, "error\t%s\n", c.String())
			} else {
				fmt.Fprintf(out, "error\t%v\n", err)
			}
		}
	}
	if err := in.Err(); err != nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "pcanswer: stdin:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "pcanswer: stdout:", err)
		os.Exit(1)
	}
}
