package provider

import (
	"context"
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

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
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
