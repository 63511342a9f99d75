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
	vmsFile := flag.String("vms", "", "also read the VM hosts of this vms.json (scripts/vm.sh), as root")
	save := flag.String("save", "", "write the reading to this file")
	compare := flag.String("compare", "", "print what changed since the reading in this file")
	names := flag.String("names", "", "read only these hosts (comma-separated names); default: all")
	kernel := flag.Bool("kernel", false, "with -compare: only the kernel-wide values (vm.*, fs.*, kernel.*, transparent huge pages), and exit 1 if any changed")
	flag.Parse()
	if err := run(*hostsFile, *vmsFile, *names, *save, *compare, *kernel); err != nil {
		fmt.Fprintln(os.Stderr, "stackprobe:", err)
		os.Exit(1)
	}
}

func run(hostsFile, vmsFile, names, save, compare string, kernel bool) error {
	hosts, err := acctest.ReadHostsFile(hostsFile)
	if err != nil {
		return err
	}
	if vmsFile != "" {
		vms, err := acctest.ReadVMsFile(vmsFile)
		if err != nil {
			return err
		}
		for _, v := range vms {
			hosts = append(hosts, v.Host)
		}
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
		if kernel {
			return compareKernel(before, changes)
		}
		if len(changes) == 0 {
			fmt.Println("No differences: every value is as it was.")
			return nil
		}
		// The namespace hosts share one kernel: its values are shown once
		// (when they all changed alike).
		var all []string
		for _, h := range hosts {
			all = append(all, h.Name)
		}
		fmt.Print(stackprobe.Table(stackprobe.Collapse(changes, all)))
	}
	return nil
}

// compareKernel reports whether the kernel-wide values read now are those of
// the earlier reading.
func compareKernel(before stackprobe.Snapshot, changes []stackprobe.Change) error {
	changes = slices.DeleteFunc(changes, func(c stackprobe.Change) bool {
		return c.Layer != "host" || !stackprobe.KernelWide(c.Key)
	})
	if len(changes) > 0 {
		fmt.Print(stackprobe.Table(changes))
		return fmt.Errorf("%d kernel-wide values differ from the earlier reading", len(changes))
	}
	n := 0
	for _, r := range before {
		for k := range r["host"] {
			if stackprobe.KernelWide(k) {
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("the earlier reading has no kernel-wide values to compare")
	}
	fmt.Printf("As it was: the %d kernel-wide values read (vm.*, fs.*, kernel.*, transparent huge pages) are unchanged.\n", n)
	return nil
}
