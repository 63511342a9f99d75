package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/moby/moby/api/types/container"

	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/loadtest"
	"github.com/mcpai/terraform-provider-mcpai/internal/modelrunner"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_load_test's run: the Locust container through the host's engine,
// the reachability check, the wait for its final statistics, and the
// cleanup of what an earlier run left.

// run runs the load container and returns Locust's statistics. The
// container is removed on every path out.
func (r *loadTestResource) run(ctx context.Context, client *remote.Client, m *loadTestModel, spec loadtest.Spec, diags *diag.Diagnostics) (loadtest.Results, bool) {
	const summary = "Load Test Not Run"
	fail := func(s, action string, err error) (loadtest.Results, bool) {
		if d, ok := tunnelError(s, client, err); ok {
			diags.Append(d)
		} else {
			diags.AddError(s, fmt.Sprintf("%s (the engine at %s on %s): %v", action, m.DockerSocket.ValueString(), client.Config(), err))
		}
		return loadtest.Results{}, false
	}
	eng, err := engine.New(client.Dial, m.DockerSocket.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("docker_socket"), "Invalid Docker Socket", fmt.Sprintf("A Docker client for %s could not be made: %v.", m.DockerSocket.ValueString(), err))
		return loadtest.Results{}, false
	}
	defer eng.Close()
	if removed, err := r.removeStale(ctx, eng); err == nil && len(removed) > 0 {
		diags.AddWarning("Leftover Load Containers Removed", fmt.Sprintf("Load test containers that an earlier run left past their deadline were removed: %s.", strings.Join(removed, ", ")))
	}
	image := m.Image.ValueString()
	_, found, err := eng.InspectImage(ctx, image)
	if err != nil {
		return fail(summary, "Inspecting the image "+image, err)
	}
	// The target before any load: a load against nothing would only wait
	// out the duration to report failures. (The SSH connection is up by
	// now, so the short timeout is the target's alone.)
	addr, _ := loadtest.TargetAddress(spec.Target)
	reachCtx, reachCancel := context.WithTimeout(ctx, reachTimeout)
	conn, err := client.Dial(reachCtx, "tcp", addr)
	reachCancel()
	if err != nil {
		if d, ok := tunnelError(summary, client, err); ok && !errors.Is(err, context.DeadlineExceeded) && !isChannelRefused(err) {
			diags.Append(d)
			return loadtest.Results{}, false
		}
		diags.AddAttributeError(path.Root("target"), "Load Test Target Not Reachable",
			fmt.Sprintf("%s (%s) does not accept connections from %s: %v. Nothing was run. Check that the service runs and that target is its address as seen from that host (the load runs with the host's network).",
				spec.Target, addr, client.Config(), err))
		return loadtest.Results{}, false
	}
	_ = conn.Close()

	if !found {
		if err := eng.Pull(ctx, image, "", nil); err != nil {
			diags.AddAttributeError(path.Root("image"), "Load Test Image Not Available",
				fmt.Sprintf("%s is not on %s, and pulling it failed: %v. Nothing was run. Load the image on the host, or give an image the engine can pull.", image, client.Config(), err))
			return loadtest.Results{}, false
		}
	}

	tasks, err := spec.TasksJSON()
	if err != nil {
		diags.AddError(summary, "The tasks could not be encoded: "+err.Error())
		return loadtest.Results{}, false
	}
	name := "mcpai-load-" + m.ID.ValueString()
	deadline := time.Now().Add(spec.Duration + loadGrace)
	if d, ok := ctx.Deadline(); ok && d.After(deadline) {
		deadline = d
	}
	cid, err := eng.Create(ctx, name, &container.Config{
		Image:  image,
		Cmd:    spec.Args(),
		Labels: map[string]string{loadTestLabel: m.ID.ValueString(), loadTestDeadlineLabel: deadline.UTC().Format(time.RFC3339)},
	}, &container.HostConfig{NetworkMode: "host"}, nil, nil)
	defer func() {
		// Removed whatever happened, also when ctx has ended.
		rmCtx, rmCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer rmCancel()
		ref := cid
		if ref == "" {
			// The engine may have made it though the answer was lost.
			ref = name
		}
		if err := eng.Remove(rmCtx, ref); err != nil {
			diags.AddWarning("Load Container Left Running", fmt.Sprintf("The load container %s on %s could not be removed: %v. The next load test on this host removes it after %s, or remove it with docker rm -f %s.",
				name, client.Config(), err, deadline.UTC().Format(time.RFC3339), name))
		}
	}()
	if err != nil {
		return fail(summary, "Creating the load container "+name, err)
	}
	if err := eng.PutFiles(ctx, cid, []engine.File{
		{Path: loadtest.LocustfilePath, Data: []byte(loadtest.Locustfile), Mode: 0o644},
		{Path: loadtest.TasksPath, Data: tasks, Mode: 0o644},
	}); err != nil {
		return fail(summary, "Copying the locustfile into "+name, err)
	}
	if err := eng.Start(ctx, cid); err != nil {
		return fail(summary, "Starting the load container "+name, err)
	}
	code, err := eng.WaitExit(ctx, cid)
	if err != nil {
		logs := r.lastLogs(eng, cid)
		if ctx.Err() != nil {
			diags.AddError("Load Test Did Not Finish", fmt.Sprintf("The load test against %s on %s did not finish in time (%v); its container was removed.%s Raise the timeouts block's create value.", spec.Target, client.Config(), ctx.Err(), logs))
			return loadtest.Results{}, false
		}
		return fail("Load Test Failed", "Waiting for the load container "+name, err)
	}
	data, err := eng.GetFile(ctx, cid, loadtest.ResultsPath, 16<<20)
	if err != nil {
		diags.AddError("Load Test Failed", fmt.Sprintf("Locust in %s on %s exited with code %d and left no results (%v).%s Check that image keeps the contract of Locust's official image (entrypoint locust).",
			image, client.Config(), code, err, r.lastLogs(eng, cid)))
		return loadtest.Results{}, false
	}
	res, err := loadtest.ParseResults(data)
	if err != nil {
		diags.AddError("Load Test Failed", fmt.Sprintf("Locust's results from %s on %s could not be read: %v.", image, client.Config(), err))
		return loadtest.Results{}, false
	}
	if len(res.Exceptions) > 0 {
		// A task that raises makes no request Locust counts: the figures
		// would describe a load that did not run as configured.
		e := res.Exceptions[0]
		diags.AddAttributeError(path.Root("tasks"), "Load Test Task Failed", fmt.Sprintf("A task raised an error %d time(s) in Locust instead of sending its request: %s. Nothing was recorded. Check the tasks' paths, bodies and headers.",
			e.Count, e.Message))
		return loadtest.Results{}, false
	}
	if res.Requests == 0 {
		diags.AddError("Load Test Sent Nothing", fmt.Sprintf("Locust sent no request to %s in %s from %s. Nothing was recorded. Raise duration, or lower wait_time.",
			spec.Target, spec.Duration, client.Config()))
		return loadtest.Results{}, false
	}
	if res.Failures > 0 && len(res.Failed) > 0 {
		top := res.Failed[0]
		tflog.Warn(ctx, "load test failures", map[string]any{"most_frequent": fmt.Sprintf("%s: %s (%d times)", top.Name, top.Error, top.Occurrences)})
		diags.AddWarning("Load Test Requests Failed", fmt.Sprintf("%d of %d requests to %s failed; the most frequent failure: %s: %s (%d times).",
			res.Failures, res.Requests, spec.Target, top.Name, top.Error, top.Occurrences))
	}
	return res, true
}

// lastLogs is the load container's last lines, for an error.
func (r *loadTestResource) lastLogs(eng *engine.Engine, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := eng.Logs(ctx, id, 20)
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	return "\n\nLast lines of Locust's output:\n  " + strings.Join(modelrunner.LastLines(out, 20), "\n  ") + "\n"
}

// removeStale removes load containers whose deadline has passed: a run
// killed before its deferred removal leaves one, and only then.
func (r *loadTestResource) removeStale(ctx context.Context, eng *engine.Engine) ([]string, error) {
	list, err := eng.ListLabelled(ctx, loadTestLabel)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, c := range list {
		deadline, err := time.Parse(time.RFC3339, c.Labels[loadTestDeadlineLabel])
		if err != nil || time.Now().Before(deadline) {
			continue // another run's, still within its time
		}
		if err := eng.Remove(ctx, c.ID); err == nil {
			removed = append(removed, c.Name)
		}
	}
	return removed, nil
}

// isChannelRefused: sshd could not open the connection to the target
// (refused, no route), which is the target's problem, not the link's.
func isChannelRefused(err error) bool {
	return strings.Contains(err.Error(), "connect failed") || strings.Contains(err.Error(), "administratively prohibited")
}
