package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/loadtest"
)

var (
	_ resource.Resource                   = (*loadTestResource)(nil)
	_ resource.ResourceWithConfigure      = (*loadTestResource)(nil)
	_ resource.ResourceWithValidateConfig = (*loadTestResource)(nil)
)

const (
	// defaultLocustImage is Locust's official image, at the release whose
	// contract (entrypoint locust, statistics CSV) the resource was
	// written against.
	defaultLocustImage = "locustio/locust:2.12.1"
	onSLOMissFail      = "fail"
	onSLOMissWarn      = "warn"
	// Labels on a load container: which resource run made it, and when it
	// must be gone by (a later run removes one a killed run left).
	loadTestLabel         = "io.mcpai.load-test"
	loadTestDeadlineLabel = "io.mcpai.load-test.deadline"
	// loadGrace is what a run may take beyond its duration: starting,
	// Locust's stop timeout, copying the statistics out.
	loadGrace = 2 * time.Minute
	// reachTimeout bounds the check that the target answers TCP.
	reachTimeout = 5 * time.Second
)

type loadTestResource struct{ data *providerData }

func newLoadTestResource() resource.Resource { return &loadTestResource{} }

type loadTestModel struct {
	ID           types.String   `tfsdk:"id"`
	SSH          types.Object   `tfsdk:"ssh"`
	DockerSocket types.String   `tfsdk:"docker_socket"`
	Image        types.String   `tfsdk:"image"`
	Target       types.String   `tfsdk:"target"`
	Users        types.Int64    `tfsdk:"users"`
	SpawnRate    types.Float64  `tfsdk:"spawn_rate"`
	Duration     types.String   `tfsdk:"duration"`
	WaitTime     types.Object   `tfsdk:"wait_time"`
	Tasks        types.List     `tfsdk:"tasks"`
	SLO          types.Object   `tfsdk:"slo"`
	OnSLOMiss    types.String   `tfsdk:"on_slo_miss"`
	Triggers     types.Map      `tfsdk:"triggers"`
	Results      types.Object   `tfsdk:"results"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

type loadTaskModel struct {
	Method  types.String `tfsdk:"method"`
	Path    types.String `tfsdk:"path"`
	Weight  types.Int64  `tfsdk:"weight"`
	Body    types.String `tfsdk:"body"`
	Headers types.Map    `tfsdk:"headers"`
}

type waitTimeModel struct {
	Min types.String `tfsdk:"min"`
	Max types.String `tfsdk:"max"`
}

type sloModel struct {
	P95MS           types.Float64 `tfsdk:"p95_ms"`
	P99MS           types.Float64 `tfsdk:"p99_ms"`
	MaxFailureRatio types.Float64 `tfsdk:"max_failure_ratio"`
	MinRPS          types.Float64 `tfsdk:"min_rps"`
}

var loadResultsAttrTypes = map[string]attr.Type{
	"requests": types.Int64Type, "failures": types.Int64Type, "failure_ratio": types.Float64Type, "rps": types.Float64Type,
	"p50_ms": types.Float64Type, "p95_ms": types.Float64Type, "p99_ms": types.Float64Type, "max_ms": types.Float64Type,
	"passed": types.BoolType,
}

func (r *loadTestResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_load_test"
}

func (r *loadTestResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *loadTestResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	rerun := func(desc string) string { return desc + " Changing it runs the test again." }
	replaceStr := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	ssh := resourceSSHAttribute()
	ssh.MarkdownDescription = "The host the load runs on, as a container of its Docker engine (reached through a tunnel to `docker_socket`). " + ssh.MarkdownDescription
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs a bounded [Locust](https://locust.io) load test (headless) as a container on the `ssh` host against `target`, and records Locust's own statistics in `results`. " +
			"`terraform apply` runs it when the resource is created and again whenever an input or a `triggers` value changes, so a change to the stack can be followed by a performance regression test in the same run. " +
			"A missed objective in `slo` fails the apply, naming each objective with its measured value (or warns, with `on_slo_miss = \"warn\"`).\n\n" +
			"Plan never runs load, and reading the resource keeps the last results (it has no drift). The load container runs with the host's network, so `target` is the URL as seen from that host; it is removed after the run, whatever happens, and a run killed before it could remove it has its container removed by the next run on that host. " +
			"Before any load, the target's address must accept a TCP connection from the host, else the apply fails at once with the reason. Import is not supported: a load test's results exist only once it has run.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The run's identifier (a new one each run); the load container was named `mcpai-load-<id>`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ssh": ssh,
			"docker_socket": schema.StringAttribute{
				MarkdownDescription: "The engine's socket on the host. Default `" + defaultDockerSock + "`.",
				Optional:            true, Computed: true,
				Default:    stringdefault.StaticString(defaultDockerSock),
				Validators: []validator.String{stringvalidator.RegexMatches(absPathRE, "must be an absolute path")},
			},
			"image": schema.StringAttribute{
				MarkdownDescription: rerun("The image that runs Locust, pulled when the engine lacks it. It must keep the contract of Locust's official image: entrypoint `locust`, and `/tmp` writable by its user. Default `" + defaultLocustImage + "`."),
				Optional:            true, Computed: true,
				Default:       stringdefault.StaticString(defaultLocustImage),
				PlanModifiers: replaceStr,
			},
			"target": schema.StringAttribute{
				MarkdownDescription: rerun("The base URL under test as seen from the host, e.g. `http://127.0.0.1:8080` (Locust's `--host`)."),
				Required:            true,
				Validators:          []validator.String{stringCheck{"Invalid Target", "must be an http:// or https:// base URL", loadtest.CheckTarget}},
				PlanModifiers:       replaceStr,
			},
			"users": schema.Int64Attribute{
				MarkdownDescription: rerun(fmt.Sprintf("Simulated users at peak (1 to %d).", loadtest.MaxUsers)),
				Required:            true,
				Validators:          []validator.Int64{int64validator.Between(1, loadtest.MaxUsers)},
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			},
			"spawn_rate": schema.Float64Attribute{
				MarkdownDescription: rerun("Users started per second. Default: `users` (all in the first second)."),
				Optional:            true,
				Validators:          []validator.Float64{float64validator.Between(0.01, loadtest.MaxUsers)},
				PlanModifiers:       []planmodifier.Float64{float64planmodifier.RequiresReplace()},
			},
			"duration": schema.StringAttribute{
				MarkdownDescription: rerun("How long the load runs, whole seconds such as `30s` or `2m`; at most `10m`."),
				Required:            true,
				Validators:          []validator.String{stringCheck{"Invalid Duration", "must be whole seconds between 1s and 10m, e.g. 30s", checkLoadDuration}},
				PlanModifiers:       replaceStr,
			},
			"wait_time": schema.SingleNestedAttribute{
				MarkdownDescription: rerun("Each user's pause between tasks, a random time between `min` and `max` (Locust's `between`). Default: no pause."),
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"min": schema.StringAttribute{MarkdownDescription: "Shortest pause, e.g. `1s`.", Required: true, Validators: []validator.String{stringCheck{"Invalid Duration", "must be a duration such as 500ms", checkWaitDuration}}},
					"max": schema.StringAttribute{MarkdownDescription: "Longest pause, at most `1m`.", Required: true, Validators: []validator.String{stringCheck{"Invalid Duration", "must be a duration such as 3s", checkWaitDuration}}},
				},
				PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
			},
			"tasks": schema.ListNestedAttribute{
				MarkdownDescription: rerun("What each user does: weighted requests, as in the guide's locustfile. Each task is picked with probability `weight` / the sum of weights; its statistics are kept under `METHOD path`. A status of 400 or more counts as a failure."),
				Required:            true,
				Validators:          []validator.List{listvalidator.SizeBetween(1, loadtest.MaxTasks)},
				PlanModifiers:       []planmodifier.List{listplanmodifier.RequiresReplace()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"method": schema.StringAttribute{
						MarkdownDescription: "The HTTP method. Default `GET`.", Optional: true, Computed: true,
						Default:    stringdefault.StaticString("GET"),
						Validators: []validator.String{stringvalidator.OneOf(loadtest.Methods...)},
					},
					"path": schema.StringAttribute{
						MarkdownDescription: "The request path and query, starting with `/`.", Required: true,
						Validators: []validator.String{stringCheck{"Invalid Path", "must be a request path starting with /", loadtest.CheckPath}},
					},
					"weight": schema.Int64Attribute{
						MarkdownDescription: fmt.Sprintf("How often this task is picked relative to the others (1 to %d). Default `1`.", loadtest.MaxWeight),
						Optional:            true, Computed: true,
						Default:    int64default.StaticInt64(1),
						Validators: []validator.Int64{int64validator.Between(1, loadtest.MaxWeight)},
					},
					"body": schema.StringAttribute{MarkdownDescription: "The request body, sent as is (with POST, PUT or PATCH).", Optional: true},
					"headers": schema.MapAttribute{
						MarkdownDescription: "Request headers. Sensitive: plans and logs never show them, so an `Authorization` header's token stays hidden.", Optional: true, Sensitive: true, ElementType: types.StringType,
					},
				}},
			},
			"slo": schema.SingleNestedAttribute{
				MarkdownDescription: rerun("Objectives the run must meet; each is optional. Latencies are Locust's percentiles over all requests, in milliseconds."),
				Optional:            true,
				PlanModifiers:       []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				Attributes: map[string]schema.Attribute{
					"p95_ms":            schema.Float64Attribute{MarkdownDescription: "Highest 95th percentile response time.", Optional: true, Validators: []validator.Float64{float64validator.AtLeast(0)}},
					"p99_ms":            schema.Float64Attribute{MarkdownDescription: "Highest 99th percentile response time.", Optional: true, Validators: []validator.Float64{float64validator.AtLeast(0)}},
					"max_failure_ratio": schema.Float64Attribute{MarkdownDescription: "Highest share of failed requests, 0 to 1.", Optional: true, Validators: []validator.Float64{float64validator.Between(0, 1)}},
					"min_rps":           schema.Float64Attribute{MarkdownDescription: "Lowest rate of requests per second (Locust's `Requests/s`).", Optional: true, Validators: []validator.Float64{float64validator.AtLeast(0)}},
				},
			},
			"on_slo_miss": schema.StringAttribute{
				MarkdownDescription: rerun("`fail` (default): a missed objective fails the apply with each measured value, and nothing is recorded, so the next apply runs the test again. `warn`: a warning, and the results are recorded with `passed = false`."),
				Optional:            true, Computed: true,
				Default:       stringdefault.StaticString(onSLOMissFail),
				Validators:    []validator.String{stringvalidator.OneOf(onSLOMissFail, onSLOMissWarn)},
				PlanModifiers: replaceStr,
			},
			"triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values whose change runs the test again, e.g. the image IDs of the stack under test: a performance regression test on every change.",
				Optional:            true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"results": schema.SingleNestedAttribute{
				MarkdownDescription: "What the last run measured: Locust's own final statistics (its `Aggregated` entry, written by the locustfile when Locust quits), not derived again. `requests` and `failures` are counts; `failure_ratio` is failures / requests (1 when nothing was sent); `rps` is Locust's requests per second (requests over the time from the start of the run, ramp-up included, to the last request); `p50_ms`, `p95_ms`, `p99_ms` and `max_ms` are response times in milliseconds (Locust rounds times from 100 ms up to two significant digits); `passed` is whether every objective in `slo` was met.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				Attributes: map[string]schema.Attribute{
					"requests":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Requests sent."},
					"failures":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Requests that failed."},
					"failure_ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "failures / requests."},
					"rps":           schema.Float64Attribute{Computed: true, MarkdownDescription: "Requests per second."},
					"p50_ms":        schema.Float64Attribute{Computed: true, MarkdownDescription: "Median response time."},
					"p95_ms":        schema.Float64Attribute{Computed: true, MarkdownDescription: "95th percentile response time."},
					"p99_ms":        schema.Float64Attribute{Computed: true, MarkdownDescription: "99th percentile response time."},
					"max_ms":        schema.Float64Attribute{Computed: true, MarkdownDescription: "Slowest response."},
					"passed":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Every objective met."},
				},
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true}),
		},
	}
}

func checkLoadDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < loadtest.MinDuration || d > loadtest.MaxDuration || d%time.Second != 0 {
		return fmt.Errorf("%s is not whole seconds between 1s and 10m", s)
	}
	return nil
}

func checkWaitDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 || d > time.Minute {
		return fmt.Errorf("%s is not between 0s and 1m", s)
	}
	return nil
}

// specFrom reads the model into a spec. Unknown values read as zero, and a
// body whose method is unknown as none, so that the cross-field checks of a
// plan report only what they can see.
func (m *loadTestModel) specFrom(ctx context.Context, diags *diag.Diagnostics) (s loadtest.Spec, slo loadtest.SLO) {
	s.Target = m.Target.ValueString()
	s.Users = int(m.Users.ValueInt64())
	s.SpawnRate = float64(s.Users)
	if !m.SpawnRate.IsNull() {
		s.SpawnRate = m.SpawnRate.ValueFloat64()
	}
	s.Duration, _ = time.ParseDuration(m.Duration.ValueString())
	if !m.WaitTime.IsNull() && !m.WaitTime.IsUnknown() {
		var w waitTimeModel
		diags.Append(m.WaitTime.As(ctx, &w, asObject)...)
		if !w.Min.IsUnknown() && !w.Max.IsUnknown() {
			s.WaitMin, _ = time.ParseDuration(w.Min.ValueString())
			s.WaitMax, _ = time.ParseDuration(w.Max.ValueString())
		}
	}
	var tasks []loadTaskModel
	if !m.Tasks.IsUnknown() {
		diags.Append(m.Tasks.ElementsAs(ctx, &tasks, false)...)
	}
	for _, t := range tasks {
		headers, _ := stringMap(ctx, t.Headers, diags)
		task := loadtest.Task{Method: t.Method.ValueString(), Path: t.Path.ValueString(), Weight: int(t.Weight.ValueInt64()), Headers: headers}
		if task.Method == "" {
			task.Method = "GET" // the default, before the framework fills it in
		}
		if task.Weight == 0 && t.Weight.IsNull() {
			task.Weight = 1
		}
		if !t.Body.IsNull() && !t.Body.IsUnknown() && !t.Method.IsUnknown() {
			task.Body = t.Body.ValueStringPointer()
		}
		s.Tasks = append(s.Tasks, task)
	}
	if !m.SLO.IsNull() && !m.SLO.IsUnknown() {
		var sm sloModel
		diags.Append(m.SLO.As(ctx, &sm, asObject)...)
		f := func(v types.Float64) *float64 {
			if v.IsNull() || v.IsUnknown() {
				return nil
			}
			return v.ValueFloat64Pointer()
		}
		slo = loadtest.SLO{P95MS: f(sm.P95MS), P99MS: f(sm.P99MS), MaxFailureRatio: f(sm.MaxFailureRatio), MinRPS: f(sm.MinRPS)}
	}
	return s, slo
}

// attrPath turns a loadtest field ("tasks[1].path") into an attribute path.
func loadFieldPath(field string) path.Path {
	p := path.Empty()
	for _, part := range strings.Split(field, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		p = p.AtName(name)
		if hasIdx {
			var i int
			_, _ = fmt.Sscanf(idx, "%d]", &i)
			p = p.AtListIndex(i)
		}
	}
	if field == "wait" {
		return path.Root("wait_time")
	}
	return p
}

func (r *loadTestResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m loadTestModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	spec, _ := m.specFrom(ctx, &resp.Diagnostics)
	// Checks of single values are the schema's; these are the ones that
	// need more than one (a body on a GET, wait min <= max, headers).
	for _, e := range spec.Validate() {
		if !validateAcrossFields(e.Field) {
			continue
		}
		resp.Diagnostics.AddAttributeError(loadFieldPath(e.Field), "Invalid Load Test", e.Field+" "+e.Problem+".")
	}
}

// validateAcrossFields: the spec checks that schema validators cannot make,
// because they involve another value or a map's keys.
func validateAcrossFields(field string) bool {
	return field == "wait" || strings.HasSuffix(field, ".body") || strings.HasSuffix(field, ".headers")
}

func (r *loadTestResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m loadTestModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	spec, slo := m.specFrom(ctx, &resp.Diagnostics)
	for _, e := range spec.Validate() {
		resp.Diagnostics.AddAttributeError(loadFieldPath(e.Field), "Invalid Load Test", e.Field+" "+e.Problem+". Nothing was run.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, ok := withTimeout(ctx, m.Timeouts, timeouts.Value.Create, spec.Duration+loadGrace, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	client, diags := r.data.client(m.SSH)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	m.ID = types.StringValue(hex.EncodeToString(id))
	res, ok := r.run(ctx, client, &m, spec, &resp.Diagnostics)
	if !ok {
		return
	}
	misses := slo.Check(res)
	res.Passed = len(misses) == 0
	summary := loadSummary(res)
	tflog.Info(ctx, "load test finished", map[string]any{"target": spec.Target, "results": summary})
	if !res.Passed {
		lines := make([]string, len(misses))
		for i, miss := range misses {
			lines[i] = "  " + miss.String()
		}
		detail := fmt.Sprintf("The load test against %s from %s missed %d objective(s):\n%s\n\nMeasured: %s.",
			spec.Target, client.Config(), len(misses), strings.Join(lines, "\n"), summary)
		if m.OnSLOMiss.ValueString() == onSLOMissWarn {
			resp.Diagnostics.AddAttributeWarning(path.Root("slo"), "Load Test Missed Its Objectives", detail+" The results are recorded with passed = false (on_slo_miss = \"warn\").")
		} else {
			resp.Diagnostics.AddAttributeError(path.Root("slo"), "Load Test Missed Its Objectives", detail+
				" Nothing was recorded: the next apply runs the test again. Improve the service, or relax slo, or set on_slo_miss = \"warn\" to record the results anyway.")
			return
		}
	}
	m.Results = types.ObjectValueMust(loadResultsAttrTypes, map[string]attr.Value{
		"requests": types.Int64Value(res.Requests), "failures": types.Int64Value(res.Failures),
		"failure_ratio": types.Float64Value(res.FailureRatio), "rps": types.Float64Value(res.RPS),
		"p50_ms": types.Float64Value(res.P50), "p95_ms": types.Float64Value(res.P95), "p99_ms": types.Float64Value(res.P99),
		"max_ms": types.Float64Value(res.Max), "passed": types.BoolValue(res.Passed),
	})
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func loadSummary(r loadtest.Results) string {
	return fmt.Sprintf("%d requests, %d failed (ratio %.4g), %.4g requests/s, p50 %g ms, p95 %g ms, p99 %g ms, max %g ms",
		r.Requests, r.Failures, r.FailureRatio, r.RPS, r.P50, r.P95, r.P99, r.Max)
}

func (r *loadTestResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	// The results are what the last run measured: nothing on the host can
	// drift from them.
	var m loadTestModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *loadTestResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Only ssh credentials, docker_socket and timeouts change in place (any
	// other change replaces, i.e. runs again): the results stay.
	var m, state loadTestModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	m.ID, m.Results = state.ID, state.Results
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *loadTestResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// Nothing of a finished run remains on the host.
}
