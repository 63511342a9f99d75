package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// The ledger is how a host remembers what the provider wrote: one record per
// managed file, kept on the host itself (root's, 0600) so that it survives
// a lost or never-saved Terraform state. A record says which content we
// last wrote (its SHA-256) and what was at the path before we first wrote
// it, file and live values. With it:
//   - "previous" is never our own value: a create that finds our record
//     takes what was there before from it, not from the host as it is now;
//   - destroy removes or replaces a file only when the file on the host is
//     still the one we wrote: after an import (no record), or when someone
//     changed it since, the file stays.

// LedgerDir is where the records live when the provider works as root (or
// with sudo); a login user without sudo keeps them in its own
// ~/.local/state/mcpai/ledger, as it can write only its own files anyway.
const LedgerDir = "/var/lib/mcpai/ledger"

// ledgerDirScript prints the folder of the records for the user it runs as.
const ledgerDirScript = `if [ "$(id -u)" = 0 ]; then echo ` + LedgerDir + `; else echo "$HOME/.local/state/mcpai/ledger"; fi`

// LedgerRecord is what the host remembers of one managed file.
type LedgerRecord struct {
	// Path is the managed file.
	Path string `json:"path"`
	// Resource is the resource type that wrote it.
	Resource string `json:"resource"`
	// Written is the SHA-256 of the content last written there.
	Written string `json:"written_sha256"`
	// Earlier is the SHA-256 written before that, if any. A record is
	// written before its file, and not taken back when the write's outcome
	// is unknown (a cut connection): the file then holds either content.
	Earlier string `json:"earlier_sha256,omitempty"`
	// Previous is the file found before the first write.
	Previous FileMeta `json:"previous"`
	// PreviousValues are live values (sysctls, sysfs) found before the
	// first write of each, by key.
	PreviousValues map[string]string `json:"previous_values,omitempty"`
}

// Wrote says whether data is content the record says we wrote: the last,
// or the one before when that write's outcome was never known.
func (r *LedgerRecord) Wrote(data []byte) bool {
	if r == nil {
		return false
	}
	sum := sha256Hex(data)
	return r.Written == sum || r.Earlier == sum
}

// ledgerPath is the record's file for a managed path: named by the path's
// hash, so any path maps to one plain file name. The folder is asked of the
// host once per client.
func (c *Client) ledgerPath(ctx context.Context, managed string) (string, error) {
	c.ledgerMu.Lock()
	defer c.ledgerMu.Unlock()
	if c.ledgerDir == "" {
		out, err := c.Output(ctx, []string{"sh", "-c", ledgerDirScript}, nil)
		if err != nil {
			return "", fmt.Errorf("finding the provider's records on %s: %w", c.cfg, err)
		}
		dir := strings.TrimSpace(string(out))
		if err := CleanAbsPath(dir); err != nil {
			return "", fmt.Errorf("finding the provider's records on %s: %w", c.cfg, err)
		}
		c.ledgerDir = dir
	}
	return c.ledgerDir + "/" + sha256Hex([]byte(managed))[:40] + ".json", nil
}

// ParseLedgerRecord reads a record; a record for another path (a hash
// collision or a copied file) is an error.
func ParseLedgerRecord(managed string, data []byte) (*LedgerRecord, error) {
	var r LedgerRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("the provider's record of %s is damaged: %w", managed, err)
	}
	if r.Path != managed {
		return nil, fmt.Errorf("the provider's record of %s names another path, %q", managed, r.Path)
	}
	if len(r.Written) != 64 {
		return nil, fmt.Errorf("the provider's record of %s has no valid content hash", managed)
	}
	return &r, nil
}

// ReadLedger returns the host's record of a managed path, or nil when there
// is none.
func (c *Client) ReadLedger(ctx context.Context, managed string) (*LedgerRecord, error) {
	lp, err := c.ledgerPath(ctx, managed)
	if err != nil {
		return nil, err
	}
	f, err := c.ReadFileMeta(ctx, lp)
	if err != nil {
		return nil, err
	}
	if !f.Exists {
		return nil, nil
	}
	r, err := ParseLedgerRecord(managed, f.Data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s on %s: remove it to start afresh)", err, lp, c.cfg)
	}
	return r, nil
}

// WriteLedger records r on the host, atomically; a nil r removes the record
// of managed.
func (c *Client) WriteLedger(ctx context.Context, managed string, r *LedgerRecord) error {
	lp, err := c.ledgerPath(ctx, managed)
	if err != nil {
		return err
	}
	if r == nil {
		return c.RemoveFile(ctx, lp)
	}
	if r.Path != managed {
		return errors.New("ledger record for the wrong path")
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := c.putFile(ctx, lp, data, Ownership{Mode: 0o600}, false, true, nil); err != nil {
		return fmt.Errorf("recording what was written to %s: %w", managed, err)
	}
	return nil
}

// NewLedgerRecord is the record for writing data to managed, where
// previous is what was there before this provider first wrote it (the
// caller decides: an earlier record's, or the file found now). The earlier
// record's content hash stays known, and so do its previous values.
func NewLedgerRecord(resource, managed string, earlier *LedgerRecord, previous FileMeta, data []byte) *LedgerRecord {
	r := &LedgerRecord{Path: managed, Resource: resource, Previous: previous, Written: sha256Hex(data)}
	if earlier != nil {
		r.PreviousValues = maps.Clone(earlier.PreviousValues)
		if earlier.Written != r.Written {
			r.Earlier = earlier.Written
		}
	}
	return r
}

// PreviousOf is what was at a managed path before this provider first
// wrote it: the record's, else the file found now. On a create (no state:
// it was lost), a file found now that is neither ours nor the one the
// record has as previous replaced ours since, and is what there is to put
// back; with a state, a changed file is drift of ours.
func PreviousOf(rec *LedgerRecord, cur FileMeta, creating bool) FileMeta {
	if rec == nil {
		return cur
	}
	wasThere := rec.Previous.Exists && string(rec.Previous.Data) == string(cur.Data)
	if creating && cur.Exists && !rec.Wrote(cur.Data) && !wasThere {
		return cur
	}
	return rec.Previous
}
