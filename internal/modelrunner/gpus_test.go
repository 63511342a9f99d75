package modelrunner

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

var parseGPUsCases = []struct {
	driver, single string
	ids            []string
	want           GPUs
	err            string // substring of the error; "" means no error
}{
	{"", "all", nil, GPUs{Driver: DriverNVIDIA, All: true}, ""},
	{DriverNVIDIA, "all", nil, GPUs{Driver: DriverNVIDIA, All: true}, ""},
	{"", "2", nil, GPUs{Driver: DriverNVIDIA, Count: 2}, ""},
	{DriverNVIDIA, "1", nil, GPUs{Driver: DriverNVIDIA, Count: 1}, ""},
	{"", "0", nil, GPUs{}, "count of 1 or more"},
	{"", "-1", nil, GPUs{}, "count of 1 or more"},
	{"", "x", nil, GPUs{}, `"x" is neither`},
	{"", "", nil, GPUs{}, "neither"},
	{"", " 2", nil, GPUs{}, "neither"},
	{"", "1.5", nil, GPUs{}, "neither"},
	{"", "ALL", nil, GPUs{}, "neither"},
	{"", "99999999999999999999", nil, GPUs{}, "neither"},
	{"", "1024", nil, GPUs{Driver: DriverNVIDIA, Count: 1024}, ""},
	{"", "1025", nil, GPUs{}, "more than any host has"},
	{"", "999999999999", nil, GPUs{}, "more than any host has"}, // Assigned would list them all
	{DriverCDI, "all", nil, GPUs{Driver: DriverCDI, All: true}, ""},
	{DriverCDI, "2", nil, GPUs{}, "CDI requests name their devices"},
	{"amd", "all", nil, GPUs{}, `gpu_driver "amd"`},
	{"NVIDIA", "1", nil, GPUs{}, "gpu_driver"},

	{"", "", []string{"0"}, GPUs{Driver: DriverNVIDIA, IDs: []string{"0"}}, ""},
	{"", "", []string{"1", "0"}, GPUs{Driver: DriverNVIDIA, IDs: []string{"1", "0"}}, ""},
	{DriverNVIDIA, "", []string{"GPU-8f6b2c1e-7a51-4a7e-9e4c-1b2b3c4d5e6f", "MIG-0"},
		GPUs{Driver: DriverNVIDIA, IDs: []string{"GPU-8f6b2c1e-7a51-4a7e-9e4c-1b2b3c4d5e6f", "MIG-0"}}, ""},
	{"", "all", []string{"3"}, GPUs{Driver: DriverNVIDIA, IDs: []string{"3"}}, ""}, // the list wins
	{"", "", []string{}, GPUs{}, "list of GPU ids is empty"},
	{"", "", []string{"0", "0"}, GPUs{}, `"0" is listed twice`},
	{"", "", []string{"0,1"}, GPUs{}, "comma"},
	{"", "", []string{"0 1"}, GPUs{}, "space"},
	{"", "", []string{"0\t1"}, GPUs{}, "space"},
	{"", "", []string{`0"`}, GPUs{}, "quote"},
	{"", "", []string{" 0"}, GPUs{}, "surrounding spaces"},
	{"", "", []string{""}, GPUs{}, "empty"},
	{"", "", []string{"0", ""}, GPUs{}, "empty"},
	{"", "", []string{"nvidia.com/gpu=0"}, GPUs{}, "is a CDI name; set gpu_driver = \"cdi\""},
	{"", "", []string{"all"}, GPUs{}, `set gpus = "all"`},
	{DriverCDI, "", []string{"all"}, GPUs{}, `set gpus = "all"`},
	{DriverCDI, "", []string{"0", "nvidia.com/gpu=all"}, GPUs{}, `set gpus = "all"`},
	{DriverCDI, "", []string{"0", "nvidia.com/gpu=1", "GPU-abc"},
		GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1", "GPU-abc"}}, ""},
	{DriverCDI, "", []string{"vendor.com/class=dev"}, GPUs{Driver: DriverCDI, IDs: []string{"vendor.com/class=dev"}}, ""},
	{DriverCDI, "", []string{"0", "nvidia.com/gpu=0"}, GPUs{}, "listed twice"},
	{DriverCDI, "", []string{}, GPUs{}, "empty"},
}

func TestParseGPUs(t *testing.T) {
	for _, tc := range parseGPUsCases {
		got, err := ParseGPUs(tc.driver, tc.single, tc.ids)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseGPUs(%q, %q, %q) = %+v, %v; want an error with %q", tc.driver, tc.single, tc.ids, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseGPUs(%q, %q, %q) = %+v, %v; want %+v", tc.driver, tc.single, tc.ids, got, err, tc.want)
		}
	}
}

func TestParseGPUsCopiesTheList(t *testing.T) {
	ids := []string{"0", "1"}
	g, err := ParseGPUs("", "", ids)
	if err != nil {
		t.Fatal(err)
	}
	ids[0] = "7"
	if g.IDs[0] != "0" {
		t.Errorf("the request shares the caller's list: %q", g.IDs)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		g  GPUs
		ok bool
	}{
		{GPUs{Driver: DriverNVIDIA}, true},
		{GPUs{Driver: DriverNVIDIA, Count: -1}, false},
		{GPUs{Driver: ""}, false},
		{GPUs{Driver: DriverCDI, Count: 1}, false},
		{GPUs{Driver: DriverNVIDIA, IDs: []string{}}, false},
	} {
		if err := tc.g.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.g, err, tc.ok)
		}
	}
}

var gpuCaps = [][]string{{"gpu"}}

var deviceRequestCases = []struct {
	g    GPUs
	want []container.DeviceRequest
}{
	{GPUs{}, nil},
	{GPUs{Driver: DriverCDI}, nil},
	// As `docker run --gpus all|2|device=0,1` sends them.
	{GPUs{Driver: DriverNVIDIA, All: true}, []container.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: gpuCaps}}},
	{GPUs{Driver: DriverNVIDIA, Count: 2}, []container.DeviceRequest{{Driver: "nvidia", Count: 2, Capabilities: gpuCaps}}},
	{GPUs{Driver: DriverNVIDIA, IDs: []string{"0", "GPU-abc"}},
		[]container.DeviceRequest{{Driver: "nvidia", DeviceIDs: []string{"0", "GPU-abc"}, Capabilities: gpuCaps}}},
	{GPUs{Count: 1}, []container.DeviceRequest{{Driver: "nvidia", Count: 1, Capabilities: gpuCaps}}},
	// As `docker run --device nvidia.com/gpu=all|0` sends them.
	{GPUs{Driver: DriverCDI, All: true}, []container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=all"}}}},
	{GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1", "vendor.com/x=y"}},
		[]container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "vendor.com/x=y"}}}},
}

func TestDeviceRequests(t *testing.T) {
	for _, tc := range deviceRequestCases {
		got := tc.g.DeviceRequests()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v.DeviceRequests() = %+v, want %+v", tc.g, got, tc.want)
		}
		if len(got) == 1 && len(tc.g.IDs) > 0 && &got[0].DeviceIDs[0] == &tc.g.IDs[0] {
			t.Errorf("%+v.DeviceRequests() shares the request's ids", tc.g)
		}
	}
}

var fromDeviceRequestCases = []struct {
	name string
	reqs []container.DeviceRequest
	want GPUs
	ok   bool
}{
	{"none", nil, GPUs{}, true},
	{"none, empty", []container.DeviceRequest{}, GPUs{}, true},
	{"docker CLI --gpus all: no driver", []container.DeviceRequest{{Count: -1, Capabilities: gpuCaps}}, GPUs{Driver: DriverNVIDIA, All: true}, true},
	{"docker CLI --gpus 2", []container.DeviceRequest{{Count: 2, Capabilities: gpuCaps}}, GPUs{Driver: DriverNVIDIA, Count: 2}, true},
	{"docker CLI --gpus device=1,0", []container.DeviceRequest{{DeviceIDs: []string{"1", "0"}, Capabilities: gpuCaps}},
		GPUs{Driver: DriverNVIDIA, IDs: []string{"1", "0"}}, true},
	{"nvidia all", []container.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: gpuCaps}}, GPUs{Driver: DriverNVIDIA, All: true}, true},
	{"nvidia, nothing asked", []container.DeviceRequest{{Driver: "nvidia", Capabilities: gpuCaps}}, GPUs{}, false},
	{"cdi all", []container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=all"}}}, GPUs{Driver: DriverCDI, All: true}, true},
	{"cdi ids", []container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}}},
		GPUs{Driver: DriverCDI, IDs: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}}, true},
	{"cdi, nothing asked", []container.DeviceRequest{{Driver: "cdi"}}, GPUs{Driver: DriverCDI}, false},
	{"another driver", []container.DeviceRequest{{Driver: "amd", Count: 1}}, GPUs{}, false},
	{"two requests", []container.DeviceRequest{{Driver: "nvidia", Count: 1}, {Driver: "nvidia", Count: 1}}, GPUs{}, false},
}

func TestGPUsFromDeviceRequests(t *testing.T) {
	for _, tc := range fromDeviceRequestCases {
		got, ok := GPUsFromDeviceRequests(tc.reqs)
		if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: GPUsFromDeviceRequests(%+v) = %+v, %v; want %+v, %v", tc.name, tc.reqs, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDeviceRequestsRoundTrip(t *testing.T) {
	for _, tc := range parseGPUsCases {
		g, err := ParseGPUs(tc.driver, tc.single, tc.ids)
		if err != nil {
			continue
		}
		reqs := g.DeviceRequests()
		back, ok := GPUsFromDeviceRequests(reqs)
		if !ok || !back.Equal(g) || !g.Equal(back) {
			t.Errorf("%+v: DeviceRequests %+v read back as %+v, %v", g, reqs, back, ok)
		}
		if g.Driver == DriverNVIDIA { // as the engine stores the docker CLI's request
			reqs[0].Driver = ""
			if back, ok := GPUsFromDeviceRequests(reqs); !ok || !back.Equal(g) {
				t.Errorf("%+v: without a driver read back as %+v, %v", g, back, ok)
			}
		}
	}
}

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b GPUs
		want bool
	}{
		{GPUs{}, GPUs{}, true},
		{GPUs{}, GPUs{Driver: DriverNVIDIA}, true},
		{GPUs{Driver: DriverCDI}, GPUs{Driver: DriverNVIDIA}, true},
		{GPUs{}, GPUs{Driver: DriverNVIDIA, Count: 1}, false},
		{GPUs{Driver: DriverNVIDIA, All: true}, GPUs{Driver: DriverNVIDIA, All: true}, true},
		{GPUs{Driver: DriverNVIDIA, All: true}, GPUs{Driver: DriverCDI, All: true}, false},
		{GPUs{Driver: DriverNVIDIA, All: true}, GPUs{Driver: DriverNVIDIA, Count: 1}, false},
		{GPUs{Driver: DriverNVIDIA, Count: 1}, GPUs{Driver: DriverNVIDIA, Count: 2}, false},
		{GPUs{Driver: DriverNVIDIA, IDs: []string{"0", "1"}}, GPUs{Driver: DriverNVIDIA, IDs: []string{"0", "1"}}, true},
		// The order is the containers' device order.
		{GPUs{Driver: DriverNVIDIA, IDs: []string{"0", "1"}}, GPUs{Driver: DriverNVIDIA, IDs: []string{"1", "0"}}, false},
		{GPUs{Driver: DriverNVIDIA, IDs: []string{"0"}}, GPUs{Driver: DriverNVIDIA, IDs: []string{"0", "1"}}, false},
		{GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1"}}, GPUs{Driver: DriverCDI, IDs: []string{"nvidia.com/gpu=0", "1"}}, true},
		{GPUs{Driver: DriverNVIDIA, IDs: []string{"0"}}, GPUs{Driver: DriverCDI, IDs: []string{"0"}}, false},
		{GPUs{Driver: "unknown"}, GPUs{Driver: DriverNVIDIA, Count: 1}, false},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%+v.Equal(%+v) = %v", tc.a, tc.b, got)
		}
		if got := tc.b.Equal(tc.a); got != tc.want {
			t.Errorf("%+v.Equal(%+v) = %v", tc.b, tc.a, got)
		}
	}
}

func TestAssigned(t *testing.T) {
	for _, tc := range []struct {
		g    GPUs
		want []string
	}{
		{GPUs{}, []string{}},
		{GPUs{Driver: DriverNVIDIA, All: true}, []string{"all"}},
		{GPUs{Driver: DriverCDI, All: true}, []string{"all"}},
		// The nvidia driver hands a count out from index 0, whatever else runs.
		{GPUs{Driver: DriverNVIDIA, Count: 3}, []string{"0", "1", "2"}},
		{GPUs{Driver: DriverNVIDIA, IDs: []string{"GPU-abc", "1"}}, []string{"GPU-abc", "1"}},
		{GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1"}}, []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}},
	} {
		got := tc.g.Assigned()
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("%+v.Assigned() = %#v, want %q", tc.g, got, tc.want)
		}
	}
}

var checkEngineCases = []struct {
	name   string
	g      GPUs
	e      EngineGPU
	want   []string // substrings of the error; nil means no error
	absent []string
}{
	{"no GPUs asks nothing", GPUs{}, EngineGPU{}, nil, nil},
	{"nvidia runtime", GPUs{Driver: DriverNVIDIA, All: true},
		EngineGPU{Runtimes: []string{"io.containerd.runc.v2", "nvidia", "runc"}, DefaultRuntime: "runc"}, nil, nil},
	{"no driver is nvidia", GPUs{Count: 1}, EngineGPU{Runtimes: []string{"nvidia"}}, nil, nil},
	{"nvidia without a runtime names what it has", GPUs{Driver: DriverNVIDIA, Count: 1},
		EngineGPU{Runtimes: []string{"io.containerd.runc.v2", "runc"}},
		[]string{"no NVIDIA runtime", "its runtimes: io.containerd.runc.v2, runc", "nvidia-ctk runtime configure", `gpu_driver = "cdi"`}, nil},
	{"nvidia, no runtimes at all", GPUs{Driver: DriverNVIDIA, Count: 1}, EngineGPU{}, []string{"its runtimes: none"}, nil},
	{"nvidia served by CDI devices", GPUs{Driver: DriverNVIDIA, IDs: []string{"0"}},
		EngineGPU{Runtimes: []string{"runc"}, CDISpecDirs: []string{"/etc/cdi"}, CDIDevices: []string{"nvidia.com/gpu=0"}, Discovered: true}, nil, nil},
	{"another vendor's CDI devices are not NVIDIA's", GPUs{Driver: DriverNVIDIA, Count: 1},
		EngineGPU{Runtimes: []string{"runc"}, CDISpecDirs: []string{"/etc/cdi"}, CDIDevices: []string{"amd.com/gpu=0"}, Discovered: true},
		[]string{"no NVIDIA runtime"}, nil},
	{"CDI off", GPUs{Driver: DriverCDI, All: true}, EngineGPU{Runtimes: []string{"nvidia"}},
		[]string{"no CDI spec directories", "features.cdi", `gpu_driver = "nvidia"`}, nil},
	{"CDI on, devices not reported", GPUs{Driver: DriverCDI, IDs: []string{"0"}}, EngineGPU{CDISpecDirs: []string{"/etc/cdi", "/var/run/cdi"}}, nil, nil},
	{"CDI devices found", GPUs{Driver: DriverCDI, IDs: []string{"0", "nvidia.com/gpu=1"}},
		EngineGPU{CDISpecDirs: []string{"/etc/cdi"}, CDIDevices: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=all"}, Discovered: true}, nil, nil},
	{"CDI all found", GPUs{Driver: DriverCDI, All: true},
		EngineGPU{CDISpecDirs: []string{"/etc/cdi"}, CDIDevices: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=all"}, Discovered: true}, nil, nil},
	{"CDI devices missing are named", GPUs{Driver: DriverCDI, IDs: []string{"0", "1", "2"}},
		EngineGPU{CDISpecDirs: []string{"/etc/cdi", "/var/run/cdi"}, CDIDevices: []string{"nvidia.com/gpu=0", "nvidia.com/gpu=all"}, Discovered: true},
		[]string{"no CDI device nvidia.com/gpu=1, nvidia.com/gpu=2", "it has: nvidia.com/gpu=0, nvidia.com/gpu=all",
			"spec directories: /etc/cdi, /var/run/cdi", "nvidia-ctk cdi generate"}, []string{"device nvidia.com/gpu=0"}},
	{"CDI, none discovered", GPUs{Driver: DriverCDI, All: true},
		EngineGPU{CDISpecDirs: []string{"/etc/cdi"}, Discovered: true}, []string{"no CDI device nvidia.com/gpu=all", "it has: none"}, nil},
}

func TestCheckEngine(t *testing.T) {
	for _, tc := range checkEngineCases {
		err := CheckEngine(tc.g, tc.e)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: CheckEngine = %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: CheckEngine = nil, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: CheckEngine = %q, without %q", tc.name, err, w)
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(err.Error(), a) {
				t.Errorf("%s: CheckEngine = %q, with %q", tc.name, err, a)
			}
		}
	}
}
