package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
)

// mcpai_host_sysctl's apply steps: the file and live values before, the
// ledger record, the file's and live values' writes read back, and the
// rollback when any of them fails.

// sysctlSnapshot is the file and the live values of some keys.
type sysctlSnapshot struct {
	file remote.FileState
	live map[string]string // keys that exist; raw kernel text
}

// readSysctl reads the file and the keys' /proc/sys files in one round trip.
func readSysctl(ctx context.Context, client *remote.Client, file string, keys []string) (sysctlSnapshot, error) {
	paths := []string{file}
	for _, k := range keys {
		paths = append(paths, sysctl.Path(k))
	}
	files, err := client.ReadFiles(ctx, paths...)
	if err != nil {
		return sysctlSnapshot{}, err
	}
	snap := sysctlSnapshot{file: remote.FileState{Exists: files[0].Exists, Data: files[0].Data}, live: map[string]string{}}
	for i, k := range keys {
		if f := files[i+1]; f.Exists {
			snap.live[k] = strings.TrimRight(string(f.Data), "\n")
		}
	}
	return snap, nil
}

type sysctlResult struct {
	previous   map[string]string
	fileBefore remote.FileState
}

// sysctlResourceType names the resource in the host's ledger.
const sysctlResourceType = "mcpai_host_sysctl"

// applySysctl moves a host from the old settings to next (nil: destroy)
// under the host lock: check every key of next exists and is writable,
// record in the host's ledger what was there before, write the file (on
// destroy: put back the file found before, but only if the file is still
// the one written here), write the live values and read each back. Any
// failure restores the values already written, the file and the ledger,
// then reports the key and what the kernel said.
//
// statePrevious is the file the state recorded as there before (nil when
// there is no state: a create), for a file of ours the ledger has no
// record of.
func applySysctl(ctx context.Context, client *remote.Client, file string, old, next, previous map[string]string, statePrevious *remote.FileState) (sysctlResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Sysctl Settings"
	destroy := next == nil
	unlock, lockDiags := lockHost(ctx, client, summary, sysctlResourceType+" "+file)
	if diags.Append(lockDiags...); diags.HasError() {
		return sysctlResult{}, diags
	}
	defer unlock()

	rec, err := client.ReadLedger(ctx, file)
	if err != nil {
		diags.Append(hostError(summary, "Reading what the provider recorded of "+file, client, err))
		return sysctlResult{}, diags
	}
	// What was there before this resource: the state's, else the ledger's
	// (a state lost, or a create that never saved one), else the host's now.
	previous = maps.Clone(previous)
	if previous == nil {
		previous = map[string]string{}
	}
	if rec != nil {
		for k, v := range rec.PreviousValues {
			if _, ok := previous[k]; !ok {
				previous[k] = v
			}
		}
	}
	changes := sysctl.Plan(old, next, previous)
	keys := make([]string, 0, len(changes))
	for _, c := range changes {
		keys = append(keys, c.Key)
	}
	before, err := readSysctl(ctx, client, file, keys)
	if err != nil {
		diags.Append(hostError(summary, "Reading the current values", client, err))
		return sysctlResult{}, diags
	}
	if destroy {
		// A key that vanished (its module unloaded, its interface removed)
		// has nothing left to restore: say so and restore the rest.
		var vanished []string
		kept := changes[:0]
		for _, c := range changes {
			if _, ok := before.live[c.Key]; ok {
				kept = append(kept, c)
			} else {
				vanished = append(vanished, c.Key)
			}
		}
		changes = kept
		if len(vanished) > 0 {
			diags.AddWarning("Kernel Parameters No Longer Exist", fmt.Sprintf(
				"%s no longer exist on %s (a module unloaded or an interface removed?), so their earlier values were not restored; the others were.",
				strings.Join(vanished, ", "), client.Config()))
		}
	}

	// Validate everything before writing anything.
	var unknown []string
	for _, k := range sysctl.SortedKeys(next) {
		if _, ok := before.live[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		diags.AddAttributeError(path.Root("settings"), summary, fmt.Sprintf(
			"%s: no such kernel parameter on %s (%s does not exist). Check the spelling, and whether the module providing it is loaded. Nothing was changed.",
			strings.Join(unknown, ", "), client.Config(), sysctl.Path(unknown[0])))
		return sysctlResult{}, diags
	}
	// Writing a key's own current value back proves it is writable here
	// without changing it: inside a network namespace or a container some
	// keys exist but refuse every write.
	probes := make([]remote.PathValue, 0, len(next))
	for _, k := range sysctl.SortedKeys(next) {
		probes = append(probes, remote.PathValue{Path: sysctl.Path(k), Value: before.live[k]})
	}
	results, err := client.WriteInPlace(ctx, probes, false)
	if err != nil {
		diags.Append(hostError(summary, "Checking that the keys are writable", client, err))
		return sysctlResult{}, diags
	}
	var readOnly []string
	for i, k := range sysctl.SortedKeys(next) {
		if !results[i].OK {
			readOnly = append(readOnly, fmt.Sprintf("%s (the kernel said: %s)", k, results[i].Error))
		}
	}
	if len(readOnly) > 0 {
		diags.AddAttributeError(path.Root("settings"), summary, fmt.Sprintf(
			"These keys cannot be written on %s: %s. They are read-only here, e.g. in a network namespace or container, or the login user lacks the privilege (connect as root or set ssh.sudo = true). Remove them from settings or set them on the host that owns them. Nothing was changed.",
			client.Config(), strings.Join(readOnly, "; ")))
		return sysctlResult{}, diags
	}

	prev := map[string]string{}
	for k := range next {
		if v, ok := previous[k]; ok {
			prev[k] = v
		} else {
			prev[k] = sysctl.Normalize(before.live[k])
		}
	}
	fileBefore := before.file
	var target *remote.FileState // nil: leave the file as it is
	var nextRec *remote.LedgerRecord
	if destroy {
		target, diags = sysctlFileOnDestroy(client, file, rec, before.file, diags)
	} else {
		content := sysctl.Render(next)
		target = &remote.FileState{Exists: true, Data: content}
		was := sysctlFileBefore(client, file, rec, before.file, statePrevious, &diags)
		nextRec = remote.NewLedgerRecord(sysctlResourceType, file, rec, remote.FileMeta{Exists: was.Exists, Data: was.Data, Mode: sysctlFileMode}, content)
		if nextRec.PreviousValues == nil {
			nextRec.PreviousValues = map[string]string{}
		}
		for k, v := range prev {
			if _, known := nextRec.PreviousValues[k]; !known {
				nextRec.PreviousValues[k] = v
			}
		}
		fileBefore = was
	}
	// The ledger first: a run cut short after the file is written still
	// leaves a record of what was there before.
	if !destroy {
		if err := client.WriteLedger(ctx, file, nextRec); err != nil {
			diags.Append(hostError(summary, "Recording what was there before (nothing was changed)", client, err))
			return sysctlResult{}, diags
		}
	}
	if target != nil {
		if err := client.SetFile(ctx, file, *target, sysctlFileMode); err != nil {
			// The write may have landed before it failed (a dropped connection
			// after the rename): put the file back as it was either way.
			rollback := rollbackSysctl(ctx, client, file, before, rec, !destroy, nil)
			diags.Append(hostError(summary, "Writing "+file, client, fmt.Errorf("%w. %s", err, rollback)))
			return sysctlResult{}, diags
		}
	}

	writes := make([]remote.PathValue, len(changes))
	for i, c := range changes {
		writes[i] = remote.PathValue{Path: sysctl.Path(c.Key), Value: sysctl.Normalize(c.Value)}
	}
	results, err = client.WriteInPlace(ctx, writes, true)
	failed, reason, attempted := -1, "", changes
	switch {
	case err != nil:
		// The answer was lost, not necessarily the writes: undo them all
		// (writing a value back is harmless if it never changed).
		failed, reason = 0, err.Error()
	default:
		for i, res := range results {
			if !res.OK {
				failed, reason = i, "the kernel refused it: "+res.Error
				break
			}
			if !sysctl.Equal(res.ReadBack, changes[i].Value) {
				failed, reason = i, fmt.Sprintf("the kernel accepted it but reads back %q (it clamps or rejects this value)", sysctl.Normalize(res.ReadBack))
				break
			}
		}
	}
	if failed >= 0 {
		c := changes[failed]
		if err == nil {
			attempted = changes[:failed+1]
		}
		rollback := rollbackSysctl(ctx, client, file, before, rec, target != nil, attempted)
		diags.AddAttributeError(path.Root("settings").AtMapKey(c.Key), summary, fmt.Sprintf(
			"Setting %s = %q on %s failed: %s. %s Use a value the kernel accepts for this key.",
			c.Key, c.Value, client.Config(), reason, rollback))
		return sysctlResult{}, diags
	}
	if destroy {
		// The record goes with the resource, whether the file was ours to
		// restore or had become someone else's.
		if err := client.WriteLedger(ctx, file, nil); err != nil {
			diags.Append(hostError(summary, "Removing the provider's record of "+file+" (the values and the file were restored)", client, err))
			return sysctlResult{}, diags
		}
	}
	tflog.Debug(ctx, "applied sysctl settings", map[string]any{"host": client.Config().String(), "file": file, "keys": len(changes)})
	return sysctlResult{previous: prev, fileBefore: fileBefore}, diags
}

// sysctlFileBefore decides what was at file before this resource first
// wrote it: the ledger's record; but on a create (no state) a file that
// replaced ours since (no header of ours) is what there is to put back, and a file of ours the
// ledger has no record of (an earlier release's) is never "what was
// there": the state's record stands, else no file.
func sysctlFileBefore(client *remote.Client, file string, rec *remote.LedgerRecord, cur remote.FileState, statePrevious *remote.FileState, diags *diag.Diagnostics) remote.FileState {
	ours := cur.Exists && strings.HasPrefix(string(cur.Data), sysctl.Header)
	switch {
	case statePrevious == nil && rec != nil && cur.Exists && !ours && !rec.Wrote(cur.Data):
		diags.AddAttributeWarning(path.Root("file"), "File Replaced Since It Was Written", fmt.Sprintf(
			"%s on %s is no longer the file this provider wrote, nor one of its own: it is recorded as the file to put back on destroy, in place of the one found before the first apply.", file, client.Config()))
		return cur
	case rec != nil:
		return remote.FileState{Exists: rec.Previous.Exists, Data: rec.Previous.Data}
	case ours && statePrevious != nil:
		return *statePrevious
	case ours:
		return remote.FileState{}
	}
	return cur
}

// sysctlFileOnDestroy decides what destroy does with the file: put back what
// the ledger says was there, but only while the file is the one written
// here. After an import (no record) or an edit since, it stays, with a
// warning that says why.
func sysctlFileOnDestroy(client *remote.Client, file string, rec *remote.LedgerRecord, cur remote.FileState, diags diag.Diagnostics) (*remote.FileState, diag.Diagnostics) {
	if why := notOurs(rec, cur.Exists, cur.Data); why != "" {
		fileLeftWarning(&diags, path.Root("file"), client, file, why, "The live values recorded as previous were restored. Edit or remove the file yourself if its settings should go.")
		return nil, diags
	}
	if rec == nil || (!cur.Exists && !rec.Previous.Exists) {
		return nil, diags
	}
	return &remote.FileState{Exists: rec.Previous.Exists, Data: rec.Previous.Data}, diags
}

// rollbackSysctl writes back the values the attempted changes replaced,
// the file as it was (when it was written) and the ledger record as it was
// (when one was written), and says how that went.
func rollbackSysctl(ctx context.Context, client *remote.Client, file string, before sysctlSnapshot, rec *remote.LedgerRecord, fileWritten bool, attempted []sysctl.Change) string {
	// A cancelled run must still roll back, but not wait forever on a host
	// that stopped answering.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	undo := make([]remote.PathValue, 0, len(attempted))
	for _, c := range attempted {
		undo = append(undo, remote.PathValue{Path: sysctl.Path(c.Key), Value: before.live[c.Key]})
	}
	var problems []string
	var results []remote.WriteResult
	if len(undo) > 0 {
		var err error
		if results, err = client.WriteInPlace(ctx, undo, false); err != nil {
			problems = append(problems, err.Error())
		}
	}
	for i, res := range results {
		if !res.OK {
			problems = append(problems, fmt.Sprintf("%s: %s", attempted[i].Key, res.Error))
		}
	}
	if fileWritten {
		// The earlier record comes back only with the file: while the file
		// is unknown, the new record (which knows both contents) stays.
		if err := client.SetFile(ctx, file, before.file, sysctlFileMode); err != nil {
			problems = append(problems, err.Error())
		} else if err := client.WriteLedger(ctx, file, rec); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return "Rolling back also failed, so the host may be half-applied: " + strings.Join(problems, "; ") + "."
	}
	if len(attempted) == 0 {
		return file + " was restored; nothing was changed."
	}
	return "The values already applied and " + file + " were restored; nothing was changed."
}
