// Command nvidiahook is the sandbox's stand-in for the NVIDIA Container
// Toolkit's nvidia-container-runtime-hook (there is no GPU here).
// scripts/sandbox.sh installs it under that name in h2's /usr/sbin, where
// dockerd finds it on PATH at start and so registers its "nvidia" device
// driver (`--gpus`, DeviceRequests with capability "gpu").
//
// runc runs it as `nvidia-container-runtime-hook prestart` with the OCI state
// JSON on stdin. It reads config.json in the state's bundle and appends one
// line to /var/log/mcpai-nvidia-hook.log:
//
//	<container id> NVIDIA_VISIBLE_DEVICES=<v> NVIDIA_DRIVER_CAPABILITIES=<v>
//
// where <v> is the value in the container's environment, or "<unset>". It
// exits 0; on a malformed state or bundle it prints why on stderr and exits 1
// (runc then fails the start). It touches no devices.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const logPath = "/var/log/mcpai-nvidia-hook.log"

func main() {
	if len(os.Args) < 2 || os.Args[1] != "prestart" {
		fail("usage: nvidia-container-runtime-hook prestart < OCI state")
	}
	var state struct {
		ID     string `json:"id"`
		Bundle string `json:"bundle"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&state); err != nil {
		fail("reading the OCI state on stdin: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(state.Bundle, "config.json"))
	if err != nil {
		fail("%v", err)
	}
	var spec struct {
		Process struct {
			Env []string `json:"env"`
		} `json:"process"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail("%s: %v", filepath.Join(state.Bundle, "config.json"), err)
	}
	line := state.ID
	for _, k := range []string{"NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"} {
		v := "<unset>"
		for _, kv := range spec.Process.Env {
			if val, ok := strings.CutPrefix(kv, k+"="); ok {
				v = val // the first one, which getenv (Go, glibc) returns
				break
			}
		}
		line += " " + k + "=" + v
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fail("%v", err)
	}
	// One write per line: O_APPEND keeps concurrent hooks' lines whole.
	if _, err := f.WriteString(line + "\n"); err != nil {
		fail("%v", err)
	}
	if err := f.Close(); err != nil {
		fail("%v", err)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "nvidia-container-runtime-hook (mcpai mock): "+format+"\n", a...)
	os.Exit(1)
}
