package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// The container resources (mcpai_gpu_model_runner, mcpai_container) share
// their engine code: containerResource is both, over a model that maps to
// a modelrunner.Spec; each model brings its schema and plan-time checks.

const (
	readyInterval      = 250 * time.Millisecond
	readyProgressEvery = 10 * time.Second
	stopGrace          = 30 * time.Second
	nextSuffix         = "-mcpai-next"
	oldSuffix          = "-mcpai-old"

	// Loading a large model takes minutes: the model runner's wait is
	// generous by default.
	defaultReadyTimeout = 30 * time.Minute
	// generalSettle is how long a general container with neither
	// health_path nor a HEALTHCHECK must keep running to count as started:
	// long enough for a service that fails on its configuration (a bad
	// import, a bad flag) to have exited.
	generalSettle = 3 * time.Second
)

// containerResourceModel is a container resource's model, as the shared
// operations use it.
type containerResourceModel interface {
	timedModel
	// common is the part both resources have.
	common() *containerModel
	// specFrom is the desired container; known is false while a value it
	// needs is unknown (at plan time).
	specFrom(ctx context.Context, diags *diag.Diagnostics) (modelrunner.Spec, bool)
	// setFrom writes an observed spec back, keeping the model's spelling
	// of values that mean the same as prior's.
	setFrom(ctx context.Context, seen, prior modelrunner.Spec, diags *diag.Diagnostics)
	// schema is the resource's schema (called on a nil model).
	schema(ctx context.Context) schema.Schema
	// validate makes the resource's plan-time checks of a configuration.
	validate(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics)
	// planComputed sets what a plan derives from the spec.
	planComputed(ctx context.Context, s modelrunner.Spec, plan *tfsdk.Plan) diag.Diagnostics
	setImportDefaults()
	nullRest()
}

// containerKind is what sets the container resources apart in the code
// they share.
type containerKind struct {
	typeName string
	// what runs in the container, capitalised for diagnostics' summaries.
	what string
	// slow is what a timed-out wait advises.
	slow string
	// shares is what two containers share while start_first runs both.
	shares       string
	readyTimeout time.Duration
	// settle: with neither an endpoint nor a HEALTHCHECK, how long the
	// container must keep running to count as ready.
	settle time.Duration
}

// containerKinds are the container resources, by the owner their labels name.
var containerKinds = map[modelrunner.Owner]containerKind{
	modelrunner.ModelRunner: {typeName: "mcpai_gpu_model_runner", what: "Model Server", shares: "GPUs and memory", readyTimeout: defaultReadyTimeout,
		slow: "Raise the timeouts block's create/update value if the model needs longer to load."},
	modelrunner.General: {typeName: "mcpai_container", what: "Container", shares: "CPUs and memory", readyTimeout: defaultApplyTimeout, settle: generalSettle,
		slow: "Raise the timeouts block's create/update value if the service needs longer to start."},
}

var (
	_ containerResourceType = (*containerResource[modelRunnerModel, *modelRunnerModel])(nil)
	_ containerResourceType = (*containerResource[containerModel, *containerModel])(nil)
)

// containerResourceType is what each container resource implements.
type containerResourceType interface {
	resource.ResourceWithConfigure
	resource.ResourceWithValidateConfig
	resource.ResourceWithConfigValidators
	resource.ResourceWithModifyPlan
	resource.ResourceWithImportState
}

// containerResource is a container resource over its model M: the
// resource type that made a container (owner) says which.
type containerResource[M any, P interface {
	*M
	containerResourceModel
}] struct {
	data  *providerData
	owner modelrunner.Owner
}

func (r *containerResource[M, P]) kind() containerKind { return containerKinds[r.owner] }

func (r *containerResource[M, P]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + strings.TrimPrefix(r.kind().typeName, "mcpai")
}

func (r *containerResource[M, P]) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = P(nil).schema(ctx)
}

func (r *containerResource[M, P]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *containerResource[M, P]) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("ssh"), path.MatchRoot("docker_host"))}
}

func (r *containerResource[M, P]) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m M
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	P(&m).validate(ctx, req.Config, &resp.Diagnostics)
}

// validateContainer makes the plan-time checks of the shared attributes.
// It returns the user's command and environment (env with sensitive_env),
// with known false while any of them is unknown.
func validateContainer(ctx context.Context, config tfsdk.Config, m *containerModel, diags *diag.Diagnostics) (command []string, env map[string]string, known bool) {
	if !m.SSH.IsNull() {
		diags.Append(insecureWarning(ctx, config, path.Root("ssh"))...)
	}
	if strings.HasPrefix(m.DockerHost.ValueString(), "tcp://") {
		diags.AddAttributeWarning(path.Root("docker_host"), "Unencrypted Docker API",
			"docker_host over plain tcp:// sends the Engine API (which amounts to root on the host) and registry_auth unencrypted, "+
				"and readiness probes go to the host port the server's port is published on. Prefer ssh, or a unix socket where Terraform runs on the host.")
	}
	if m.MaxRetryCount.ValueInt64() > 0 && !m.RestartPolicy.IsUnknown() && m.RestartPolicy.ValueString() != "on-failure" {
		diags.AddAttributeError(path.Root("max_retry_count"), "Retry Count Without on-failure",
			"max_retry_count applies only to restart_policy = \"on-failure\". Set that policy, or remove max_retry_count.")
	}
	known = true
	if !m.Command.IsNull() {
		var elems []types.String
		known = !m.Command.IsUnknown()
		if known {
			diags.Append(m.Command.ElementsAs(ctx, &elems, false)...)
		}
		for _, e := range elems {
			known = known && !e.IsUnknown()
			command = append(command, e.ValueString())
		}
	}
	env, envKnown := stringMap(ctx, m.Env, diags)
	secret, secretKnown := stringMap(ctx, m.SensitiveEnv, diags)
	for k := range secret {
		if _, ok := env[k]; ok {
			diags.AddAttributeError(path.Root("sensitive_env").AtMapKey(k), "Variable Set Twice",
				fmt.Sprintf("%s is in both env and sensitive_env. Keep it in one (sensitive_env for a secret).", k))
		}
		if env != nil {
			env[k] = secret[k]
		}
	}
	return command, env, known && envKnown && secretKnown
}

// engineFor opens the engine the model points at.
func (r *containerResource[M, P]) engineFor(m *containerModel) (*engine.Engine, *remote.Client, diag.Diagnostics) {
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
func engineError(summary, action string, client *remote.Client, m *containerModel, err error) diag.Diagnostic {
	if d, ok := tunnelError(summary, client, err); ok {
		return d
	}
	where := m.DockerHost.ValueString()
	if client != nil {
		where = fmt.Sprintf("the engine at %s on %s", m.DockerSocket.ValueString(), client.Config())
	}
	return diag.NewErrorDiagnostic(summary, fmt.Sprintf("%s (%s): %v", action, where, err))
}

func (r *containerResource[M, P]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan M
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	var diags diag.Diagnostics
	newSpec, known := P(&plan).specFrom(ctx, &diags)
	if known && !diags.HasError() {
		resp.Diagnostics.Append(P(&plan).planComputed(ctx, newSpec, &resp.Plan)...)
	}
	// Labels are checked as soon as they and the server kind are known
	// (a new container's engine-defaulted attributes never are).
	if newSpec.Owner() == r.owner {
		if err := newSpec.CheckLabels(); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("labels"), "Reserved Label", err.Error()+".")
			return
		}
	}
	if req.State.Raw.IsNull() {
		return
	}
	var state M
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	oldSpec, _ := P(&state).specFrom(ctx, &diags)
	if !known || diags.HasError() {
		resp.Diagnostics.Append(unknownStatus(ctx, &resp.Plan)...)
		return
	}
	change, fields := modelrunner.Plan(oldSpec, newSpec)
	stopped := P(&state).common().State.ValueString() != "running"
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
		if P(&plan).common().UpdateStrategy.ValueString() == strategyStartFirst {
			if clash := startFirstClash(oldSpec, newSpec); clash != "" {
				how = "update_strategy = \"start_first\" cannot be honoured: " + clash + ". " + how
			} else {
				how = "The new container starts first and must be ready before the old one is removed (both run at once: " +
					"they share the host's " + r.kind().shares + " meanwhile)."
			}
		}
		resp.Diagnostics.AddWarning("Container Will Be Replaced",
			fmt.Sprintf("%s cannot change in place on %s (Docker fixes it at create). %s", strings.Join(fields, ", "), newSpec.Name, how))
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
		st := P(&state).common().State
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

func (r *containerResource[M, P]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan M
	ctx, cancel, ok := begin(ctx, req.Plan, P(&plan), timeouts.Value.Create, r.kind().readyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	secrets := P(&plan).common().secrets(ctx)
	ctx = maskLogs(ctx, secrets)
	defer redactDiagnostics(&resp.Diagnostics, secrets)
	op, done, diags := r.prepare(ctx, P(&plan))
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
	if d := op.record(ctx, id, P(&plan)); d.HasError() {
		// Without its id in state the container would be orphaned.
		resp.Diagnostics.Append(d...)
		if err := op.eng.Remove(context.WithoutCancel(ctx), id); err != nil {
			resp.Diagnostics.AddError("Container Left Behind", fmt.Sprintf("%s (%s) could not be read back nor removed: %v. Remove it (docker rm -f %s) before the next apply.", op.spec.Name, id, err, op.spec.Name))
		}
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// operation is one apply step's context: the engine, the desired spec and
// the model it came from.
type operation struct {
	kind   containerKind
	eng    *engine.Engine
	client *remote.Client
	model  *containerModel
	spec   modelrunner.Spec
	image  engine.Image
}

func (op *operation) fail(summary, action string, err error) diag.Diagnostic {
	return engineError(summary, action, op.client, op.model, err)
}

// prepare opens the engine and checks everything before anything changes:
// the spec, the GPUs against the engine, CPUs and memory against the host,
// and the image (pulled when absent).
func (r *containerResource[M, P]) prepare(ctx context.Context, m P) (*operation, func(), diag.Diagnostics) {
	var diags diag.Diagnostics
	spec, _ := m.specFrom(ctx, &diags)
	if diags.HasError() {
		return nil, nil, diags
	}
	op, done, d := r.open(m.common())
	if diags.Append(d...); diags.HasError() {
		return nil, nil, diags
	}
	op.spec = spec
	if diags.Append(op.preflight(ctx)...); diags.HasError() {
		done()
		return nil, nil, diags
	}
	// Locked after the image pull, which changes nothing that runs.
	unlock, d := lockHost(ctx, op.client, "Unable to Change Container", op.lockHolder())
	if diags.Append(d...); diags.HasError() {
		done()
		return nil, nil, diags
	}
	return op, func() { unlock(); done() }, diags
}

// lockHolder names the operation in the host lock's holder file.
func (op *operation) lockHolder() string {
	return op.kind.typeName + " " + op.model.Name.ValueString()
}

// preflight checks the spec against the engine and gets the image.
func (op *operation) preflight(ctx context.Context) diag.Diagnostics {
	var diags diag.Diagnostics
	spec, m := op.spec, op.model
	if err := spec.CheckLabels(); err != nil {
		diags.AddAttributeError(path.Root("labels"), "Reserved Label", err.Error()+". Nothing was created.")
		return diags
	}
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
	rd := engine.Readiness{Interval: readyInterval, ProgressEvery: readyProgressEvery, Settle: op.kind.settle}
	rd.Path, rd.Port = op.health()
	what := strings.ToLower(op.kind.what)
	rd.Progress = func(waited time.Duration, status string) {
		tflog.Info(ctx, "waiting for the "+what, map[string]any{"container": op.spec.Name, "waited": waited.String(), "status": status})
	}
	why, err := op.eng.WaitReady(ctx, id, rd, start)
	if err == nil {
		tflog.Info(ctx, what+" ready", map[string]any{"container": op.spec.Name, "why": why})
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
		h.Port = defaultHealthPort
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
		return diag.NewErrorDiagnostic(op.kind.what+" Not Ready In Time",
			fmt.Sprintf("%s %s, %s.%s\n\n%s %s", op.spec.Name, op.where(), we.Why, logs, undone, op.kind.slow))
	case we != nil:
		return diag.NewErrorDiagnostic(op.kind.what+" Failed To Start",
			fmt.Sprintf("%s %s: %s.%s\n\n%s", op.spec.Name, op.where(), we.Why, logs, undone))
	}
	return engineError(op.kind.what+" Failed To Start", "Creating and starting "+op.spec.Name, op.client, op.model,
		fmt.Errorf("%w. %s", err, undone))
}

func (op *operation) where() string {
	if op.client != nil {
		return "on " + op.client.Config().String()
	}
	return "on " + op.model.DockerHost.ValueString()
}

// record reads the container back into the model after a change.
func (op *operation) record(ctx context.Context, id string, m containerResourceModel) diag.Diagnostics {
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
	m.common().setStatus(c, op.image)
	return diags
}

// open opens the engine of a model in state; done closes it.
func (r *containerResource[M, P]) open(m *containerModel) (*operation, func(), diag.Diagnostics) {
	eng, client, diags := r.engineFor(m)
	if diags.HasError() {
		return nil, nil, diags
	}
	return &operation{kind: r.kind(), eng: eng, client: client, model: m}, func() { eng.Close() }, diags
}

func (r *containerResource[M, P]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state M
	ctx, cancel, ok := begin(ctx, req.State, P(&state), timeouts.Value.Read, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	m := P(&state)
	op, done, diags := r.open(m.common())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	eng, name := op.eng, op.model.Name.ValueString()
	c, found, err := eng.Inspect(ctx, name)
	if err != nil {
		resp.Diagnostics.Append(op.fail("Docker Engine Error", "Inspecting container "+name, err))
		return
	}
	if !found {
		tflog.Warn(ctx, "container is gone; it will be created again", map[string]any{"name": name})
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
		if owner := modelrunner.OwnerOf(c.Config.Labels); owner != modelrunner.NotOurs && owner != r.owner {
			other := containerKinds[owner].typeName
			resp.Diagnostics.AddError("Container Managed By Another Resource Type",
				fmt.Sprintf("%s %s was made by %s (its labels say so): a %s would take it over and change it. Import it as %s. Nothing was imported.",
					name, op.where(), other, r.kind().typeName, other))
			return
		}
		// Everything comes from the container; nothing is kept.
		seen := modelrunner.AdoptAs(c, modelrunner.ImageDefaults{Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: img.Env, Labels: img.Labels}, r.owner)
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
	m.common().setStatus(c, img)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (r *containerResource[M, P]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, ok := begin(ctx, req.Plan, P(&plan), timeouts.Value.Update, r.kind().readyTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	// The old container's logs show the old values.
	secrets := append(P(&plan).common().secrets(ctx), P(&state).common().secrets(ctx)...)
	ctx = maskLogs(ctx, secrets)
	defer redactDiagnostics(&resp.Diagnostics, secrets)
	op, done, diags := r.prepare(ctx, P(&plan))
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	var sd diag.Diagnostics
	oldSpec, _ := P(&state).specFrom(ctx, &sd)
	oldSpec.ImageCmd = op.spec.ImageCmd
	change, _ := modelrunner.Plan(oldSpec, op.spec)
	oldID := P(&state).common().ID.ValueString()
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
	resp.Diagnostics.Append(op.record(ctx, id, P(&plan))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
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
			return op.fail(op.kind.what+" Failed To Start", "Unpausing "+op.spec.Name, err)
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
	if c.Config == nil || modelrunner.OwnerOf(c.Config.Labels) != op.spec.Owner() {
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

func (r *containerResource[M, P]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state M
	ctx, cancel, ok := begin(ctx, req.State, P(&state), timeouts.Value.Delete, defaultReadTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	m := P(&state).common()
	op, done, diags := r.open(m)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer done()
	unlock, diags := lockHost(ctx, op.client, "Container Removal Failed", op.lockHolder())
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	defer unlock()
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
func (r *containerResource[M, P]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var state M
	m := P(&state)
	c := m.common()
	if host, name, ok := strings.Cut(req.ID, "|"); ok {
		if err := checkDockerHost(host); err != nil || !containerNameRE.MatchString(name) {
			resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not docker_host|name, e.g. unix:///var/run/docker.sock|vllm.", req.ID))
			return
		}
		c.DockerHost, c.SSH = types.StringValue(host), types.ObjectNull(sshAttrTypes())
		c.Name = types.StringValue(name)
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
		c.SSH, c.DockerHost = obj, types.StringNull()
		c.Name = types.StringValue(req.ID[i+1:])
	}
	m.nullRest()
	c.DockerSocket = types.StringValue(defaultDockerSock)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importMarker, []byte(`{"importing":true}`))...)
}
