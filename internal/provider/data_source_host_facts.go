package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/hostfacts"
)

var (
	_ datasource.DataSource                   = (*hostFactsDataSource)(nil)
	_ datasource.DataSourceWithConfigure      = (*hostFactsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*hostFactsDataSource)(nil)
)

type hostFactsDataSource struct {
	data *providerData
}

func newHostFactsDataSource() datasource.DataSource { return &hostFactsDataSource{} }

type diskModel struct {
	Name       types.String `tfsdk:"name"`
	Rotational types.Bool   `tfsdk:"rotational"`
	SizeBytes  types.Int64  `tfsdk:"size_bytes"`
}

type gpuModel struct {
	Index         types.Int64  `tfsdk:"index"`
	Name          types.String `tfsdk:"name"`
	MemoryBytes   types.Int64  `tfsdk:"memory_bytes"`
	DriverVersion types.String `tfsdk:"driver_version"`
	UUID          types.String `tfsdk:"uuid"`
}

type dockerModel struct {
	ServerVersion  types.String `tfsdk:"server_version"`
	Runtimes       []string     `tfsdk:"runtimes"`
	DefaultRuntime types.String `tfsdk:"default_runtime"`
}

type hostFactsModel struct {
	SSH                        types.Object `tfsdk:"ssh"`
	ID                         types.String `tfsdk:"id"`
	CPUCount                   types.Int64  `tfsdk:"cpu_count"`
	MemoryBytes                types.Int64  `tfsdk:"memory_bytes"`
	NUMANodes                  types.Int64  `tfsdk:"numa_nodes"`
	Kernel                     types.String `tfsdk:"kernel"`
	Architecture               types.String `tfsdk:"architecture"`
	OSID                       types.String `tfsdk:"os_id"`
	OSVersion                  types.String `tfsdk:"os_version"`
	OSPrettyName               types.String `tfsdk:"os_pretty_name"`
	Disks                      []diskModel  `tfsdk:"disks"`
	TransparentHugepageEnabled types.String `tfsdk:"transparent_hugepage_enabled"`
	TransparentHugepageDefrag  types.String `tfsdk:"transparent_hugepage_defrag"`
	CPUGovernors               []string     `tfsdk:"cpu_governors"`
	CPUGovernor                types.String `tfsdk:"cpu_governor"`
	GPUs                       []gpuModel   `tfsdk:"gpus"`
	Docker                     *dockerModel `tfsdk:"docker"`
}

func (d *hostFactsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host_facts"
}

func (d *hostFactsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Facts about a host, gathered in one SSH round trip, for sizing the other resources (e.g. PostgreSQL memory from `memory_bytes`, workers from `cpu_count`).",
		Attributes: map[string]schema.Attribute{
			"ssh":            dataSourceSSHAttribute(),
			"id":             str("The host's address."),
			"cpu_count":      num("Online CPUs."),
			"memory_bytes":   num("Total memory (MemTotal) in bytes."),
			"numa_nodes":     num("Online NUMA nodes (1 on a host that exposes none)."),
			"kernel":         str("Kernel release (`uname -r`)."),
			"architecture":   str("Machine architecture (`uname -m`), e.g. `x86_64`."),
			"os_id":          str("`ID` from /etc/os-release, e.g. `debian`."),
			"os_version":     str("`VERSION_ID` from /etc/os-release, e.g. `12`."),
			"os_pretty_name": str("`PRETTY_NAME` from /etc/os-release."),
			"disks": schema.ListNestedAttribute{
				MarkdownDescription: "Whole block devices (loop, ram and zram devices left out), sorted by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":       str("Device name, e.g. `nvme0n1`."),
					"rotational": schema.BoolAttribute{MarkdownDescription: "Whether the kernel reports a spinning disk (SSD cost settings depend on it).", Computed: true},
					"size_bytes": num("Size in bytes."),
				}},
			},
			"transparent_hugepage_enabled": str("Transparent huge pages mode (`always`, `madvise` or `never`); empty where the kernel has none."),
			"transparent_hugepage_defrag":  str("Transparent huge pages defrag mode; empty where the kernel has none."),
			"cpu_governors":                schema.ListAttribute{MarkdownDescription: "Available CPU frequency governors; empty where the host has no cpufreq (most VMs).", Computed: true, ElementType: types.StringType},
			"cpu_governor":                 str("Current CPU frequency governor of cpu0; empty where the host has no cpufreq."),
			"gpus": schema.ListNestedAttribute{
				MarkdownDescription: "NVIDIA GPUs as nvidia-smi reports them; empty where there is none or no driver.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"index":          num("GPU index."),
					"name":           str("Model name."),
					"memory_bytes":   num("Total GPU memory in bytes."),
					"driver_version": str("NVIDIA driver version."),
					"uuid":           str("GPU UUID."),
				}},
			},
			"docker": schema.SingleNestedAttribute{
				MarkdownDescription: "The Docker engine, when one answers; null otherwise.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"server_version":  str("Engine version."),
					"runtimes":        schema.ListAttribute{MarkdownDescription: "Configured runtimes, sorted (e.g. `nvidia`, `runc`).", Computed: true, ElementType: types.StringType},
					"default_runtime": str("Default runtime."),
				},
			},
		},
	}
}

func (d *hostFactsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *hostFactsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
}

func (d *hostFactsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m hostFactsModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	client, diags := d.data.client(m.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	out, err := client.Output(ctx, hostfacts.Command(), nil)
	if err != nil {
		resp.Diagnostics.Append(hostError("Unable to Read Host Facts", "Gathering facts", client, err))
		return
	}
	facts, err := hostfacts.Parse(out)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Host Facts", "The host's answer could not be understood: "+err.Error()+". Please report this with the host's OS.")
		return
	}
	setFacts(&m, facts)
	m.ID = types.StringValue(client.Config().Host)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// setFacts copies parsed facts into the model; lists are never null, so
// `length()` works on a host without GPUs or governors.
func setFacts(m *hostFactsModel, f hostfacts.Facts) {
	m.CPUCount = types.Int64Value(f.CPUCount)
	m.MemoryBytes = types.Int64Value(f.MemoryBytes)
	m.NUMANodes = types.Int64Value(f.NUMANodes)
	m.Kernel = types.StringValue(f.Kernel)
	m.Architecture = types.StringValue(f.Architecture)
	m.OSID = types.StringValue(f.OS.ID)
	m.OSVersion = types.StringValue(f.OS.VersionID)
	m.OSPrettyName = types.StringValue(f.OS.PrettyName)
	m.TransparentHugepageEnabled = types.StringValue(f.THPMode)
	m.TransparentHugepageDefrag = types.StringValue(f.THPDefrag)
	m.CPUGovernors = append([]string{}, f.CPUGovernors...)
	m.CPUGovernor = types.StringValue(f.CurrentGovernor)
	m.Disks = []diskModel{}
	for _, d := range f.Disks {
		m.Disks = append(m.Disks, diskModel{Name: types.StringValue(d.Name), Rotational: types.BoolValue(d.Rotational), SizeBytes: types.Int64Value(d.SizeBytes)})
	}
	m.GPUs = []gpuModel{}
	for _, g := range f.GPUs {
		m.GPUs = append(m.GPUs, gpuModel{Index: types.Int64Value(g.Index), Name: types.StringValue(g.Name), MemoryBytes: types.Int64Value(g.MemoryBytes), DriverVersion: types.StringValue(g.DriverVersion), UUID: types.StringValue(g.UUID)})
	}
	m.Docker = nil
	if f.Docker != nil {
		m.Docker = &dockerModel{ServerVersion: types.StringValue(f.Docker.ServerVersion), Runtimes: append([]string{}, f.Docker.Runtimes...), DefaultRuntime: types.StringValue(f.Docker.DefaultRuntime)}
	}
}
