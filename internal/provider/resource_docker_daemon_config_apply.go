package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/dockerd"
	"github.com/mcpai/terraform-provider-mcpai/internal/engine"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_docker_daemon_config's apply steps: how the host runs dockerd, the
// file's write with validation, the restart or reload, the health wait, and
// the rollback when any of them fails.

// dockerOperation is one move of the file to a target, and how to apply it.
type dockerOperation struct {
	path           string
	target         remote.FileState
	restart        string
	restartCommand []string
	healthTimeout  time.Duration
	restoring      bool // destroy: no validation of the old content, never refused
	creating       bool // create: no state, so what was there comes from the host
}

// hostView returns doc with its data-root as the host resolves it: dockerd
// reports a symlinked /var/lib/docker by its target, which must not read
// as a value the daemon has not applied.
func hostView(ctx context.Context, client *remote.Client, doc dockerd.Document) dockerd.Document {
	var root string
	if raw, ok := doc["data-root"]; !ok || json.Unmarshal([]byte(raw), &root) != nil || !strings.HasPrefix(root, "/") {
		return doc
	}
	out, err := client.Output(ctx, []string{"readlink", "-f", "--", root}, nil)
	resolved := strings.TrimSpace(string(out))
	if err != nil || resolved == "" || resolved == root {
		return doc
	}
	view := maps.Clone(doc)
	quoted, _ := json.Marshal(resolved)
	view["data-root"] = string(quoted)
	return view
}

// dockerEffective asks the daemon serving doc's socket what it runs.
func dockerEffective(ctx context.Context, client *remote.Client, doc dockerd.Document) (dockerd.Effective, error) {
	eng, err := engine.New(client.Dial, doc.Socket())
	if err != nil {
		return dockerd.Effective{}, err
	}
	defer eng.Close()
	return eng.Effective(ctx)
}

type dockerResult struct {
	before     remote.FileState
	validation string
	pending    []string
	effective  dockerd.Effective
}

// dockerHostScript reports how the host runs dockerd, in sections: the
// init system, then (systemd) the unit's ExecStart, or (otherwise) whether
// the distribution's init script exists; then the daemon's pid. Constant:
// the pid file path is its only argument.
const dockerHostScript = `if [ -d /run/systemd/system ]; then
  echo systemd
  systemctl show -p ExecStart docker.service 2>/dev/null
elif [ -x /etc/init.d/docker ]; then
  echo service
else
  echo none
fi
echo --pid
if [ -r "$1" ]; then cat "$1"; fi`

type dockerHost struct {
	init    string   // systemd, service or none
	flags   []string // the arguments the service passes to dockerd
	flagSrc string   // where they come from, for messages
	pid     string   // running daemon's pid, "" when none
}

func probeDockerHost(ctx context.Context, client *remote.Client, pidFile string) (dockerHost, error) {
	out, err := client.Output(ctx, []string{"sh", "-c", dockerHostScript, "sh", pidFile}, nil)
	if err != nil {
		return dockerHost{}, err
	}
	head, pid, _ := strings.Cut(string(out), "--pid\n")
	first, rest, _ := strings.Cut(head, "\n")
	h := dockerHost{init: strings.TrimSpace(first), pid: strings.TrimSpace(pid)}
	switch h.init {
	case "systemd":
		argv, err := dockerd.ParseExecStart(rest)
		if err != nil {
			return h, fmt.Errorf("reading docker.service's ExecStart: %w", err)
		}
		if len(argv) > 0 {
			h.flags, h.flagSrc = argv[1:], "docker.service (ExecStart)"
		}
	case "service":
		files, err := client.ReadFiles(ctx, "/etc/default/docker")
		if err != nil {
			return h, err
		}
		h.flags, h.flagSrc = dockerd.ParseDefaultOpts(string(files[0].Data)), "/etc/default/docker (DOCKER_OPTS)"
	}
	return h, nil
}

// systemdRestartScript restarts docker.service, clearing a failed state
// first: failed starts (a rolled-back configuration) count towards the
// unit's start limit, and a rollback must not be refused for it.
const systemdRestartScript = `systemctl reset-failed docker.service 2>/dev/null; exec systemctl restart docker.service`

// restartArgv is how this host restarts dockerd; nil when it has no way
// the resource knows and the user gave none.
func (h dockerHost) restartArgv(custom []string) []string {
	switch {
	case len(custom) > 0:
		return custom
	case h.init == "systemd":
		return []string{"sh", "-c", systemdRestartScript}
	case h.init == "service":
		return []string{"service", "docker", "restart"}
	}
	return nil
}

// dockerValidateScript runs dockerd --validate on the candidate from
// stdin, in a private temporary file. "unsupported" means this dockerd is
// older than the flag.
const dockerValidateScript = `t=$(mktemp) || exit 1
trap 'rm -f "$t"' EXIT
cat >"$t"
out=$(dockerd --validate --config-file "$t" 2>&1); rc=$?
case $out in *"unknown flag: --validate"*) echo unsupported; exit 0;; esac
printf '%s\n' "$out"
exit $rc`

// dockerLogScript prints the daemon's recent log: the journal since $1
// (an @epoch time) on systemd hosts, the end of the init script's log file
// elsewhere.
const dockerLogScript = `if [ -d /run/systemd/system ]; then journalctl -u docker.service --since "$1" --no-pager -o cat 2>&1
elif [ -r /var/log/docker.log ]; then tail -n 60 /var/log/docker.log; fi; true`

// dockerReloadScript sends SIGHUP to the daemon in the pid file, only if
// that pid is a number and its process is dockerd: a stale pid file must
// not signal (and so kill) an unrelated process.
const dockerReloadScript = `pid=$(cat -- "$1") || exit 1
case $pid in '' | *[!0-9]*) echo "$1 does not hold a pid" >&2; exit 1 ;; esac
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then echo "process $pid of $1 is not dockerd" >&2; exit 1; fi
kill -HUP "$pid"`

// applyDockerConfig moves the file to op.target under the host lock:
// validate, write atomically, reload or restart, wait for a healthy
// daemon that shows the new values; on failure put the old file back,
// restart on it, and report the daemon's own error lines.
func applyDockerConfig(ctx context.Context, client *remote.Client, op dockerOperation) (dockerResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Docker Configuration"
	host := client.Config().String()
	unlock, lockDiags := lockHost(ctx, client, summary, dockerResourceType+" "+op.path)
	if diags.Append(lockDiags...); diags.HasError() {
		return dockerResult{}, diags
	}
	defer unlock()

	files, err := client.ReadFiles(ctx, op.path)
	if err != nil {
		diags.Append(hostError(summary, "Reading "+op.path, client, err))
		return dockerResult{}, diags
	}
	before := remote.FileState{Exists: files[0].Exists, Data: files[0].Data}
	// The host's ledger says what was there before this provider first
	// wrote the file, and whether the file is still what it wrote.
	rec, err := client.ReadLedger(ctx, op.path)
	if err != nil {
		diags.Append(hostError(summary, "Reading what the provider recorded of "+op.path, client, err))
		return dockerResult{}, diags
	}
	if op.restoring {
		if why := notOurs(rec, before.Exists, before.Data); why != "" || rec == nil {
			if why != "" {
				fileLeftWarning(&diags, path.Root("path"), client, op.path, why, "Edit or remove it yourself, and restart dockerd.")
			}
			if rec != nil {
				if err := client.WriteLedger(ctx, op.path, nil); err != nil {
					diags.Append(hostError(summary, "Removing the provider's record of "+op.path, client, err))
				}
			}
			return dockerResult{before: before}, diags
		}
		op.target = remote.FileState{Exists: rec.Previous.Exists, Data: rec.Previous.Data}
	}
	var nextRec *remote.LedgerRecord // nil on destroy: the record goes
	firstBefore := before
	if !op.restoring {
		nextRec = remote.NewLedgerRecord(dockerResourceType, op.path, rec, remote.PreviousOf(rec, remote.FileMeta{Exists: before.Exists, Data: before.Data, Mode: dockerFileMode}, op.creating), op.target.Data)
		firstBefore = remote.FileState{Exists: nextRec.Previous.Exists, Data: nextRec.Previous.Data}
	}
	current, curErr := dockerd.Parse(before.Data)
	if curErr != nil {
		current = dockerd.Document{} // a broken file: every key is a change
	}
	next, err := dockerd.Parse(op.target.Data)
	switch {
	case err != nil && op.restoring:
		// The file found before the resource was broken: put it back as it
		// was all the same, and judge the daemon by defaults.
		next = dockerd.Document{}
	case err != nil:
		diags.AddAttributeError(path.Root("config"), summary, err.Error())
		return dockerResult{}, diags
	}
	dh, err := probeDockerHost(ctx, client, current.PidFile())
	if err != nil {
		diags.Append(hostError(summary, "Finding how dockerd runs", client, err))
		return dockerResult{}, diags
	}
	res := dockerResult{before: firstBefore}

	// Validate everything before writing anything.
	if !op.restoring {
		if conflicts := dockerd.Conflicts(next, dockerd.FlagKeys(dh.flags)); len(conflicts) > 0 {
			var parts []string
			for _, c := range conflicts {
				parts = append(parts, fmt.Sprintf("%q (already passed as %q)", c.Key, c.Flag))
			}
			diags.AddAttributeError(path.Root("config"), summary, fmt.Sprintf(
				"%s on %s sets %s: dockerd refuses to start when a setting is both a flag and in %s. Remove the key from config, or the flag from the service. Nothing was changed.",
				dh.flagSrc, host, strings.Join(parts, ", "), op.path))
			return res, diags
		}
		if res.validation, diags = validateDockerConfig(ctx, client, next, op.target.Data); diags.HasError() {
			return res, diags
		}
	}

	changed := dockerd.Changed(current, next)
	// The daemon as it runs now, through the socket it serves now. A live
	// dockerd that the tunnel cannot reach is a connection problem, found
	// before anything is written; no dockerd at all is fine: a restart
	// starts it.
	eng, err := engine.New(client.Dial, current.Socket())
	if err != nil {
		diags.AddError(summary, err.Error())
		return res, diags
	}
	defer eng.Close()
	// Compared with what dockerd reports, the documents are read as the host
	// resolves them; the file is still written as configured.
	current, next = hostView(ctx, client, current), hostView(ctx, client, next)
	var pendingBefore []string
	eff, err := eng.Effective(ctx)
	if err == nil {
		// Written earlier but never applied: applying now includes them.
		pendingBefore = dockerd.Pending(current, eff)
		changed = union(changed, pendingBefore)
	} else if _, alive := daemonPid(ctx, client, current.PidFile()); alive {
		diags.AddError(summary, fmt.Sprintf(
			"dockerd runs on %s but its Engine API at %s did not answer through the SSH tunnel: %v. The login user must be able to open the socket (root, or a member of the docker group) and sshd must allow stream-local forwarding. Nothing was changed.",
			host, current.Socket(), err))
		return res, diags
	}
	restartKeys := dockerd.RestartKeys(current, next, pendingBefore)
	action := "none"
	switch {
	case len(changed) == 0:
	case op.restart == restartNever:
		action = "none"
	case len(restartKeys) > 0 && op.restart == restartReloadOnly && !op.restoring:
		diags.AddAttributeError(path.Root("restart"), summary, fmt.Sprintf(
			"%s cannot be applied by a reload, and restart = %q. Set restart = \"auto\" to allow a restart of dockerd on %s, or \"never\" to write the file only. Nothing was changed.",
			strings.Join(restartKeys, ", "), restartReloadOnly, host))
		return res, diags
	case len(restartKeys) > 0:
		action = "restart"
	default:
		action = "reload"
	}
	if action == "restart" && dh.restartArgv(op.restartCommand) == nil {
		diags.AddAttributeError(path.Root("restart_command"), summary, fmt.Sprintf(
			"%s needs a restart of dockerd, and %s runs neither systemd nor /etc/init.d/docker. Set restart_command to the command that restarts it, or restart = \"never\". Nothing was changed.",
			strings.Join(restartKeys, ", "), host))
		return res, diags
	}

	if bytesEqual(before, op.target) && action == "none" {
		res.pending, res.effective = dockerd.Pending(next, eff), eff
		return res, diags
	}
	// The record first, so a run cut short after the write still leaves
	// what was there before.
	if nextRec != nil {
		if err := client.WriteLedger(ctx, op.path, nextRec); err != nil {
			diags.Append(hostError(summary, "Recording what was there before "+op.path+" (nothing was changed)", client, err))
			return res, diags
		}
	}
	if err := client.SetFile(ctx, op.path, op.target, dockerFileMode); err != nil {
		msg := rollbackDockerFile(ctx, client, op.path, before, rec)
		diags.Append(hostError(summary, "Writing "+op.path, client, fmt.Errorf("%w. %s", err, msg)))
		return res, diags
	}
	if nextRec == nil {
		if err := client.WriteLedger(ctx, op.path, nil); err != nil {
			msg := rollbackDockerFile(ctx, client, op.path, before, rec)
			diags.Append(hostError(summary, "Removing the provider's record of "+op.path, client, fmt.Errorf("%w. %s", err, msg)))
			return res, diags
		}
	}
	tflog.Info(ctx, "docker configuration written", map[string]any{"host": host, "path": op.path, "changed": changed, "action": action})

	if action == "none" {
		res.pending, res.effective = dockerd.Pending(next, eff), eff
		return res, diags
	}
	started := time.Now()
	healthy, failure := applyDockerAction(ctx, client, dh, op, action, next)
	if failure == nil {
		res.effective = healthy
		res.pending = dockerd.Pending(next, healthy)
		return res, diags
	}

	// Roll back: the daemon's complaint first, then the old file, applied
	// the way the new one was (a failed reload is undone by a reload, so
	// containers are not restarted for it).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(rollbackTimeout, op.healthTimeout+time.Minute))
	defer cancel()
	lines := daemonErrorLines(rctx, client, started)
	rollback := rollbackDockerFile(rctx, client, op.path, before, rec)
	if !strings.HasPrefix(rollback, "Rolling back also failed") {
		if _, err := applyDockerAction(rctx, client, dh, op, action, current); err != nil {
			rollback += fmt.Sprintf(" The daemon did not come back on the old file either: %v.", err)
		} else {
			rollback += " dockerd runs again on the old file."
		}
	}
	detail := fmt.Sprintf("After the %s, dockerd on %s %v.", action, host, failure)
	if len(lines) > 0 {
		detail += "\n\nThe daemon said:\n  " + strings.Join(lines, "\n  ")
	}
	diags.AddAttributeError(path.Root("config"), summary, detail+"\n\n"+rollback+" Fix the configuration and apply again.")
	return res, diags
}

// daemonErrorLines returns the daemon's error lines logged since a time:
// from the journal on systemd hosts, else from the end of the init
// script's log file.
func daemonErrorLines(ctx context.Context, client *remote.Client, since time.Time) []string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := client.Output(ctx, []string{"sh", "-c", dockerLogScript, "sh", fmt.Sprintf("@%d", since.Add(-2*time.Second).Unix())}, nil)
	if err != nil {
		return nil
	}
	return dockerd.ErrorLines(string(out), 8)
}

// validateDockerConfig checks the candidate with the engine's own
// validation where it exists, and against the known keys otherwise.
func validateDockerConfig(ctx context.Context, client *remote.Client, next dockerd.Document, data []byte) (string, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Invalid Docker Configuration"
	host := client.Config().String()
	res, err := client.Run(ctx, []string{"sh", "-c", dockerValidateScript}, data)
	if err != nil {
		diags.Append(hostError(summary, "Running dockerd --validate", client, err))
		return "", diags
	}
	out := strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
	switch {
	case res.ExitCode == 127:
		diags.AddError(summary, fmt.Sprintf("dockerd is not installed on %s (or not on the login user's PATH): %s. Nothing was changed.", host, out))
		return "", diags
	case res.ExitCode == 0 && out != "unsupported":
		return "dockerd --validate", diags
	case res.ExitCode != 0:
		diags.AddAttributeError(path.Root("config"), summary, fmt.Sprintf(
			"dockerd --validate on %s refused it: %s. Nothing was changed.", host, out))
		return "", diags
	}
	if unknown := dockerd.UnknownKeys(next); len(unknown) > 0 {
		var parts []string
		for _, u := range unknown {
			p := fmt.Sprintf("%q", u.Key)
			if u.Suggestion != "" {
				p += fmt.Sprintf(" (did you mean %q?)", u.Suggestion)
			}
			parts = append(parts, p)
		}
		diags.AddAttributeError(path.Root("config"), summary, fmt.Sprintf(
			"%s: not a daemon.json key, so dockerd would refuse to start. Nothing was changed.", strings.Join(parts, ", ")))
		return "", diags
	}
	diags.AddAttributeWarning(path.Root("config"), "Docker Configuration Only Partly Validated", fmt.Sprintf(
		"dockerd on %s is older than Docker 23 and has no --validate: only the key names were checked, not their values. A bad value is caught when the daemon restarts, and the old file is then put back.", host))
	return "known keys", diags
}

// applyDockerAction reloads or restarts the daemon for doc and waits
// until it answers, on doc's socket, with doc's values in effect.
func applyDockerAction(ctx context.Context, client *remote.Client, dh dockerHost, op dockerOperation, action string, doc dockerd.Document) (dockerd.Effective, error) {
	eng, err := engine.New(client.Dial, doc.Socket())
	if err != nil {
		return dockerd.Effective{}, err
	}
	defer eng.Close()
	oldPid := ""
	if action == "restart" {
		argv := dh.restartArgv(op.restartCommand)
		res, err := client.Run(ctx, argv, nil)
		switch {
		case err != nil:
			return dockerd.Effective{}, fmt.Errorf("could not be restarted with %q: %w", strings.Join(argv, " "), err)
		case res.ExitCode != 0:
			return dockerd.Effective{}, fmt.Errorf("failed to restart: %q exited %d: %s", strings.Join(argv, " "), res.ExitCode, strings.TrimSpace(string(res.Stdout)+string(res.Stderr)))
		}
		oldPid = dh.pid
	} else if _, err := client.Output(ctx, []string{"sh", "-c", dockerReloadScript, "sh", doc.PidFile()}, nil); err != nil {
		return dockerd.Effective{}, fmt.Errorf("could not be sent SIGHUP: %w", err)
	}
	return waitHealthy(ctx, client, eng, op.healthTimeout, doc, oldPid)
}

// waitHealthy polls the Engine API until the daemon answers with doc's
// values in effect, from a process other than oldPid when that is set
// (a restart). It gives up early when no daemon process is left.
func waitHealthy(ctx context.Context, client *remote.Client, eng *engine.Engine, timeout time.Duration, doc dockerd.Document, oldPid string) (dockerd.Effective, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	gone := 0
	for {
		pid, alive := daemonPid(ctx, client, doc.PidFile())
		switch {
		case !alive:
			gone++
			last = errors.New("is not running")
		case oldPid != "" && pid == oldPid:
			last = errors.New("is still the old process")
		default:
			gone = 0
			eff, err := eng.Effective(ctx)
			if err == nil {
				if pending := dockerd.Pending(doc, eff); len(pending) > 0 {
					last = fmt.Errorf("answers but does not show %s from the file", strings.Join(pending, ", "))
				} else {
					return eff, nil
				}
			} else {
				last = err
			}
		}
		// Six checks in a row without a daemon process: it exited.
		if gone >= 6 {
			return dockerd.Effective{}, fmt.Errorf("exited instead of starting (%w)", last)
		}
		select {
		case <-ctx.Done():
			return dockerd.Effective{}, fmt.Errorf("was not healthy within %s: %w", timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// daemonPid reads the pid file and whether that process lives.
func daemonPid(ctx context.Context, client *remote.Client, pidFile string) (string, bool) {
	files, err := client.ReadFiles(ctx, pidFile)
	if err != nil || !files[0].Exists {
		return "", false
	}
	pid := strings.TrimSpace(string(files[0].Data))
	if pid == "" || strings.Trim(pid, "0123456789") != "" {
		return "", false
	}
	// A pid file left by a crash may name a reused pid: only dockerd counts.
	proc, err := client.ReadFiles(ctx, "/proc/"+pid+"/comm")
	return pid, err == nil && proc[0].Exists && strings.TrimSpace(string(proc[0].Data)) == "dockerd"
}

func rollbackDockerFile(ctx context.Context, client *remote.Client, file string, before remote.FileState, rec *remote.LedgerRecord) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if err := client.SetFile(ctx, file, before, dockerFileMode); err != nil {
		return fmt.Sprintf("Rolling back also failed, so %s may hold the new configuration: %v.", file, err)
	}
	if err := client.WriteLedger(ctx, file, rec); err != nil {
		return fmt.Sprintf("%s was put back as it was, but the provider's record of it was not: %v.", file, err)
	}
	return file + " was put back as it was."
}

// dockerResourceType names the resource in the host's ledger.
const dockerResourceType = "mcpai_docker_daemon_config"

func bytesEqual(a, b remote.FileState) bool {
	return a.Exists == b.Exists && string(a.Data) == string(b.Data)
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
