package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/moby/moby/api/types/container"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
)

// Between the shared attributes and modelrunner.Spec. specFrom reports
// known = false while any value it needs is unknown (at plan time).

func (m *containerModel) specFrom(ctx context.Context, diags *diag.Diagnostics) (s modelrunner.Spec, known bool) {
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

// setFrom writes an observed spec back into the model, keeping the
// model's spelling of any value that means the same ("64g" for 68719476736).
func (m *containerModel) setFrom(ctx context.Context, s modelrunner.Spec, prior modelrunner.Spec, diags *diag.Diagnostics) {
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

func (m *containerModel) setStatus(c container.InspectResponse, img engine.Image) {
	m.ID = types.StringValue(c.ID)
	m.State = types.StringValue("")
	m.Health = types.StringValue("")
	if c.State != nil {
		m.State = types.StringValue(string(c.State.Status))
		if c.State.Health != nil {
			m.Health = types.StringValue(string(c.State.Health.Status))
		}
	}
	m.ImageID = types.StringValue(c.Image)
	ref := c.Image
	if c.Config != nil {
		ref = c.Config.Image
	}
	m.ImageDigest = types.StringValue(img.DigestFor(ref))
}

func (m *containerModel) common() *containerModel { return m }

// planComputed: a general container has no attributes its spec derives.
func (m *containerModel) planComputed(context.Context, modelrunner.Spec, *tfsdk.Plan) diag.Diagnostics {
	return nil
}

// setImportDefaults fills what an import cannot read from the container.
func (m *containerModel) setImportDefaults() {
	m.UpdateStrategy = types.StringValue(strategyRecreate)
}

// nullRest sets every attribute of a fresh model but those an import ID
// gives to null, with its type.
func (m *containerModel) nullRest() {
	m.ID = types.StringNull()
	m.Image = types.StringNull()
	m.RegistryAuth = types.ObjectNull(map[string]attr.Type{"username": types.StringType, "password": types.StringType, "server_address": types.StringType})
	for _, l := range []*types.List{&m.Entrypoint, &m.Command, &m.Networks} {
		*l = types.ListNull(types.StringType)
	}
	for _, mp := range []*types.Map{&m.Env, &m.SensitiveEnv, &m.Labels, &m.LogOpts} {
		*mp = types.MapNull(types.StringType)
	}
	m.Ports = types.ListNull(types.ObjectType{AttrTypes: portAttrTypes})
	m.Volumes = types.ListNull(types.ObjectType{AttrTypes: volumeAttrTypes})
	m.Ulimits = types.ListNull(types.ObjectType{AttrTypes: ulimitAttrTypes})
	for _, s := range []*types.String{&m.NetworkMode, &m.RestartPolicy, &m.LogDriver, &m.Memory, &m.MemoryReservation, &m.CPUs,
		&m.Cpuset, &m.ShmSize, &m.IpcMode, &m.Runtime, &m.HealthPath, &m.UpdateStrategy, &m.State, &m.Health, &m.ImageID, &m.ImageDigest} {
		*s = types.StringNull()
	}
	for _, i := range []*types.Int64{&m.MaxRetryCount, &m.HealthPort} {
		*i = types.Int64Null()
	}
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType,
	})}
}

// secrets are the values no diagnostic or log line about the container may
// show: sensitive_env's values and the registry password. A failed start
// reports the container's logs, which may print its environment.
func (m *containerModel) secrets(ctx context.Context) []string {
	var out []string
	if !m.SensitiveEnv.IsNull() && !m.SensitiveEnv.IsUnknown() {
		for _, v := range m.SensitiveEnv.Elements() {
			if s, ok := v.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
				out = append(out, s.ValueString())
			}
		}
	}
	if !m.RegistryAuth.IsNull() && !m.RegistryAuth.IsUnknown() {
		var a registryAuthModel
		if d := m.RegistryAuth.As(ctx, &a, asObject); !d.HasError() {
			out = append(out, a.Password.ValueString())
		}
	}
	return out
}
