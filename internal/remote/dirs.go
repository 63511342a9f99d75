package remote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
)

// makeDirsScript creates each missing folder of its arguments (outermost
// first, each inside the one before) with mode 0755, whatever the umask. Per
// argument it prints "had" or "made"; it stops at "notdir" (something else
// is there), "err <base64 message>" or "refused <base64>" (a folder on the
// way another user could redirect, see safeChainFuncs). A folder that appears between the
// test and mkdir (another writer) counts as "had": it is not ours to remove.
const makeDirsScript = safeChainFuncs + `for d do
  chain_ok "$d" "$(id -u)" || refuse "$why"
  if [ -n "$dropto" ]; then refuse "$userdir belongs to $(uname_of "$dropto"), not root: root makes no folder in a folder another user controls"; fi
  if [ -d "$d" ]; then echo had; continue; fi
  if [ -e "$d" ] || [ -L "$d" ]; then echo notdir; exit 0; fi
  if e=$(mkdir -m 0755 -- "$d" 2>&1); then echo made
  elif [ -d "$d" ]; then echo had
  else echo "err $(printf '%s' "$e" | base64 -w0)"; exit 0; fi
done`

// removeDirsScript removes each of its arguments (innermost first) that is
// an empty folder. Per argument it prints "removed", "gone", "full" (holds
// something: left), "notdir" (no longer a folder: left) or "err <base64
// message>".
const removeDirsScript = safeChainFuncs + `for d do
  chain_ok "${d%/*}" "$(id -u)" || { echo "err $(printf '%s' "$why" | base64 -w0)"; continue; }
  if [ -n "$dropto" ]; then echo "err $(printf '%s: root removes no folder in a folder another user controls' "$userdir" | base64 -w0)"; continue; fi
  if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo notdir; continue; fi
  if [ ! -e "$d" ]; then echo gone; continue; fi
  if [ -n "$(ls -A -- "$d" 2>/dev/null)" ]; then echo full; continue; fi
  if e=$(rmdir -- "$d" 2>&1); then echo removed
  else echo "err $(printf '%s' "$e" | base64 -w0)"; fi
done`

// ParentDirs lists the folders above the absolute, clean path p, outermost
// first, without the root: /etc/a/b.yml gives /etc and /etc/a.
func ParentDirs(p string) []string {
	var dirs []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		dirs = append(dirs, d)
	}
	slices.Reverse(dirs)
	return dirs
}

// MakeParentDirs creates the missing folders above path (mode 0755, owned by
// the login user: root when logging in as root or with sudo) and returns
// those it created, outermost first. It is all or nothing: when one cannot
// be created, those it created are removed again.
func (c *Client) MakeParentDirs(ctx context.Context, path string) ([]string, error) {
	dirs := ParentDirs(path)
	out, err := c.Output(ctx, append([]string{"sh", "-c", makeDirsScript, "sh"}, dirs...), nil)
	if err != nil {
		return nil, fmt.Errorf("creating the folders of %s on %s: %w", path, c.cfg, err)
	}
	lines, err := parseStatusLines(out, -1)
	if err != nil {
		return nil, err
	}
	var made []string
	for i := 0; i < len(dirs) && err == nil; i++ {
		if i >= len(lines) {
			err = fmt.Errorf("unexpected output from the host: %d answers for %d folders", len(lines), len(dirs))
			break
		}
		switch lines[i].status {
		case "had":
		case "made":
			made = append(made, dirs[i])
		case "refused":
			err = unsafePath(dirs[i], lines[i])
		case "notdir":
			err = fmt.Errorf("%s exists on %s and is not a folder", dirs[i], c.cfg)
		case "err":
			err = fmt.Errorf("creating %s on %s: %s", dirs[i], c.cfg, lines[i].decoded())
		default:
			err = fmt.Errorf("unexpected output from the host for %s", dirs[i])
		}
	}
	if err != nil {
		if _, rerr := c.RemoveEmptyDirs(context.WithoutCancel(ctx), made); rerr != nil {
			err = fmt.Errorf("%w; removing the folders created before that failed too: %w", err, rerr)
		}
		return nil, err
	}
	return made, nil
}

// KeptDir is a folder RemoveEmptyDirs left in place, and why.
type KeptDir struct {
	Path   string
	Reason string
}

// RemoveEmptyDirs removes the folders dirs (outermost first, as
// MakeParentDirs returns them), innermost first, each only when it is
// empty. A folder already gone is fine. It returns the folders it left: not
// empty, or no longer a folder.
func (c *Client) RemoveEmptyDirs(ctx context.Context, dirs []string) ([]KeptDir, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	inner := slices.Clone(dirs)
	slices.Reverse(inner)
	out, err := c.Output(ctx, append([]string{"sh", "-c", removeDirsScript, "sh"}, inner...), nil)
	if err != nil {
		return nil, fmt.Errorf("removing folders on %s: %w", c.cfg, err)
	}
	lines, err := parseStatusLines(out, len(inner))
	if err != nil {
		return nil, err
	}
	var kept []KeptDir
	var errs []error
	for i, l := range lines {
		switch l.status {
		case "removed", "gone":
		case "full":
			kept = append(kept, KeptDir{Path: inner[i], Reason: "it is not empty"})
		case "notdir":
			kept = append(kept, KeptDir{Path: inner[i], Reason: "it is no longer a folder"})
		case "err":
			errs = append(errs, fmt.Errorf("removing %s on %s: %s", inner[i], c.cfg, l.decoded()))
		default:
			errs = append(errs, fmt.Errorf("unexpected output from the host for %s", inner[i]))
		}
	}
	return kept, errors.Join(errs...)
}
