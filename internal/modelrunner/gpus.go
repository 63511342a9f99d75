package modelrunner

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// GPU device drivers.
const (
	DriverNVIDIA = "nvidia" // the NVIDIA Container Toolkit's hook, as `docker run --gpus`
	DriverCDI    = "cdi"    // Container Device Interface names, as `docker run --device nvidia.com/gpu=0`
)

// cdiKind is the CDI vendor/class of NVIDIA GPUs, for bare device names.
const cdiKind = "nvidia.com/gpu"

// maxGPUCount bounds a count well above any host's GPUs.
const maxGPUCount = 1024

// GPUs is a GPU request: all GPUs, a count, or device ids. The zero value
// requests none.
type GPUs struct {
	Driver string
	All    bool
	Count  int
	IDs    []string
}

// None reports whether no GPU is requested.
func (g GPUs) None() bool { return !g.All && g.Count == 0 && len(g.IDs) == 0 }

// ParseGPUs reads the gpus attribute's forms: "all", a count ("2"), or
// device ids (indexes, UUIDs, or CDI names with the cdi driver).
func ParseGPUs(driver string, single string, ids []string) (GPUs, error) {
	g := GPUs{Driver: driver}
	if g.Driver == "" {
		g.Driver = DriverNVIDIA
	}
	switch {
	case ids != nil:
		g.IDs = slices.Clone(ids)
	case single == "all":
		g.All = true
	default:
		n, err := strconv.Atoi(single)
		if err != nil || n < 1 {
			return GPUs{}, fmt.Errorf("%q is neither \"all\", a count of 1 or more, nor a list of device ids", single)
		}
		g.Count = n
	}
	if err := g.Validate(); err != nil {
		return GPUs{}, err
	}
	return g, nil
}

// Validate checks the request against its driver.
func (g GPUs) Validate() error {
	if g.Driver != DriverNVIDIA && g.Driver != DriverCDI {
		return fmt.Errorf("gpu_driver %q is not %q or %q", g.Driver, DriverNVIDIA, DriverCDI)
	}
	if g.Count < 0 {
		return errors.New("a GPU count must be 1 or more")
	}
	if g.Count > maxGPUCount {
		// Assigned lists them one by one.
		return fmt.Errorf("a GPU count of %d is more than any host has (at most %d)", g.Count, maxGPUCount)
	}
	if g.Driver == DriverCDI && g.Count > 0 {
		return fmt.Errorf("CDI requests name their devices: give a list such as [\"0\", \"1\"] (meaning %s=0 and %s=1), or \"all\"", cdiKind, cdiKind)
	}
	if g.IDs != nil && len(g.IDs) == 0 {
		return errors.New("the list of GPU ids is empty; remove gpus to request none")
	}
	seen := map[string]bool{}
	for _, id := range g.IDs {
		switch {
		case id == "" || strings.TrimSpace(id) != id:
			return fmt.Errorf("GPU id %q is empty or has surrounding spaces", id)
		case strings.ContainsAny(id, ", \t\n\""):
			return fmt.Errorf("GPU id %q has a comma, a space or a quote; give one id per list element", id)
		case g.Driver == DriverNVIDIA && strings.Contains(id, "="):
			return fmt.Errorf("GPU id %q is a CDI name; set gpu_driver = %q to use it", id, DriverCDI)
		case id == "all" || g.cdiName(id) == cdiKind+"=all":
			// The cdi driver's list ["all"] is the request gpus = "all" makes, and reads back as that.
			return fmt.Errorf("GPU id %q in a list: set gpus = \"all\" instead", id)
		case seen[g.cdiName(id)]:
			return fmt.Errorf("GPU id %q is listed twice", id)
		}
		seen[g.cdiName(id)] = true
	}
	return nil
}

// cdiName qualifies a bare id with the NVIDIA GPU kind, for the cdi driver.
func (g GPUs) cdiName(id string) string {
	if g.Driver == DriverCDI && !strings.Contains(id, "=") {
		return cdiKind + "=" + id
	}
	return id
}

// DeviceRequests is the request as HostConfig carries it: what
// `docker run --gpus` sends for the nvidia driver, and the CDI form that
// `docker run --device vendor/class=name` sends for cdi.
func (g GPUs) DeviceRequests() []container.DeviceRequest {
	if g.None() {
		return nil
	}
	if g.Driver == DriverCDI {
		ids := []string{cdiKind + "=all"}
		if !g.All {
			ids = make([]string, len(g.IDs))
			for i, id := range g.IDs {
				ids[i] = g.cdiName(id)
			}
		}
		return []container.DeviceRequest{{Driver: DriverCDI, DeviceIDs: ids}}
	}
	r := container.DeviceRequest{Driver: DriverNVIDIA, Capabilities: [][]string{{"gpu"}}}
	switch {
	case g.All:
		r.Count = -1
	case g.Count > 0:
		r.Count = g.Count
	default:
		r.DeviceIDs = slices.Clone(g.IDs)
	}
	return []container.DeviceRequest{r}
}

// GPUsFromDeviceRequests reads a request back from what the engine stored.
// ok is false when the requests are not one that DeviceRequests makes
// (another tool's, or several), so the caller shows them as drift.
func GPUsFromDeviceRequests(reqs []container.DeviceRequest) (g GPUs, ok bool) {
	if len(reqs) == 0 {
		return GPUs{}, true
	}
	if len(reqs) > 1 {
		return GPUs{}, false
	}
	r := reqs[0]
	switch r.Driver {
	case DriverCDI:
		g.Driver = DriverCDI
		if slices.Equal(r.DeviceIDs, []string{cdiKind + "=all"}) {
			g.All = true
			return g, true
		}
		g.IDs = slices.Clone(r.DeviceIDs)
		return g, len(g.IDs) > 0
	case DriverNVIDIA, "":
		// `docker run --gpus` leaves Driver empty; the engine picks nvidia by capability.
		g.Driver = DriverNVIDIA
		switch {
		case r.Count < 0:
			g.All = true
		case r.Count > 0:
			g.Count = r.Count
		default:
			g.IDs = slices.Clone(r.DeviceIDs)
		}
		return g, !g.None()
	}
	return GPUs{}, false
}

// Equal compares two requests; bare and qualified CDI names are the same.
func (g GPUs) Equal(o GPUs) bool {
	if g.None() || o.None() {
		return g.None() == o.None()
	}
	if g.Driver != o.Driver || g.All != o.All || g.Count != o.Count || len(g.IDs) != len(o.IDs) {
		return false
	}
	for i := range g.IDs {
		if g.cdiName(g.IDs[i]) != o.cdiName(o.IDs[i]) {
			return false
		}
	}
	return true
}

// Assigned is the GPUs the container is handed, as the engine's drivers
// decide from the request: the ids as given; "all"; or, for a count,
// indexes 0 to count-1. Docker does not schedule GPUs: two containers that
// each ask for one GPU both get GPU 0.
func (g GPUs) Assigned() []string {
	switch {
	case g.None():
		return []string{}
	case g.All:
		return []string{"all"}
	case g.Count > 0:
		out := make([]string, g.Count)
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return out
	}
	out := make([]string, len(g.IDs))
	for i, id := range g.IDs {
		out[i] = g.cdiName(id)
	}
	return out
}

// EngineGPU is what an engine's GET /info says of GPU support.
type EngineGPU struct {
	Runtimes       []string
	DefaultRuntime string
	CDISpecDirs    []string // empty: CDI off, or an engine too old to say
	// CDIDevices are DiscoveredDevices from the cdi driver (engines from API
	// 1.50); Discovered is false when the engine does not report them.
	CDIDevices []string
	Discovered bool
}

// CheckEngine says what is missing for g on the engine, or nil.
func CheckEngine(g GPUs, e EngineGPU) error {
	if g.None() {
		return nil
	}
	nvidiaDevices := slices.ContainsFunc(e.CDIDevices, func(d string) bool { return strings.HasPrefix(d, cdiKind+"=") })
	if g.Driver != DriverCDI { // "" is nvidia, as in DeviceRequests
		if slices.Contains(e.Runtimes, "nvidia") || nvidiaDevices {
			return nil
		}
		return fmt.Errorf("the engine reports no NVIDIA runtime (its runtimes: %s) and no CDI GPU devices. "+
			"Install the NVIDIA Container Toolkit on the host and register its runtime "+
			"(`nvidia-ctk runtime configure --runtime=docker`, or runtimes.nvidia in mcpai_docker_daemon_config), "+
			"or generate CDI specs (`nvidia-ctk cdi generate`) and set gpu_driver = %q",
			listOrNone(e.Runtimes), DriverCDI)
	}
	if len(e.CDISpecDirs) == 0 {
		return errors.New("the engine reports no CDI spec directories: CDI is off or the engine is older than " +
			"Docker 25. Enable the \"cdi\" feature in daemon.json (features.cdi = true) on Docker 25 to 27, " +
			"or use gpu_driver = \"nvidia\"")
	}
	if !e.Discovered {
		return nil
	}
	var missing []string
	for _, id := range g.DeviceRequests()[0].DeviceIDs {
		if !slices.Contains(e.CDIDevices, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the engine has no CDI device %s (it has: %s; spec directories: %s). "+
			"Generate the specs on the host with `nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`",
			strings.Join(missing, ", "), listOrNone(e.CDIDevices), strings.Join(e.CDISpecDirs, ", "))
	}
	return nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
