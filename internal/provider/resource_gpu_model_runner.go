package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

var (
	_ resource.Resource                     = (*modelRunnerResource)(nil)
	_ resource.ResourceWithConfigure        = (*modelRunnerResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*modelRunnerResource)(nil)
	_ resource.ResourceWithConfigValidators = (*modelRunnerResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*modelRunnerResource)(nil)
	_ resource.ResourceWithImportState      = (*modelRunnerResource)(nil)
)

const (
	// Loading a large model takes minutes: the wait's default is generous.
	defaultReadyTimeout = 30 * time.Minute
	readyInterval       = 250 * time.Millisecond
	readyProgressEvery  = 10 * time.Second
	stopGrace           = 30 * time.Second
	nextSuffix          = "-mcpai-next"
	oldSuffix           = "-mcpai-old"
)

type modelRunnerResource struct {
	data *providerData
}

func newModelRunnerResource() resource.Resource { return &modelRunnerResource{} }

func (r *modelRunnerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_gpu_model_runner"
}

func (r *modelRunnerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = modelRunnerSchema(ctx)
}

func (r *modelRunnerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *modelRunnerResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("ssh"), path.MatchRoot("docker_host"))}
}

func (r *modelRunnerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m modelRunnerModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if !m.SSH.IsNull() {
		resp.Diagnostics.Append(insecureWarning(ctx, req.Config, path.Root("ssh"))...)
	}
	if strings.HasPrefix(m.DockerHost.ValueString(), "tcp://") {
		resp.Diagnostics.AddAttributeWarning(path.Root("docker_host"), "Unencrypted Docker API",
			"docker_host over plain tcp:// sends the Engine API (which amounts to root on the host) and registry_auth unencrypted, "+
				"and readiness probes go to the host port the server's port is published on. Prefer ssh, or a unix socket where Terraform runs on the host.")
	}
	if m.Server.IsUnknown() {
		return
	}
	known := true
	knobs := m.knobs(&known)
	server := modelrunner.Server(m.Server.ValueString())
	rendered, probs := modelrunner.Render(server, knobs)
	if known && len(probs) == 0 {
		var command []string
		if !m.Command.IsUnknown() && !m.Command.IsNull() {
			resp.Diagnostics.Append(m.Command.ElementsAs(ctx, &command, false)...)
		}
		env, _ := stringMap(ctx, m.Env, &resp.Diagnostics)
		secret, _ := stringMap(ctx, m.SensitiveEnv, &resp.Diagnostics)
		if env == nil {
			env = map[string]string{}
		}
		for k := range secret {
			if _, ok := env[k]; ok {
				resp.Diagnostics.AddAttributeError(path.Root("sensitive_env").AtMapKey(k), "Variable Set Twice",
					fmt.Sprintf("%s is in both env and sensitive_env. Keep it in one (sensitive_env for a secret).", k))
			}
			env[k] = secret[k]
		}
		probs = modelrunner.Conflicts(rendered, command, env)
	}
	for _, p := range probs {
		resp.Diagnostics.AddAttributeError(problemPath(p), p.Summary, p.Detail)
	}
	if !m.GPUDriver.IsUnknown() {
		if _, _, err := gpusFromDynamic(m.GPUs, m.GPUDriver.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("gpus"), "Invalid GPU Request", err.Error()+".")
		}
	}
	if m.MaxRetryCount.ValueInt64() > 0 && !m.RestartPolicy.IsUnknown() && m.RestartPolicy.ValueString() != "on-failure" {
		resp.Diagnostics.AddAttributeError(path.Root("max_retry_count"), "Retry Count Without on-failure",
			"max_retry_count applies only to restart_policy = \"on-failure\". Set that policy, or remove max_retry_count.")
	}
	if server == modelrunner.Custom && m.HealthPath.IsNull() {
		resp.Diagnostics.AddAttributeWarning(path.Root("health_path"), "No Readiness Endpoint",
			"server = \"custom\" has no known readiness endpoint: readiness is the image's HEALTHCHECK or, without one, the container running. "+
				"Set health_path (and health_port) to wait until your server answers.")
	}
}

// engineFor opens the engine the model points at.
func (r *modelRunnerResource) engineFor(m modelRunnerModel) (*engine.Engine, *remote.Client, diag.Diagnostics) {
	if !m.DockerHost.IsNull() {
		eng, err := engine.NewHost(m.DockerHost.ValueString())
		if err != nil {
			var diags diag.Diagnostics
			diags.AddAttributeError(path.Root("docker_host"), "Invalid Docker Host",
				fmt.Sprintf("A Docker client for %s could not be made: %v. Give unix:///path/to/docker.sock or tcp://host:port.", m.DockerHost.ValueString(), err))
			return nil, nil, diags
		}
		return eng, nil, nil
	}
	client, diags := r.data.client(m.SSH)
	if diags.HasError() {
		return nil, nil, diags
	}
	eng, err := engine.New(client.Dial, m.DockerSocket.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("docker_socket"), "Invalid Docker Socket",
			fmt.Sprintf("A Docker client for the socket %s could not be made: %v. Give the engine's socket path on the host.", m.DockerSocket.ValueString(), err))
		return nil, nil, diags
	}
	return eng, client, diags
}

// engineError names an SSH failure as such, else the engine's answer.
func engineError(summary, action string, client *remote.Client, m modelRunnerModel, err error) diag.Diagnostic {
	if d, ok := tunnelError(summary, client, err); ok {
		return d
	}
	where := m.DockerHost.ValueString()
	if client != nil {
		where = fmt.Sprintf("the engine at %s on %s", m.DockerSocket.ValueString(), client.Config())
	}
	return diag.NewErrorDiagnostic(summary, fmt.Sprintf("%s (%s): %v", action, where, err))
}

func (r *modelRunnerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan modelRunnerModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	var diags diag.Diagnostics
	newSpec, known := plan.specFrom(ctx, &diags)
	if known && !diags.HasError() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("gpu_ids"), newSpec.GPUs.Assigned())...)
	}
	if req.State.Raw.IsNull() {
		return
	}
	var state modelRunnerModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	oldSpec, _ := state.specFrom(ctx, &diags)
	if !known || diags.HasError() {
		resp.Diagnostics.Append(unknownStatus(ctx, &resp.Plan)...)
		return
	}
	change, fields := modelrunner.Plan(oldSpec, newSpec)
	stopped := state.State.ValueString() != "running"
	switch change {
	case modelrunner.Replace:
		resp.Diagnostics.Append(unknownStatus(ctx, &resp.Plan)...)
		// What the configuration leaves to the engine goes back to the
		// engine's default on a new container (kept from state otherwise).
		for _, a := range engineDefaultedAttrs {
			var v types.String
			resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(a), &v)...)
			if v.IsNull() {
				resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(a), types.StringUnknown())...)
			}
		}
		how := "The old container is stopped and the new one started; if it does not become ready, the old one is started again."
		if plan.UpdateStrategy.ValueString() == strategyStartFirst {
			if clash := startFirstClash(oldSpec, newSpec); clash != "" {
				how = "update_strategy = \"start_first\" cannot be honoured: " + clash + ". " + how
			} else {
				how = "The new container starts first and must be ready before the old one is removed (both run at once: " +
					"they share the host's GPUs and memory meanwhile)."
			}
		}
		resp.Diagnostics.AddWarning("Container Will Be Replaced",
			fmt.Sprintf("%s cannot change in place on %s (Docker fixes it at create). %s", strings.Join(fields, ", "), plan.Name.ValueString(), how))
	default:
		for _, a := range []string{"id", "health", "image_id", "image_digest"} {
			var v types.String
			resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(a), &v)...)
			if a == "health" && (change == modelrunner.InPlace || stopped) {
				// A restart or new limits re-run the HEALTHCHECK.
				v = types.StringUnknown()
			}
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(a), v)...)
		}
		// A container found stopped, paused or restarting is drift: the plan
		// shows it running.
		st := state.State
		if stopped {
			st = types.StringValue("running")
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("state"), st)...)
	}
}

// statusAttrs are what a container reports of itself; a new container's
// are known only after apply.
var statusAttrs = []string{"id", "state", "health", "image_id", "image_digest"}

func unknownStatus(ctx context.Context, plan *tfsdk.Plan) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, a := range statusAttrs {
		diags.Append(plan.SetAttribute(ctx, path.Root(a), types.StringUnknown())...)
	}
	return diags
}

// engineDefaultedAttrs are the attributes the engine picks when unset.
var engineDefaultedAttrs = []string{"network_mode", "log_driver", "shm_size", "ipc_mode", "runtime"}

// startFirstClash says why the two containers cannot run side by side,
// or "": the same published host port, or the host's network (where the
// new server's port is the old one's, and a probe would reach the old one).
func startFirstClash(a, b modelrunner.Spec) string {
	if a.NetworkMode == "host" || b.NetworkMode == "host" {
		return "with network_mode = \"host\" both servers would listen on the same host ports"
	}
	if p := hostPortClash(a, b); p != "" {
		return "both containers would publish host port " + p
	}
	return ""
}

// hostPortClash names a host port both specs publish, or "".
func hostPortClash(a, b modelrunner.Spec) string {
	for _, p := range a.Ports {
		for _, q := range b.Ports {
			if p.HostPort != 0 && p.HostPort == q.HostPort && p.Protocol == q.Protocol {
				return fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
			}
		}
	}
	return ""
}

func (r *modelRunnerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelRunnerModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	ctx, op, done, diags := r.begin(ctx, plan, plan.Timeouts.Create)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	if _, found, err := op.eng.Inspect(ctx, op.spec.Name); err != nil {
		resp.Diagnostics.Append(op.fail("Docker Engine Error", "Looking for an existing container", err))
		return
	} else if found {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Container Name In Use",
			fmt.Sprintf("A container named %s already exists on the host. Import it (terraform import with %s), remove it, or choose another name. Nothing was changed.",
				op.spec.Name, "the host and the name"))
		return
	}
	id, err := op.createAndStart(ctx, op.spec.Name)
	if err != nil {
		resp.Diagnostics.Append(op.startFailure(err, "Nothing was left on the host: the new container was removed.", func() error {
			return op.eng.Remove(context.WithoutCancel(ctx), id)
		}))
		return
	}
	if d := op.record(ctx, id, &plan); d.HasError() {
		// Without its id in state the container would be orphaned.
		resp.Diagnostics.Append(d...)
		if err := op.eng.Remove(context.WithoutCancel(ctx), id); err != nil {
			resp.Diagnostics.AddError("Container Left Behind", fmt.Sprintf("%s (%s) could not be read back nor removed: %v. Remove it (docker rm -f %s) before the next apply.", op.spec.Name, id, err, op.spec.Name))
		}
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// operation is one apply step's context: the engine, the desired spec and
// the model it came from.
type operation struct {
	r      *modelRunnerResource
	eng    *engine.Engine
	client *remote.Client
	model  modelRunnerModel
	spec   modelrunner.Spec
	image  engine.Image
}

func (op *operation) fail(summary, action string, err error) diag.Diagnostic {
	return engineError(summary, action, op.client, op.model, err)
}

// begin opens the engine and checks everything before anything changes:
// the spec, the GPUs against the engine, CPUs and memory against the host,
// and the image (pulled when absent).
func (r *modelRunnerResource) begin(ctx context.Context, m modelRunnerModel,
	timeoutOf func(context.Context, time.Duration) (time.Duration, diag.Diagnostics),
) (context.Context, *operation, func(), diag.Diagnostics) {
	var diags diag.Diagnostics
	spec, _ := m.specFrom(ctx, &diags)
	if diags.HasError() {
		return ctx, nil, nil, diags
	}
	ctx, op, done, d := r.open(ctx, m, timeoutOf, defaultReadyTimeout)
	if diags.Append(d...); diags.HasError() {
		return ctx, nil, nil, diags
	}
	op.spec = spec
	if diags.Append(op.preflight(ctx)...); diags.HasError() {
		done()
		return ctx, nil, nil, diags
	}
	return ctx, op, done, diags
}

// preflight checks the spec against the engine and gets the image.
func (op *operation) preflight(ctx context.Context) diag.Diagnostics {
	var diags diag.Diagnostics
	spec, m := op.spec, op.model
	info, err := op.eng.Host(ctx)
	if err != nil {
		diags.Append(op.fail("Docker Engine Unreachable", "Reading the engine's /info", err))
		return diags
	}
	if err := modelrunner.CheckEngine(spec.GPUs, info.GPU); err != nil {
		diags.AddAttributeError(path.Root("gpus"), "No GPU Support On The Docker Host",
			fmt.Sprintf("gpus asks for %s GPUs, but %v. Nothing was created.", spec.GPUs.Driver, err))
	}
	if spec.NanoCPUs > int64(info.NCPU)*1e9 {
		diags.AddAttributeError(path.Root("cpus"), "More CPUs Than The Host Has",
			fmt.Sprintf("cpus = %s, but the engine reports %d CPUs. Lower cpus. Nothing was created.", m.CPUs.ValueString(), info.NCPU))
	}
	if spec.Cpuset != "" {
		if err := modelrunner.CheckCPUSet(spec.Cpuset, info.NCPU); err != nil {
			diags.AddAttributeError(path.Root("cpuset"), "CPU Set Outside The Host", err.Error()+". Nothing was created.")
		}
	}
	if spec.Memory > info.MemTotal && info.MemTotal > 0 {
		diags.AddAttributeError(path.Root("memory"), "More Memory Than The Host Has",
			fmt.Sprintf("memory = %s, but the host has %s. Lower memory. Nothing was created.", m.Memory.ValueString(), modelrunner.FormatSize(info.MemTotal)))
	}
	if diags.HasError() {
		return diags
	}
	img, err := op.ensureImage(ctx)
	if err != nil {
		diags.Append(diag.NewAttributeErrorDiagnostic(path.Root("image"), "Image Not Available", err.Error()))
		return diags
	}
	op.image = img
	op.spec.ImageCmd = img.Cmd
	return diags
}

func (op *operation) ensureImage(ctx context.Context) (engine.Image, error) {
	ref := op.spec.Image
	img, found, err := op.eng.InspectImage(ctx, ref)
	if err != nil {
		return img, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	if found {
		return img, nil
	}
	auth, err := registryAuth(ctx, op.model.RegistryAuth)
	if err != nil {
		return img, err
	}
	tflog.Info(ctx, "pulling image", map[string]any{"image": ref})
	if err := op.eng.Pull(ctx, ref, auth, func(line string) {
		tflog.Info(ctx, "pull progress", map[string]any{"image": ref, "status": line})
	}); err != nil {
		return img, fmt.Errorf("the host does not have %s and pulling it failed: %v. Check the name and tag, give registry_auth for a private registry, "+
			"or load the image on the host (docker load) when it has no registry access. Nothing was created", ref, err)
	}
	img, found, err = op.eng.InspectImage(ctx, ref)
	if err == nil && !found {
		err = errors.New("the engine reported the pull done but has no such image")
	}
	return img, err
}

func registryAuth(ctx context.Context, obj types.Object) (string, error) {
	if obj.IsNull() || obj.IsUnknown() {
		return "", nil
	}
	var a registryAuthModel
	if d := obj.As(ctx, &a, asObject); d.HasError() {
		return "", errors.New("registry_auth could not be read")
	}
	return authconfig.Encode(registry.AuthConfig{Username: a.Username.ValueString(), Password: a.Password.ValueString(), ServerAddress: a.ServerAddress.ValueString()})
}

// createAndStart creates the container under name, starts it and waits
// until it is ready. The id is returned when a container was created, also
// on error, for the caller to clean up.
func (op *operation) createAndStart(ctx context.Context, name string) (string, error) {
	cfg, host, nets, err := op.spec.Create()
	if err != nil {
		return "", err
	}
	var more []string
	if len(op.spec.Networks) > 1 {
		more = op.spec.Networks[1:]
	}
	id, err := op.eng.Create(ctx, name, cfg, host, nets, more)
	if err != nil {
		return id, fmt.Errorf("create: %w", err)
	}
	return id, op.waitReady(ctx, id, true)
}

// waitReady waits for the server in container id, starting it first with
// start.
func (op *operation) waitReady(ctx context.Context, id string, start bool) error {
	rd := engine.Readiness{Interval: readyInterval, ProgressEvery: readyProgressEvery}
	rd.Path, rd.Port = op.health()
	rd.Progress = func(waited time.Duration, status string) {
		tflog.Info(ctx, "waiting for the model server", map[string]any{"container": op.spec.Name, "waited": waited.String(), "status": status})
	}
	why, err := op.eng.WaitReady(ctx, id, rd, start)
	if err == nil {
		tflog.Info(ctx, "model server ready", map[string]any{"container": op.spec.Name, "why": why})
	}
	return err
}

// health is the readiness endpoint: the attributes', else the kind's.
func (op *operation) health() (string, int) {
	h := modelrunner.DefaultHealth(op.spec.Server)
	if !op.model.HealthPath.IsNull() {
		h.Path = op.model.HealthPath.ValueString()
	}
	if h.Port == 0 {
		h.Port = 8000
	}
	if !op.model.HealthPort.IsNull() {
		h.Port = int(op.model.HealthPort.ValueInt64())
	}
	return h.Path, h.Port
}

// startFailure turns a failed start into a diagnostic: why, the server's
// last log lines, what was done about it (undo runs first) and what to do.
//
// undo returns what it could not do; undone then gives way to that.
func (op *operation) startFailure(err error, undone string, undo func() error) diag.Diagnostic {
	var we *engine.WaitError
	var logs string
	if errors.As(err, &we) && len(we.Logs) > 0 {
		logs = "\n\nLast log lines of the container:\n  " + strings.Join(we.Logs, "\n  ")
	}
	if undo != nil {
		if uerr := undo(); uerr != nil {
			undone = "Putting things back did not fully work: " + uerr.Error() + ". Check the host's containers (docker ps -a) before the next apply."
		}
	}
	switch {
	case we != nil && we.TimedOut:
		return diag.NewErrorDiagnostic("Model Server Not Ready In Time",
			fmt.Sprintf("%s %s, %s.%s\n\n%s Raise the timeouts block's create/update value if the model needs longer to load.", op.spec.Name, op.where(), we.Why, logs, undone))
	case we != nil:
		return diag.NewErrorDiagnostic("Model Server Failed To Start",
			fmt.Sprintf("%s %s: %s.%s\n\n%s", op.spec.Name, op.where(), we.Why, logs, undone))
	}
	return engineError("Model Server Failed To Start", "Creating and starting "+op.spec.Name, op.client, op.model,
		fmt.Errorf("%w. %s", err, undone))
}

func (op *operation) where() string {
	if op.client != nil {
		return "on " + op.client.Config().String()
	}
	return "on " + op.model.DockerHost.ValueString()
}

// record reads the container back into the model after a change.
func (op *operation) record(ctx context.Context, id string, m *modelRunnerModel) diag.Diagnostics {
	var diags diag.Diagnostics
	c, found, err := op.eng.Inspect(ctx, id)
	if err != nil || !found {
		if err == nil {
			err = errors.New("it is gone")
		}
		diags.Append(op.fail("Docker Engine Error", "Reading the container back", err))
		return diags
	}
	prior := op.spec
	seen := modelrunner.Observe(prior, c)
	m.setFrom(ctx, seen, prior, &diags)
	m.setStatus(c, op.image)
	return diags
}

func (m *modelRunnerModel) setStatus(c container.InspectResponse, img engine.Image) {
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

// open bounds ctx by the operation's timeout and opens the engine of a
// model in state; done releases both.
func (r *modelRunnerResource) open(ctx context.Context, m modelRunnerModel,
	timeoutOf func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration,
) (context.Context, *operation, func(), diag.Diagnostics) {
	timeout, diags := timeoutOf(ctx, def)
	if diags.HasError() {
		return ctx, nil, nil, diags
	}
	eng, client, d := r.engineFor(m)
	if diags.Append(d...); diags.HasError() {
		return ctx, nil, nil, diags
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, &operation{r: r, eng: eng, client: client, model: m}, func() { cancel(); eng.Close() }, diags
}

func (r *modelRunnerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m modelRunnerModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	ctx, op, done, diags := r.open(ctx, m, m.Timeouts.Read, defaultReadTimeout)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	eng := op.eng
	c, found, err := eng.Inspect(ctx, m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.Append(op.fail("Docker Engine Error", "Inspecting container "+m.Name.ValueString(), err))
		return
	}
	if !found {
		tflog.Warn(ctx, "container is gone; it will be created again", map[string]any{"name": m.Name.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	img, imgFound, err := eng.InspectImage(ctx, c.Image)
	if err != nil {
		resp.Diagnostics.Append(op.fail("Docker Engine Error", "Inspecting the container's image", err))
		return
	}
	marker, d := req.Private.GetKey(ctx, importMarker)
	resp.Diagnostics.Append(d...)
	if len(marker) > 0 {
		// Everything comes from the container; nothing is kept.
		seen := modelrunner.Adopt(c, modelrunner.ImageDefaults{Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: img.Env, Labels: img.Labels})
		m.setImportDefaults()
		m.setFrom(ctx, seen, modelrunner.Spec{}, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, nil)...)
	} else {
		var sd diag.Diagnostics
		prior, _ := m.specFrom(ctx, &sd)
		prior.ImageCmd = img.Cmd
		seen := modelrunner.Observe(prior, c)
		if !imgFound && prior.Command == nil {
			// The image was removed from the host: its CMD, which the
			// container runs, cannot be told from a command of the user's.
			seen.Command = nil
		}
		m.setFrom(ctx, seen, prior, &resp.Diagnostics)
	}
	m.setStatus(c, img)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *modelRunnerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state modelRunnerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, op, done, diags := r.begin(ctx, plan, plan.Timeouts.Update)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	var sd diag.Diagnostics
	oldSpec, _ := state.specFrom(ctx, &sd)
	oldSpec.ImageCmd = op.spec.ImageCmd
	change, _ := modelrunner.Plan(oldSpec, op.spec)
	oldID := state.ID.ValueString()
	var id string
	var err diag.Diagnostic
	switch change {
	case modelrunner.Replace:
		id, err = op.replace(ctx, oldID, oldSpec)
	case modelrunner.InPlace:
		id, err = op.updateInPlace(ctx, oldID, oldSpec)
	default:
		id, err = oldID, op.ensureRunning(ctx, oldID)
	}
	if err != nil {
		resp.Diagnostics.Append(err)
		return
	}
	resp.Diagnostics.Append(op.record(ctx, id, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// ensureRunning brings a container found stopped or paused back, and
// waits until it is ready; one that keeps restarting is an error with its
// log lines.
func (op *operation) ensureRunning(ctx context.Context, id string) diag.Diagnostic {
	c, found, err := op.eng.Inspect(ctx, id)
	if err != nil || !found {
		if err == nil {
			err = errors.New("the container is gone; refresh to create it again")
		}
		return op.fail("Docker Engine Error", "Inspecting "+op.spec.Name, err)
	}
	st := c.State
	switch {
	case st == nil:
		return op.fail("Docker Engine Error", "Inspecting "+op.spec.Name, errors.New("the engine reports no state"))
	case st.Paused:
		if err := op.eng.Unpause(ctx, id); err != nil {
			return op.fail("Model Server Failed To Start", "Unpausing "+op.spec.Name, err)
		}
	case st.Restarting:
		// Judged as failed at once, with the log that says why.
		err := op.waitReady(ctx, id, false)
		if err == nil {
			return nil
		}
		return op.startFailure(err,
			"The container keeps exiting and its restart policy restarting it. Fix the cause its log shows, or change the configuration to get a new container.", nil)
	case st.Running:
		return nil
	default:
		if err := op.waitReady(ctx, id, true); err != nil {
			return op.startFailure(err, "The container was stopped again, as it was found.", func() error {
				return op.eng.Stop(context.WithoutCancel(ctx), id, stopGrace)
			})
		}
		return nil
	}
	if err := op.waitReady(ctx, id, false); err != nil {
		return op.startFailure(err, "The container was left running as the engine has it.", nil)
	}
	return nil
}

// updateInPlace changes resources and the restart policy, waits, and on
// failure puts back what Docker can put back in place.
func (op *operation) updateInPlace(ctx context.Context, id string, old modelrunner.Spec) (string, diag.Diagnostic) {
	if err := op.eng.Update(ctx, id, modelrunner.Update(op.spec)); err != nil {
		return id, op.fail("Container Update Failed", "Updating the resources of "+op.spec.Name+" (nothing was changed)", err)
	}
	c, found, err := op.eng.Inspect(ctx, id)
	if err == nil && !found {
		err = errors.New("the container is gone")
	}
	if err == nil {
		err = op.waitReady(ctx, id, c.State == nil || !c.State.Running)
	}
	if err == nil {
		return id, nil
	}
	undone := "The previous resources and restart policy were put back."
	if kept := modelrunner.Unrestorable(old, op.spec); len(kept) > 0 {
		undone = "The previous restart policy and limits were put back, except " + strings.Join(kept, ", ") +
			": Docker cannot remove a limit in place, so the new one stays until the container is replaced (remove the attribute and apply)."
	}
	return id, op.startFailure(err, undone, func() error {
		bg := context.WithoutCancel(ctx)
		if err := op.eng.Update(bg, id, modelrunner.Update(old)); err != nil {
			return fmt.Errorf("restoring the previous resources: %w", err)
		}
		if c, found, err := op.eng.Inspect(bg, id); err == nil && found && c.State != nil && !c.State.Running {
			return op.eng.Start(bg, id)
		}
		return nil
	})
}

// removeLeftover removes a container this resource left under name by an
// interrupted run (never keep, and never a container it does not manage).
func (op *operation) removeLeftover(ctx context.Context, name, keep string) error {
	c, found, err := op.eng.Inspect(ctx, name)
	if err != nil || !found || c.ID == keep {
		return err
	}
	if c.Config == nil || c.Config.Labels[modelrunner.LabelManagedBy] == "" {
		return fmt.Errorf("a container named %s exists and is not one this resource made; rename or remove it", name)
	}
	return op.eng.Remove(ctx, c.ID)
}

// replace swaps the container for a new one; on failure the old one is
// running again, under its name.
func (op *operation) replace(ctx context.Context, oldID string, old modelrunner.Spec) (string, diag.Diagnostic) {
	name := op.spec.Name
	if op.model.UpdateStrategy.ValueString() == strategyStartFirst && startFirstClash(old, op.spec) == "" {
		next := name + nextSuffix
		if err := op.removeLeftover(ctx, next, oldID); err != nil {
			return "", op.fail("Container Replacement Failed", "Clearing the temporary name "+next+" (nothing was changed)", err)
		}
		id, err := op.createAndStart(ctx, next)
		if err != nil {
			return "", op.startFailure(err, "The new container was removed; the old one kept running throughout.", func() error {
				return op.eng.Remove(context.WithoutCancel(ctx), id)
			})
		}
		if err := op.eng.Remove(ctx, oldID); err != nil {
			return id, op.fail("Container Replacement Failed", "Removing the old container (the new one runs as "+next+")", err)
		}
		if err := op.eng.Rename(ctx, id, name); err != nil {
			return id, op.fail("Container Replacement Failed", "Renaming "+next+" to "+name+
				" (the new server runs and is ready under "+next+"; `docker rename "+next+" "+name+"` and a refresh finish the change)", err)
		}
		return id, nil
	}
	// Recreate: the old one steps aside (stopped, renamed) until the new
	// one is ready.
	aside := name + oldSuffix
	if err := op.removeLeftover(ctx, aside, oldID); err != nil {
		return "", op.fail("Container Replacement Failed", "Clearing the temporary name "+aside+" (nothing was changed)", err)
	}
	if err := op.eng.Stop(ctx, oldID, stopGrace); err != nil {
		return "", op.fail("Container Replacement Failed", "Stopping the old container (nothing was changed)", err)
	}
	if err := op.eng.Rename(ctx, oldID, aside); err != nil {
		_ = op.eng.Start(context.WithoutCancel(ctx), oldID)
		return "", op.fail("Container Replacement Failed", "Renaming the old container aside (it was started again)", err)
	}
	id, err := op.createAndStart(ctx, name)
	if err != nil {
		return "", op.startFailure(err, "The new container was removed and the old one started again.", func() error {
			bg := context.WithoutCancel(ctx)
			if id != "" {
				if err := op.eng.Remove(bg, id); err != nil {
					return fmt.Errorf("removing the new container: %w", err)
				}
			}
			if err := op.eng.Rename(bg, oldID, name); err != nil {
				return fmt.Errorf("renaming the old container back from %s: %w", aside, err)
			}
			if err := op.eng.Start(bg, oldID); err != nil {
				return fmt.Errorf("starting the old container: %w", err)
			}
			return nil
		})
	}
	if err := op.eng.Remove(ctx, oldID); err != nil {
		tflog.Warn(ctx, "the old container could not be removed", map[string]any{"container": aside, "error": err.Error()})
	}
	return id, nil
}

func (r *modelRunnerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m modelRunnerModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	ctx, op, done, diags := r.open(ctx, m, m.Timeouts.Delete, defaultReadTimeout)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	eng := op.eng
	id := m.ID.ValueString()
	// Stop first, so the server gets its grace period to finish requests.
	if err := eng.Stop(ctx, id, stopGrace); err != nil && !engine.IsNotFound(err) {
		resp.Diagnostics.Append(op.fail("Container Removal Failed", "Stopping "+m.Name.ValueString(), err))
		return
	}
	if err := eng.Remove(ctx, id); err != nil {
		resp.Diagnostics.Append(op.fail("Container Removal Failed", "Removing "+m.Name.ValueString(), err))
	}
}

// ImportState takes "host[:port]/name" (through SSH) or
// "docker_host|name" (e.g. "unix:///var/run/docker.sock|vllm").
func (r *modelRunnerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var m modelRunnerModel
	if host, name, ok := strings.Cut(req.ID, "|"); ok {
		if err := checkDockerHost(host); err != nil || !containerNameRE.MatchString(name) {
			resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not docker_host|name, e.g. unix:///var/run/docker.sock|vllm.", req.ID))
			return
		}
		m.DockerHost, m.SSH = types.StringValue(host), types.ObjectNull(sshAttrTypes())
		m.Name = types.StringValue(name)
	} else {
		i := strings.LastIndex(req.ID, "/")
		if i <= 0 || !containerNameRE.MatchString(req.ID[i+1:]) {
			resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not host[:port]/name, e.g. 10.0.0.5/vllm (or docker_host|name).", req.ID))
			return
		}
		obj, d := sshObjectForHost(ctx, req.ID[:i])
		if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
			return
		}
		m.SSH, m.DockerHost = obj, types.StringNull()
		m.Name = types.StringValue(req.ID[i+1:])
	}
	m.DockerSocket = types.StringValue(defaultDockerSock)
	m.nullRest()
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}

// setImportDefaults fills what an import cannot read from the container.
func (m *modelRunnerModel) setImportDefaults() {
	m.UpdateStrategy = types.StringValue(strategyRecreate)
	m.GPUDriver = types.StringValue(modelrunner.DriverNVIDIA)
}

// nullRest sets every other attribute of a fresh model to null, with its type.
func (m *modelRunnerModel) nullRest() {
	m.ID = types.StringNull()
	m.Image = types.StringNull()
	m.RegistryAuth = types.ObjectNull(map[string]attr.Type{"username": types.StringType, "password": types.StringType, "server_address": types.StringType})
	for _, l := range []*types.List{&m.Entrypoint, &m.Command, &m.Networks, &m.GPUIDs} {
		*l = types.ListNull(types.StringType)
	}
	for _, mp := range []*types.Map{&m.Env, &m.SensitiveEnv, &m.Labels, &m.LogOpts} {
		*mp = types.MapNull(types.StringType)
	}
	m.Ports = types.ListNull(types.ObjectType{AttrTypes: portAttrTypes})
	m.Volumes = types.ListNull(types.ObjectType{AttrTypes: volumeAttrTypes})
	m.Ulimits = types.ListNull(types.ObjectType{AttrTypes: ulimitAttrTypes})
	for _, s := range []*types.String{&m.NetworkMode, &m.RestartPolicy, &m.LogDriver, &m.Memory, &m.MemoryReservation, &m.CPUs,
		&m.Cpuset, &m.ShmSize, &m.IpcMode, &m.Runtime, &m.GPUDriver, &m.Server, &m.Dtype, &m.Quantization, &m.TorchCompileMode,
		&m.CUDAAllocConf, &m.PythonMalloc, &m.HealthPath, &m.UpdateStrategy, &m.State, &m.Health, &m.ImageID, &m.ImageDigest} {
		*s = types.StringNull()
	}
	for _, i := range []*types.Int64{&m.MaxRetryCount, &m.MaxBatchSize, &m.TensorParallel, &m.MallocArenaMax, &m.HealthPort} {
		*i = types.Int64Null()
	}
	m.GPUs = types.DynamicNull()
	m.GPUMemoryFraction = types.Float64Null()
	m.AllowTF32 = types.BoolNull()
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType,
	})}
}
