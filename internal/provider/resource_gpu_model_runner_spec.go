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
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// Between the model runner's own attributes and modelrunner.Spec: the
// shared ones are the embedded containerModel's.

func (m *modelRunnerModel) specFrom(ctx context.Context, diags *diag.Diagnostics) (s modelrunner.Spec, known bool) {
	s, known = m.containerModel.specFrom(ctx, diags)
	known = known && !m.Server.IsUnknown() && !m.GPUDriver.IsUnknown()
	s.Server = modelrunner.Server(m.Server.ValueString())
	s.Knobs = m.knobs(&known)
	g, gknown, err := gpusFromDynamic(m.GPUs, m.GPUDriver.ValueString())
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root("gpus"), "Invalid GPU Request", err.Error()+".")
	case !gknown:
		known = false
	}
	s.GPUs = g
	return s, known
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

// setFrom writes an observed spec back into the model.
func (m *modelRunnerModel) setFrom(ctx context.Context, s modelrunner.Spec, prior modelrunner.Spec, diags *diag.Diagnostics) {
	m.containerModel.setFrom(ctx, s, prior, diags)
	m.Server = types.StringValue(string(s.Server))
	m.setKnobs(s.Knobs)
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

// planComputed sets the GPUs the spec hands the container.
func (m *modelRunnerModel) planComputed(ctx context.Context, s modelrunner.Spec, plan *tfsdk.Plan) diag.Diagnostics {
	return plan.SetAttribute(ctx, path.Root("gpu_ids"), s.GPUs.Assigned())
}

// setImportDefaults fills what an import cannot read from the container.
func (m *modelRunnerModel) setImportDefaults() {
	m.containerModel.setImportDefaults()
	m.GPUDriver = types.StringValue(modelrunner.DriverNVIDIA)
}

// nullRest sets every attribute of a fresh model but those an import ID
// gives to null, with its type.
func (m *modelRunnerModel) nullRest() {
	m.containerModel.nullRest()
	m.GPUIDs = types.ListNull(types.StringType)
	for _, s := range []*types.String{&m.GPUDriver, &m.Server, &m.Dtype, &m.Quantization, &m.TorchCompileMode, &m.CUDAAllocConf, &m.PythonMalloc} {
		*s = types.StringNull()
	}
	for _, i := range []*types.Int64{&m.MaxBatchSize, &m.TensorParallel, &m.MallocArenaMax} {
		*i = types.Int64Null()
	}
	m.GPUs = types.DynamicNull()
	m.GPUMemoryFraction = types.Float64Null()
	m.AllowTF32 = types.BoolNull()
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
