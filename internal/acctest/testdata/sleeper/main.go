// Command sleeper is the process of the sandbox's test image
// mcpai-sleeper:test (FROM scratch, built static by scripts/sandbox.sh): it
// does nothing until SIGTERM or SIGINT, then exits 0, so a container of it
// runs until it is stopped and stops at once. With an address argument
// (e.g. ":8080") it also accepts TCP connections there and answers each
// with one line, "mcpai-sleeper", for tests of published ports. With
// "-nofile" it prints its soft open-file limit and exits, for tests of the
// daemon's default ulimits.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if len(os.Args) > 1 && os.Args[1] == "-nofile" {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Fprintln(os.Stderr, "sleeper:", err)
			os.Exit(1)
		}
		fmt.Println(lim.Cur)
		return
	}
	if len(os.Args) > 1 {
		ln, err := net.Listen("tcp", os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "sleeper:", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = fmt.Fprintln(c, "mcpai-sleeper")
				_ = c.Close()
			}
		}()
	}
	<-stop
}
