// Command stackprobe reads what the MCPAI stack tunes on the sandbox hosts
// and saves it, or prints what changed since a saved reading. `make demo`
// uses it:
//
//	go run ./internal/stackprobe/cmd -save before.json
//	go run ./internal/stackprobe/cmd -compare before.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mcpai/terraform-provider-mcpai/internal/acctest"
	"github.com/mcpai/terraform-provider-mcpai/internal/stackprobe"
)

func main() {
	hostsFile := flag.String("hosts", ".sandbox/hosts.json", "the sandbox's hosts.json")
	save := flag.String("save", "", "write the reading to this file")
	compare := flag.String("compare", "", "print what changed since the reading in this file")
	names := flag.String("names", "", "read only these hosts (comma-separated names); default: all")
	flag.Parse()
	if err := run(*hostsFile, *names, *save, *compare); err != nil {
		fmt.Fprintln(os.Stderr, "stackprobe:", err)
		os.Exit(1)
	}
}

func run(hostsFile, names, save, compare string) error {
	hosts, err := acctest.ReadHostsFile(hostsFile)
	if err != nil {
		return err
	}
	if names != "" {
		want := strings.Split(names, ",")
		hosts = slices.DeleteFunc(hosts, func(h acctest.Host) bool { return !slices.Contains(want, h.Name) })
		if len(hosts) != len(want) {
			return fmt.Errorf("%s lists %d of the hosts %s", hostsFile, len(hosts), names)
		}
	}
	now, err := stackprobe.Take(context.Background(), hosts)
	if err != nil {
		return err
	}
	if save != "" {
		data, err := json.MarshalIndent(now, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(save, data, 0o600); err != nil {
			return err
		}
	}
	if compare != "" {
		data, err := os.ReadFile(filepath.Clean(compare))
		if err != nil {
			return err
		}
		var before stackprobe.Snapshot
		if err := json.Unmarshal(data, &before); err != nil {
			return fmt.Errorf("%s: %w", compare, err)
		}
		// Only the hosts read now are compared.
		for name := range before {
			if _, ok := now[name]; !ok {
				delete(before, name)
			}
		}
		changes := stackprobe.Diff(before, now)
		if len(changes) == 0 {
			fmt.Println("No differences: every value is as it was.")
			return nil
		}
		// The sandbox's hosts share one kernel: its values are shown once.
		var all []string
		for _, h := range hosts {
			all = append(all, h.Name)
		}
		fmt.Print(stackprobe.Table(stackprobe.Collapse(changes, all)))
	}
	return nil
}
