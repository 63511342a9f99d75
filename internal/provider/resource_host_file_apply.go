package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mcpai/terraform-provider-mcpai/internal/redact"
	"github.com/mcpai/terraform-provider-mcpai/internal/remote"
)

// mcpai_host_file's apply steps: the checked write (ledger record, folders
// created, validate_command), and the cleanup of the folders it created.

// write replaces the file with the model's and checks it landed, creating
// the missing folders first when create_directories is set. On a failure
// the file found before is put back and the folders just created are
// removed. prior are the folders an earlier apply created (the state's);
// creating says there is no state yet.
func (r *hostFileResource) write(ctx context.Context, client *remote.Client, m *hostFileModel, prior []string, creating bool, diags *diag.Diagnostics) bool {
	made, ok := r.writeChecked(ctx, client, m, creating, diags)
	if !ok {
		removeCreatedDirs(context.WithoutCancel(ctx), client, made, diags)
		return false
	}
	p := m.Path.ValueString()
	created := []string{} // an empty list, not null
	for _, d := range remote.ParentDirs(p) {
		if slices.Contains(prior, d) || slices.Contains(made, d) {
			created = append(created, d)
		}
	}
	list, d := types.ListValueFrom(ctx, types.StringType, created)
	diags.Append(d...)
	m.CreatedDirectories = list
	m.ID = types.StringValue(hostID(client.Config()) + ":" + p)
	return !diags.HasError()
}

// writeChecked is write less the clean-up of the folders it made, which it
// returns.
func (r *hostFileResource) writeChecked(ctx context.Context, client *remote.Client, m *hostFileModel, creating bool, diags *diag.Diagnostics) ([]string, bool) {
	own, err := m.ownership()
	if err != nil {
		diags.AddAttributeError(path.Root("mode"), "Invalid Mode", err.Error())
		return nil, false
	}
	var validate []string
	if !m.ValidateCommand.IsNull() {
		diags.Append(m.ValidateCommand.ElementsAs(ctx, &validate, false)...)
	}
	p := m.Path.ValueString()
	// What was there before this resource: the ledger's record when the
	// host has one (a lost state, a create cut short), else the file now.
	// The record is written first, so a run cut short after the write
	// still leaves it.
	rec, err := client.ReadLedger(ctx, p)
	var cur remote.FileMeta
	if err == nil {
		cur, err = client.ReadFileMeta(ctx, p)
	}
	if unsafePathDiag(client, p, err, diags) {
		return nil, false
	}
	if err != nil {
		diags.Append(hostError("File Not Written", "Reading "+p+" and what the provider recorded of it (nothing was changed)", client, err))
		return nil, false
	}
	nextRec := remote.NewLedgerRecord(hostFileResourceType, p, rec, remote.PreviousOf(rec, cur, creating), []byte(m.content()))
	if err := client.WriteLedger(ctx, p, nextRec); err != nil {
		diags.Append(hostError("File Not Written", "Recording what was there before (nothing was changed)", client, err))
		return nil, false
	}
	// The earlier record comes back when the file is known to be as it
	// was; when that is unknown (a cut connection), the new one stays: it
	// knows both contents.
	ok, unknown := false, false
	defer func() {
		if !ok && !unknown {
			if err := client.WriteLedger(context.WithoutCancel(ctx), p, rec); err != nil {
				diags.Append(hostError("Record Not Restored", "Putting back the provider's record of "+p, client, err))
			}
		}
	}()
	_, err = client.WriteFileOwned(ctx, p, []byte(m.content()), own, validate)
	var made []string
	var missing *remote.MissingFolderError
	if errors.As(err, &missing) && m.CreateDirectories.ValueBool() {
		if made, err = client.MakeParentDirs(ctx, p); err != nil {
			diags.AddAttributeError(path.Root("create_directories"), "Folders Not Created", fmt.Sprintf(
				"%s on %s was not written (nothing was changed): creating its missing folders failed: %v. "+
					"Remove what is in the way, create the folders yourself, or log in as a user who may create them (root, or set ssh.sudo).", p, client.Config(), err))
			return nil, false
		}
		_, err = client.WriteFileOwned(ctx, p, []byte(m.content()), own, validate)
	}
	var ve *remote.ValidationError
	switch {
	case errors.As(err, &ve):
		diags.AddAttributeError(path.Root("validate_command"), "Content Refused By validate_command",
			fmt.Sprintf("%s on %s was left as it was: %s. Fix the content, or the command.", p, client.Config(), m.validateOutput(ve.Output)))
		return made, false
	case unsafePathDiag(client, p, err, diags):
		return made, false
	case errors.As(err, &missing):
		diags.AddAttributeError(path.Root("create_directories"), "File Not Written", fmt.Sprintf(
			"%s on %s was not written (nothing was changed): %v. Set create_directories = true to have the resource create it "+
				"(and remove it on destroy when empty), or create it before.", p, client.Config(), err))
		return made, false
	case err != nil && (strings.Contains(err.Error(), "chown:") || strings.Contains(err.Error(), "chgrp:")):
		diags.AddAttributeError(path.Root("owner"), "File Not Written", fmt.Sprintf(
			"%s on %s was left as it was: the owner or group could not be set: %v. Name a user and group that exist, "+
				"and log in as root or set ssh.sudo to give files to another user (owner and group default to root).", p, client.Config(), err))
		return made, false
	case err != nil:
		unknown = true
		diags.Append(hostError("File Not Written", "Writing "+p+" (the host checks what arrives before it replaces the file)", client, err))
		return made, false
	}
	got, err := client.ReadFileMeta(ctx, p)
	if err == nil && (!got.Exists || string(got.Data) != m.content() || got.Mode&07777 != own.Mode&07777 || got.Owner != own.Owner || got.Group != own.Group) {
		err = fmt.Errorf("it reads back as mode %04o owner %s:%s with %d bytes", got.Mode&07777, got.Owner, got.Group, len(got.Data))
	}
	if err != nil {
		undo := "the previous file was put back"
		if rerr := client.RestoreFile(context.WithoutCancel(ctx), p, cur); rerr != nil {
			undo = "putting the previous file back failed too: " + rerr.Error()
			unknown = true
		}
		diags.AddError("File Not As Written", fmt.Sprintf("%s on %s was written, but %v; %s.", p, client.Config(), err, undo))
		return made, false
	}
	m.setFrom(got)
	ok = true
	return made, true
}

// unsafePathDiag reports err on path when it is a refused path, and says
// whether it was.
func unsafePathDiag(client *remote.Client, p string, err error, diags *diag.Diagnostics) bool {
	var unsafe *remote.UnsafePathError
	if !errors.As(err, &unsafe) {
		return false
	}
	diags.AddAttributeError(path.Root("path"), "Path Refused", fmt.Sprintf(
		"%s on %s: %s. Point path at a file in a folder that only root (or the file's owner) can change.", p, client.Config(), err))
	return true
}

// hostFileResourceType names the resource in the host's ledger.
const hostFileResourceType = "mcpai_host_file"

// validateOutput is what an error may show of a validate command's output:
// all of it, or nothing when the file holds secrets (a validator may echo
// any part of them, a token in a line as well as the line).
func (m hostFileModel) validateOutput(out string) string {
	if m.SensitiveContent.IsNull() {
		return out
	}
	return redact.Placeholder + " (the output is hidden because sensitive_content is set: run the command on the host to see it)"
}

// removeCreatedDirs removes the folders a resource created (outermost
// first), innermost first and only when empty; it warns of those left.
func removeCreatedDirs(ctx context.Context, client *remote.Client, dirs []string, diags *diag.Diagnostics) {
	kept, err := client.RemoveEmptyDirs(ctx, dirs)
	for _, k := range kept {
		diags.AddAttributeWarning(path.Root("created_directories"), "Folder Left In Place", fmt.Sprintf(
			"%s on %s was created by this resource but was not removed: %s (something other than this resource put files there). "+
				"Remove it yourself once nothing needs it.", k.Path, client.Config(), k.Reason))
	}
	if err != nil {
		diags.AddAttributeError(path.Root("created_directories"), "Folders Not Removed", fmt.Sprintf(
			"Removing the folders this resource created (%s) failed: %v. Remove them yourself, or run the operation again.", strings.Join(dirs, ", "), err))
	}
}
