package provider

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// Between the model and modelrunner.Spec. specFrom reports known = false
// while any value it needs is unknown (at plan time).

func (m modelRunnerModel) specFrom(ctx context.Context, diags *diag.Diagnostics) (s modelrunner.Spec, known bool) {
	known = true
	str := func(v types.String) string {
		if v.IsUnknown() {
			known = false
		}
		return v.ValueString()
	}
	i64 := func(v types.Int64) int64 {
		if v.IsUnknown() {
			known = false
		}
		return v.ValueInt64()
	}
	list := func(v types.List) []string {
		if v.IsUnknown() {
			known = false
			return nil
		}
		if v.IsNull() {
			return nil
		}
		out := []string{}
		diags.Append(v.ElementsAs(ctx, &out, false)...)
		return out
	}
	smap := func(v types.Map) map[string]string {
		if v.IsNull() {
			return nil
		}
		out, ok := stringMap(ctx, v, diags)
		if !ok {
			known = false
		}
		return out
	}
	size := func(v types.String, attrName string) int64 {
		if v.IsNull() || v.IsUnknown() {
			known = known && !v.IsUnknown()
			return 0
		}
		n, err := modelrunner.ParseSize(v.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root(attrName), "Invalid Size", err.Error()+".")
		}
		return n
	}
	s = modelrunner.Spec{
		Name:              str(m.Name),
		Image:             str(m.Image),
		Entrypoint:        list(m.Entrypoint),
		Command:           list(m.Command),
		Env:               smap(m.Env),
		SecretEnv:         smap(m.SensitiveEnv),
		NetworkMode:       str(m.NetworkMode),
		Networks:          list(m.Networks),
		Labels:            smap(m.Labels),
		Restart:           str(m.RestartPolicy),
		MaxRetries:        int(i64(m.MaxRetryCount)),
		LogDriver:         str(m.LogDriver),
		LogOpts:           smap(m.LogOpts),
		Memory:            size(m.Memory, "memory"),
		MemoryReservation: size(m.MemoryReservation, "memory_reservation"),
		ShmSize:           size(m.ShmSize, "shm_size"),
		Cpuset:            str(m.Cpuset),
		IpcMode:           str(m.IpcMode),
		Runtime:           str(m.Runtime),
		Server:            modelrunner.Server(str(m.Server)),
	}
	if !m.CPUs.IsNull() && !m.CPUs.IsUnknown() {
		n, err := modelrunner.ParseCPUs(m.CPUs.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("cpus"), "Invalid CPUs", err.Error()+".")
		}
		s.NanoCPUs = n
	} else if m.CPUs.IsUnknown() {
		known = false
	}
	for _, p := range elements[portModel](ctx, m.Ports, &known, diags) {
		s.Ports = append(s.Ports, modelrunner.Port{
			ContainerPort: int(i64(p.ContainerPort)), HostPort: int(i64(p.HostPort)),
			HostIP: str(p.HostIP), Protocol: str(p.Protocol),
		})
	}
	for _, v := range elements[volumeModel](ctx, m.Volumes, &known, diags) {
		known = known && !v.ReadOnly.IsUnknown()
		s.Volumes = append(s.Volumes, modelrunner.Volume{Source: str(v.Source), Target: str(v.Target), ReadOnly: v.ReadOnly.ValueBool()})
	}
	for _, u := range elements[ulimitModel](ctx, m.Ulimits, &known, diags) {
		s.Ulimits = append(s.Ulimits, modelrunner.Ulimit{Name: str(u.Name), Soft: i64(u.Soft), Hard: i64(u.Hard)})
	}
	s.Knobs = m.knobs(&known)
	g, gknown, err := gpusFromDynamic(m.GPUs, str(m.GPUDriver))
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root("gpus"), "Invalid GPU Request", err.Error()+".")
	case !gknown:
		known = false
	}
	s.GPUs = g
	return s, known
}

// elements decodes a nested list; an unknown list clears known.
func elements[T any](ctx context.Context, l types.List, known *bool, diags *diag.Diagnostics) []T {
	if l.IsUnknown() {
		*known = false
		return nil
	}
	var out []T
	if !l.IsNull() {
		diags.Append(l.ElementsAs(ctx, &out, false)...)
	}
	return out
}

func (m modelRunnerModel) knobs(known *bool) modelrunner.Knobs {
	var k modelrunner.Knobs
	i64 := func(v types.Int64) *int64 {
		*known = *known && !v.IsUnknown()
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		n := v.ValueInt64()
		return &n
	}
	str := func(v types.String) string {
		*known = *known && !v.IsUnknown()
		return v.ValueString()
	}
	if v := m.GPUMemoryFraction; !v.IsNull() && !v.IsUnknown() {
		f := v.ValueFloat64()
		k.GPUMemoryFraction = &f
	}
	if v := m.AllowTF32; !v.IsNull() && !v.IsUnknown() {
		b := v.ValueBool()
		k.AllowTF32 = &b
	}
	*known = *known && !m.GPUMemoryFraction.IsUnknown() && !m.AllowTF32.IsUnknown()
	k.Dtype = str(m.Dtype)
	k.Quantization = str(m.Quantization)
	k.MaxBatchSize = i64(m.MaxBatchSize)
	k.TensorParallel = i64(m.TensorParallel)
	k.TorchCompileMode = str(m.TorchCompileMode)
	k.CUDAAllocConf = str(m.CUDAAllocConf)
	k.PythonMalloc = str(m.PythonMalloc)
	k.MallocArenaMax = i64(m.MallocArenaMax)
	return k
}

// gpusFromDynamic reads gpus: "all" or a count (string or number), or a
// list of ids.
func gpusFromDynamic(v types.Dynamic, driver string) (modelrunner.GPUs, bool, error) {
	if v.IsNull() || v.IsUnderlyingValueNull() {
		return modelrunner.GPUs{Driver: driver}, true, nil
	}
	if v.IsUnknown() || v.IsUnderlyingValueUnknown() {
		return modelrunner.GPUs{Driver: driver}, false, nil
	}
	var elems []attr.Value
	switch u := v.UnderlyingValue().(type) {
	case types.String:
		g, err := modelrunner.ParseGPUs(driver, u.ValueString(), nil)
		return g, true, err
	case types.Number:
		f := u.ValueBigFloat()
		n, acc := f.Int64()
		if !f.IsInt() || acc != big.Exact {
			return modelrunner.GPUs{}, true, fmt.Errorf("%s is not a whole number of GPUs", f.String())
		}
		g, err := modelrunner.ParseGPUs(driver, strconv.FormatInt(n, 10), nil)
		return g, true, err
	case types.Tuple:
		elems = u.Elements()
	case types.List:
		elems = u.Elements()
	case types.Set:
		elems = u.Elements()
	default:
		return modelrunner.GPUs{}, true, fmt.Errorf("gpus is a %s; give \"all\", a count, or a list of device ids", v.UnderlyingValue().Type(context.Background()))
	}
	ids := make([]string, 0, len(elems))
	for i, e := range elems {
		if e.IsUnknown() {
			return modelrunner.GPUs{Driver: driver}, false, nil
		}
		var s string
		switch x := e.(type) {
		case types.String:
			s = x.ValueString()
		case types.Number:
			f := x.ValueBigFloat()
			n, acc := f.Int64()
			if !f.IsInt() || acc != big.Exact {
				return modelrunner.GPUs{}, true, fmt.Errorf("element %d (%s) is not a device id", i, f.String())
			}
			s = strconv.FormatInt(n, 10)
		default:
			return modelrunner.GPUs{}, true, fmt.Errorf("element %d is a %s, not a device id", i, e.Type(context.Background()))
		}
		ids = append(ids, s)
	}
	g, err := modelrunner.ParseGPUs(driver, "", ids)
	return g, true, err
}

// gpusDynamic writes a request in the attribute's plain forms.
func gpusDynamic(g modelrunner.GPUs) types.Dynamic {
	switch {
	case g.None():
		return types.DynamicNull()
	case g.All:
		return types.DynamicValue(types.StringValue("all"))
	case g.Count > 0:
		return types.DynamicValue(types.NumberValue(big.NewFloat(float64(g.Count))))
	}
	elems := make([]attr.Value, len(g.IDs))
	ts := make([]attr.Type, len(g.IDs))
	for i, id := range g.IDs {
		elems[i], ts[i] = types.StringValue(id), types.StringType
	}
	return types.DynamicValue(types.TupleValueMust(ts, elems))
}

// setFrom writes an observed spec back into the model, keeping the
// model's spelling of any value that means the same ("64g" for 68719476736).
func (m *modelRunnerModel) setFrom(ctx context.Context, s modelrunner.Spec, prior modelrunner.Spec, diags *diag.Diagnostics) {
	m.Image = types.StringValue(s.Image)
	m.Entrypoint = listOrNull(ctx, s.Entrypoint, diags)
	m.Command = listOrNull(ctx, s.Command, diags)
	m.Env = mapOrNull(s.Env, diags)
	m.SensitiveEnv = mapOrNull(s.SecretEnv, diags)
	m.Labels = mapOrNull(s.Labels, diags)
	m.LogOpts = mapOrNull(s.LogOpts, diags)
	m.Networks = listOrNull(ctx, s.Networks, diags)
	m.NetworkMode = types.StringValue(s.NetworkMode)
	m.RestartPolicy = types.StringValue(s.Restart)
	m.MaxRetryCount = types.Int64Value(int64(s.MaxRetries))
	m.LogDriver = types.StringValue(s.LogDriver)
	m.Memory = sizeKeeping(m.Memory, s.Memory, prior.Memory)
	m.MemoryReservation = sizeKeeping(m.MemoryReservation, s.MemoryReservation, prior.MemoryReservation)
	m.ShmSize = sizeKeeping(m.ShmSize, s.ShmSize, prior.ShmSize)
	if m.ShmSize.IsNull() && s.ShmSize != 0 {
		m.ShmSize = types.StringValue(modelrunner.FormatSize(s.ShmSize))
	}
	switch {
	case s.NanoCPUs == prior.NanoCPUs && !m.CPUs.IsUnknown():
	case s.NanoCPUs == 0:
		m.CPUs = types.StringNull()
	default:
		m.CPUs = types.StringValue(modelrunner.FormatCPUs(s.NanoCPUs))
	}
	m.Cpuset = stringOrNull(s.Cpuset)
	m.IpcMode = types.StringValue(s.IpcMode)
	m.Runtime = types.StringValue(s.Runtime)
	m.Server = types.StringValue(string(s.Server))
	m.setKnobs(s.Knobs)

	ports := make([]portModel, len(s.Ports))
	for i, p := range s.Ports {
		ports[i] = portModel{ContainerPort: types.Int64Value(int64(p.ContainerPort)), HostPort: int64OrNull(int64(p.HostPort)),
			HostIP: stringOrNull(p.HostIP), Protocol: types.StringValue(p.Protocol)}
	}
	m.Ports = nestedList(ctx, ports, portAttrTypes, m.Ports.IsNull() && len(ports) == 0, diags)
	vols := make([]volumeModel, len(s.Volumes))
	for i, v := range s.Volumes {
		vols[i] = volumeModel{Source: types.StringValue(v.Source), Target: types.StringValue(v.Target), ReadOnly: types.BoolValue(v.ReadOnly)}
	}
	m.Volumes = nestedList(ctx, vols, volumeAttrTypes, m.Volumes.IsNull() && len(vols) == 0, diags)
	uls := make([]ulimitModel, len(s.Ulimits))
	for i, u := range s.Ulimits {
		uls[i] = ulimitModel{Name: types.StringValue(u.Name), Soft: types.Int64Value(u.Soft), Hard: types.Int64Value(u.Hard)}
	}
	m.Ulimits = nestedList(ctx, uls, ulimitAttrTypes, m.Ulimits.IsNull() && len(uls) == 0, diags)

	if s.GPUs.Driver == "unknown" {
		// Device requests this resource does not make: shown as a change.
		m.GPUs = types.DynamicValue(types.StringValue("(set outside Terraform)"))
	} else if !s.GPUs.Equal(prior.GPUs) || m.GPUs.IsUnknown() {
		m.GPUs = gpusDynamic(s.GPUs)
		if !s.GPUs.None() {
			m.GPUDriver = types.StringValue(s.GPUs.Driver)
		}
	}
	gpuIDs, d := types.ListValueFrom(ctx, types.StringType, s.GPUs.Assigned())
	diags.Append(d...)
	m.GPUIDs = gpuIDs
}

func (m *modelRunnerModel) setKnobs(k modelrunner.Knobs) {
	f64 := func(p *float64) types.Float64 {
		if p == nil {
			return types.Float64Null()
		}
		return types.Float64Value(*p)
	}
	i64 := func(p *int64) types.Int64 {
		if p == nil {
			return types.Int64Null()
		}
		return types.Int64Value(*p)
	}
	m.GPUMemoryFraction = f64(k.GPUMemoryFraction)
	if k.AllowTF32 == nil {
		m.AllowTF32 = types.BoolNull()
	} else {
		m.AllowTF32 = types.BoolValue(*k.AllowTF32)
	}
	m.Dtype = stringOrNull(k.Dtype)
	m.Quantization = stringOrNull(k.Quantization)
	m.MaxBatchSize = i64(k.MaxBatchSize)
	m.TensorParallel = i64(k.TensorParallel)
	m.TorchCompileMode = stringOrNull(k.TorchCompileMode)
	m.CUDAAllocConf = stringOrNull(k.CUDAAllocConf)
	m.PythonMalloc = stringOrNull(k.PythonMalloc)
	m.MallocArenaMax = i64(k.MallocArenaMax)
}

func sizeKeeping(cur types.String, seen, prior int64) types.String {
	switch {
	case seen == prior && !cur.IsUnknown():
		return cur
	case seen == 0:
		return types.StringNull()
	}
	return types.StringValue(modelrunner.FormatSize(seen))
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func int64OrNull(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}

func listOrNull(ctx context.Context, l []string, diags *diag.Diagnostics) types.List {
	if l == nil {
		return types.ListNull(types.StringType)
	}
	v, d := types.ListValueFrom(ctx, types.StringType, l)
	diags.Append(d...)
	return v
}

func mapOrNull(m map[string]string, diags *diag.Diagnostics) types.Map {
	if m == nil {
		return types.MapNull(types.StringType)
	}
	return mapValue(m, diags)
}

func nestedList[T any](ctx context.Context, items []T, attrTypes map[string]attr.Type, null bool, diags *diag.Diagnostics) types.List {
	t := types.ObjectType{AttrTypes: attrTypes}
	if null {
		return types.ListNull(t)
	}
	v, d := types.ListValueFrom(ctx, t, items)
	diags.Append(d...)
	return v
}

// knobAttrs are the tuning attributes, for errors that point at them.
var knobAttrs = []string{
	modelrunner.AttrGPUMemoryFraction, modelrunner.AttrAllowTF32, modelrunner.AttrDtype, modelrunner.AttrQuantization,
	modelrunner.AttrMaxBatchSize, modelrunner.AttrTensorParallel, modelrunner.AttrTorchCompileMode,
	modelrunner.AttrCUDAAllocConf, modelrunner.AttrPythonMalloc, modelrunner.AttrMallocArenaMax,
}

// problemPath is where a modelrunner problem points in the schema.
func problemPath(p modelrunner.Problem) path.Path {
	switch {
	case p.Attr == "env":
		return path.Root("env").AtMapKey(p.Key)
	case p.Attr == "command", p.Attr == "server", slices.Contains(knobAttrs, p.Attr):
		return path.Root(p.Attr)
	}
	return path.Root("server")
}
