package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// The container resources' apply steps: the engine, the checks before a
// change (labels, GPUs, CPUs, memory, the image), create and start with the
// readiness wait, the in-place update, the replacement, and putting things
// back when a start fails.

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
