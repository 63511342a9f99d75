package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mcpai/terraform-provider-mcpai/internal/kernel"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
	"github.com/mcpai/terraform-provider-mcpai/internal/sysctl"
)

// mcpai_host_kernel's apply steps: the host's snapshot (files and live sysfs
// values), the files' and live values' writes, the check of what the kernel
// took, and the rollback when any of them fails.

// kernelSnapshot is what the host has: the persisted files, and the live
// sysfs values (the active word of THP selectors, each CPU's governor).
type kernelSnapshot struct {
	files      map[string]remote.FileState
	live       map[string]string   // path -> active value; only paths that exist
	choices    map[string][]string // path -> values the kernel offers
	online     []int
	cmdlineTHP string
	nrOpen     uint64
}

// cpufreqCPUs are the online CPUs that have a governor.
func (s kernelSnapshot) cpufreqCPUs() []int {
	var out []int
	for _, c := range s.online {
		if _, ok := s.live[kernel.GovernorPath(c)]; ok {
			out = append(out, c)
		}
	}
	return out
}

// active returns the live values of the given targets' paths.
func (s kernelSnapshot) active(targets map[string]string) map[string]string {
	out := map[string]string{}
	for p := range targets {
		if v, ok := s.live[p]; ok {
			out[p] = v
		}
	}
	return out
}

// ownFiles are the files, of the three, that carry this resource's header.
func (s kernelSnapshot) ownFiles() map[string]string {
	out := map[string]string{}
	for p, f := range s.files {
		if f.Exists && kernel.Rendered(f.Data) {
			out[p] = string(f.Data)
		}
	}
	return out
}

// readKernel reads the files and live values in one round trip, plus one
// more for the CPUs' governors when withCPUs is set.
func readKernel(ctx context.Context, client *remote.Client, withCPUs bool) (kernelSnapshot, error) {
	first := append([]string{kernel.THPEnabledPath, kernel.THPDefragPath, kernel.CPUOnlinePath, kernel.CmdlinePath, kernel.NrOpenPath}, kernel.Files...)
	got, err := client.ReadFiles(ctx, first...)
	if err != nil {
		return kernelSnapshot{}, err
	}
	s := kernelSnapshot{files: map[string]remote.FileState{}, live: map[string]string{}, choices: map[string][]string{}}
	for _, f := range got[5:] {
		s.files[f.Path] = remote.FileState{Exists: f.Exists, Data: f.Data}
	}
	for _, f := range got[:2] {
		if !f.Exists {
			continue
		}
		active, choices, err := kernel.ParseSelector(string(f.Data))
		if err != nil {
			return s, fmt.Errorf("%s: %w", f.Path, err)
		}
		if active != "" {
			s.live[f.Path], s.choices[f.Path] = active, choices
		}
	}
	s.cmdlineTHP = kernel.CmdlineTHP(string(got[3].Data))
	if got[4].Exists {
		if s.nrOpen, err = strconv.ParseUint(strings.TrimSpace(string(got[4].Data)), 10, 64); err != nil {
			return s, fmt.Errorf("%s: %q is not a number", kernel.NrOpenPath, got[4].Data)
		}
	}
	if !withCPUs || !got[2].Exists {
		return s, nil
	}
	if s.online, err = kernel.CPUs(string(got[2].Data)); err != nil {
		return s, fmt.Errorf("%s: %w", kernel.CPUOnlinePath, err)
	}
	var paths []string
	for _, c := range s.online {
		paths = append(paths, kernel.GovernorPath(c), kernel.AvailableGovernorsPath(c))
	}
	if got, err = client.ReadFiles(ctx, paths...); err != nil {
		return s, err
	}
	for i := 0; i+1 < len(got); i += 2 {
		gov, avail := got[i], got[i+1]
		if !gov.Exists {
			continue
		}
		choices, err := kernel.ParseGovernors(string(avail.Data))
		if err != nil {
			return s, fmt.Errorf("%s: %w", avail.Path, err)
		}
		s.live[gov.Path] = strings.TrimSpace(string(gov.Data))
		s.choices[gov.Path] = choices
	}
	return s, nil
}

// kernelChange is one move of a host between settings: old is what the
// resource managed until now, next what it is to manage (empty on destroy).
type kernelChange struct {
	old, next     kernel.Settings
	optional      bool              // a missing cpufreq only warns
	previous      map[string]string // live values before the resource, by path
	previousFiles map[string]string // files that existed before the resource
}

type kernelResult struct {
	previous      map[string]string
	previousFiles map[string]string
}

// applyKernel makes the host match c.next under the host lock: it reads
// everything, checks every value against what the host offers, writes the
// files atomically and then the live values with read-back. Any failure
// puts back the values and files already changed.
func applyKernel(ctx context.Context, client *remote.Client, c kernelChange) (kernelResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Kernel Settings"
	unlock, lockDiags := lockHost(ctx, client, summary, kernelResourceType)
	if diags.Append(lockDiags...); diags.HasError() {
		return kernelResult{}, diags
	}
	defer unlock()

	before, err := readKernel(ctx, client, c.old.CPUGovernor != "" || c.next.CPUGovernor != "")
	if err != nil {
		diags.Append(hostError(summary, "Reading the current settings", client, err))
		return kernelResult{}, diags
	}
	if diags.Append(checkKernel(client, c, before)...); diags.HasError() {
		return kernelResult{}, diags
	}

	// What the host's ledger remembers of each file: after a state was
	// lost, what was there before comes from it, never from our own files
	// or values.
	recs := map[string]*remote.LedgerRecord{}
	for _, p := range kernel.Files {
		if recs[p], err = client.ReadLedger(ctx, p); err != nil {
			diags.Append(hostError(summary, "Reading what the provider recorded of "+p, client, err))
			return kernelResult{}, diags
		}
	}
	previous := maps.Clone(c.previous)
	if previous == nil {
		previous = map[string]string{}
	}
	if rec := recs[kernel.TmpfilesFile]; rec != nil {
		for k, v := range rec.PreviousValues {
			if _, ok := previous[k]; !ok {
				previous[k] = v
			}
		}
	}

	// Live writes: the next values, and previous values for settings
	// dropped; a value already in place is not written.
	cpus := before.cpufreqCPUs()
	var writes []remote.PathValue
	for _, ch := range sysctl.Plan(c.old.Targets(cpus), c.next.Targets(cpus), previous) {
		if before.live[ch.Key] != ch.Value {
			writes = append(writes, remote.PathValue{Path: ch.Key, Value: ch.Value})
		}
	}
	prev := map[string]string{}
	for p := range c.next.Targets(cpus) {
		if v, ok := previous[p]; ok {
			prev[p] = v
		} else if v, ok := before.live[p]; ok {
			prev[p] = v
		}
	}

	// Files: ours as rendered. Ours means carrying our header: a file
	// without it is someone else's, recorded in previous_files (and the
	// ledger) before it is replaced and otherwise never touched. A file of
	// ours no longer rendered goes back to what was there before the
	// resource, or away, but only while it is the one written here (the
	// ledger's hash): after an import or an edit since, it stays.
	rendered, wasRendered := c.next.Render(), c.old.Render()
	prevFiles := maps.Clone(c.previousFiles)
	if prevFiles == nil {
		prevFiles = map[string]string{}
	}
	var written, recorded []string
	for _, p := range kernel.Files {
		cur := before.files[p]
		ours := cur.Exists && kernel.Rendered(cur.Data)
		rec := recs[p]
		var target remote.FileState
		var nextRec *remote.LedgerRecord
		if content, ok := rendered[p]; ok {
			target = remote.FileState{Exists: true, Data: []byte(content)}
			// A file of ours edited to lose the header is drift, not a
			// site's file: only record one the resource never rendered.
			_, rendering := wasRendered[p]
			// A site's file found now (none of ours, nor the one written
			// here) is what was there; else the ledger's record says.
			_, known := prevFiles[p]
			switch {
			case known:
			case cur.Exists && !ours && !rendering && !rec.Wrote(cur.Data):
				prevFiles[p] = string(cur.Data)
			case rec != nil && rec.Previous.Exists:
				prevFiles[p] = string(rec.Previous.Data)
			}
			was := remote.FileMeta{Mode: kernelFileMode}
			if content, ok := prevFiles[p]; ok {
				was = remote.FileMeta{Exists: true, Data: []byte(content), Mode: kernelFileMode}
			}
			nextRec = remote.NewLedgerRecord(kernelResourceType, p, rec, was, target.Data)
			if p == kernel.TmpfilesFile {
				// The live values found before: the earlier record's stand.
				if nextRec.PreviousValues == nil {
					nextRec.PreviousValues = map[string]string{}
				}
				for k, v := range prev {
					if _, recorded := nextRec.PreviousValues[k]; !recorded {
						nextRec.PreviousValues[k] = v
					}
				}
			} else {
				nextRec.PreviousValues = nil
			}
		} else {
			if !ours {
				continue
			}
			if rec == nil || !rec.Wrote(cur.Data) {
				why := "it changed since this provider wrote it"
				if rec == nil {
					why = "this provider has no record of writing it (it was imported, copied from another host, or written by an older release)"
				}
				diags.AddWarning("File Left In Place", fmt.Sprintf(
					"%s on %s carries mcpai_host_kernel's header, but %s, so it was left as it is. Edit or remove it yourself.", p, client.Config(), why))
				delete(prevFiles, p)
				if rec != nil {
					recorded = append(recorded, p)
					if err := client.WriteLedger(ctx, p, nil); err != nil {
						msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
						diags.Append(hostError(summary, "Removing the provider's record of "+p, client, fmt.Errorf("%w. %s", err, msg)))
						return kernelResult{}, diags
					}
				}
				continue
			}
			if content, ok := prevFiles[p]; ok {
				target = remote.FileState{Exists: true, Data: []byte(content)}
			} else if rec.Previous.Exists {
				target = remote.FileState{Exists: true, Data: rec.Previous.Data}
			}
			delete(prevFiles, p)
		}
		// A new record goes first, so a run cut short after the file is
		// written still leaves what was there before; a record that goes
		// goes after its file is put back, for the same reason.
		writeRecord := func() bool {
			if sameRecord(rec, nextRec) {
				return true
			}
			recorded = append(recorded, p)
			if err := client.WriteLedger(ctx, p, nextRec); err != nil {
				msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
				diags.Append(hostError(summary, "Recording what was there before "+p, client, fmt.Errorf("%w. %s", err, msg)))
				return false
			}
			return true
		}
		if nextRec != nil && !writeRecord() {
			return kernelResult{}, diags
		}
		if cur.Exists != target.Exists || string(cur.Data) != string(target.Data) {
			written = append(written, p)
			if err := client.SetFile(ctx, p, target, kernelFileMode); err != nil {
				// It may have landed before the answer was lost: restore it too.
				msg := rollbackKernel(ctx, client, before, written, recorded, recs, nil)
				diags.Append(hostError(summary, "Writing "+p, client, fmt.Errorf("%w. %s", err, msg)))
				return kernelResult{}, diags
			}
		}
		if nextRec == nil && !writeRecord() {
			return kernelResult{}, diags
		}
	}

	if failure := writeLive(ctx, client, writes); failure != nil {
		attempted := writes
		if failure.index >= 0 {
			attempted = writes[:failure.changed]
		}
		msg := rollbackKernel(ctx, client, before, written, recorded, recs, attempted)
		detail := fmt.Sprintf("%s on %s. %s", failure.reason, client.Config(), msg)
		if failure.index < 0 {
			diags.AddError(summary, detail)
		} else {
			diags.AddAttributeError(knobAttribute(writes[failure.index].Path), summary, detail)
		}
		return kernelResult{}, diags
	}

	if slices.Contains(written, kernel.SystemdFile) {
		if err := reloadSystemd(ctx, client); err != nil {
			msg := rollbackKernel(ctx, client, before, written, recorded, recs, writes)
			diags.Append(hostError(summary, "Reloading systemd for "+kernel.SystemdFile, client, fmt.Errorf("%w. %s", err, msg)))
			return kernelResult{}, diags
		}
	}
	tflog.Debug(ctx, "applied kernel settings", map[string]any{"host": client.Config().String(), "live_writes": len(writes), "files": written})
	return kernelResult{previous: prev, previousFiles: prevFiles}, diags
}

// kernelResourceType names the resource in the host's ledger.
const kernelResourceType = "mcpai_host_kernel"

// sameRecord says whether writing b over a would change nothing.
func sameRecord(a, b *remote.LedgerRecord) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Written == b.Written && a.Previous.Exists == b.Previous.Exists && string(a.Previous.Data) == string(b.Previous.Data) &&
		maps.Equal(a.PreviousValues, b.PreviousValues)
}

// checkKernel validates c.next against the host before anything is written.
func checkKernel(client *remote.Client, c kernelChange, before kernelSnapshot) diag.Diagnostics {
	var diags diag.Diagnostics
	const summary = "Unable to Apply Kernel Settings"
	host := client.Config().String()
	offered := func(attrName, value, p string) {
		if value == "" {
			return
		}
		choices, ok := before.choices[p]
		switch {
		case !ok:
			diags.AddAttributeError(path.Root(attrName), summary, fmt.Sprintf(
				"%s does not exist on %s: this kernel has no transparent huge pages. Remove %s. Nothing was changed.", p, host, attrName))
		case !slices.Contains(choices, value):
			diags.AddAttributeError(path.Root(attrName), summary, fmt.Sprintf(
				"%q is not a mode this kernel offers on %s; %s lists: %s. Nothing was changed.", value, host, p, strings.Join(choices, ", ")))
		}
	}
	offered("transparent_hugepage_enabled", c.next.THPEnabled, kernel.THPEnabledPath)
	offered("transparent_hugepage_defrag", c.next.THPDefrag, kernel.THPDefragPath)
	if v := before.cmdlineTHP; v != "" && c.next.THPEnabled != "" {
		diags.AddAttributeWarning(path.Root("transparent_hugepage_enabled"), "THP Is Also Set on the Kernel Command Line",
			fmt.Sprintf("%s was booted with transparent_hugepage=%s. This resource still sets %q live and at boot (systemd-tmpfiles runs after the kernel command line takes effect), so its value wins; remove the boot parameter to keep one source of truth.", host, v, c.next.THPEnabled))
	}

	if gov := c.next.CPUGovernor; gov != "" {
		cpus := before.cpufreqCPUs()
		switch {
		case len(cpus) == 0 && c.optional:
			diags.AddAttributeWarning(path.Root("cpu_governor"), "CPU Governor Skipped",
				fmt.Sprintf("%s has no cpufreq (%s does not exist), so cpu_governor %q was not applied live; the boot-time line is still written.", host, kernel.GovernorPath(0), gov))
		case len(cpus) == 0:
			diags.AddAttributeError(path.Root("cpu_governor"), summary, fmt.Sprintf(
				"%s has no cpufreq: %s does not exist, as on most virtual machines. Set cpu_governor_optional = true to skip the governor on such hosts, or remove cpu_governor. Nothing was changed.", host, kernel.GovernorPath(0)))
		default:
			for _, cpu := range cpus {
				p := kernel.GovernorPath(cpu)
				if !slices.Contains(before.choices[p], gov) {
					diags.AddAttributeError(path.Root("cpu_governor"), summary, fmt.Sprintf(
						"CPU %d of %s does not offer the governor %q; %s lists: %s. Nothing was changed.", cpu, host, gov, kernel.AvailableGovernorsPath(cpu), strings.Join(before.choices[p], ", ")))
					break
				}
			}
		}
	}

	for _, l := range []struct {
		item  string
		limit *kernel.Limit
	}{{kernel.NoFile, c.next.NoFile}, {kernel.NProc, c.next.NProc}} {
		if l.limit == nil {
			continue
		}
		if err := l.limit.Check(l.item, before.nrOpen); err != nil {
			diags.AddAttributeError(path.Root(l.item+"_limit"), summary, fmt.Sprintf("%s on %s. Nothing was changed.", err, host))
		}
	}
	return diags
}

// knobAttribute names the attribute that set a sysfs path.
func knobAttribute(p string) path.Path {
	switch p {
	case kernel.THPEnabledPath:
		return path.Root("transparent_hugepage_enabled")
	case kernel.THPDefragPath:
		return path.Root("transparent_hugepage_defrag")
	}
	return path.Root("cpu_governor")
}

type liveFailure struct {
	index   int // the write that failed; -1 when the answer was lost
	changed int // how many writes may have changed a value: undo those
	reason  string
}

// writeLive writes the values, stopping at the first refusal, and checks
// that each reads back as written.
func writeLive(ctx context.Context, client *remote.Client, writes []remote.PathValue) *liveFailure {
	if len(writes) == 0 {
		return nil
	}
	results, err := client.WriteInPlace(ctx, writes, true)
	if err != nil {
		return &liveFailure{index: -1, reason: err.Error()}
	}
	for i, res := range results {
		w := writes[i]
		if !res.OK {
			// Refused (both of the transport's attempts): it changed nothing.
			return &liveFailure{index: i, changed: i, reason: fmt.Sprintf("Writing %q to %s failed: the kernel said %s", w.Value, w.Path, res.Error)}
		}
		if got, _, _ := kernel.ParseLive(w.Path, res.ReadBack); got != w.Value {
			return &liveFailure{index: i, changed: i + 1, reason: fmt.Sprintf("Writing %q to %s was accepted but it reads back %q", w.Value, w.Path, strings.TrimSpace(res.ReadBack))}
		}
	}
	return nil
}

// rollbackKernel puts back the live values the attempted writes replaced,
// the files written and the ledger records rewritten, and says how that
// went.
func rollbackKernel(ctx context.Context, client *remote.Client, before kernelSnapshot, files, recorded []string, recs map[string]*remote.LedgerRecord, attempted []remote.PathValue) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	var problems []string
	undo := make([]remote.PathValue, 0, len(attempted))
	for _, w := range attempted {
		undo = append(undo, remote.PathValue{Path: w.Path, Value: before.live[w.Path]})
	}
	if len(undo) > 0 {
		results, err := client.WriteInPlace(ctx, undo, false)
		if err != nil {
			problems = append(problems, err.Error())
		}
		for i, res := range results {
			if !res.OK {
				problems = append(problems, fmt.Sprintf("%s: %s", undo[i].Path, res.Error))
			}
		}
	}
	unknown := map[string]bool{}
	for _, p := range files {
		if err := client.SetFile(ctx, p, before.files[p], kernelFileMode); err != nil {
			problems = append(problems, err.Error())
			unknown[p] = true
		}
	}
	// A record comes back only with its file: while the file is unknown,
	// the new record (which knows both contents) stays.
	for _, p := range recorded {
		if unknown[p] {
			continue
		}
		if err := client.WriteLedger(ctx, p, recs[p]); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return "Rolling back also failed, so the host may be half-applied: " + strings.Join(problems, "; ") + "."
	}
	return "Everything already changed was put back; nothing was changed."
}

// reloadSystemdScript makes a running systemd read the new manager
// defaults; a host without systemd as init has nothing to reload.
const reloadSystemdScript = `if [ -d /run/systemd/system ]; then exec systemctl daemon-reload; fi`

func reloadSystemd(ctx context.Context, client *remote.Client) error {
	_, err := client.Output(ctx, []string{"sh", "-c", reloadSystemdScript}, nil)
	return err
}
