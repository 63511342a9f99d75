package remote

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// FileMeta is a regular file with its mode and owner, or its absence.
type FileMeta struct {
	Exists bool
	Data   []byte
	Mode   os.FileMode // permission bits
	Owner  string
	Group  string
}

// Ownership is the mode and owner a written file gets. An empty owner or
// group leaves that part as the writing user's.
type Ownership struct {
	Mode  os.FileMode
	Owner string
	Group string
}

// ValidationError is a validate command's refusal of the new content.
type ValidationError struct {
	Output string
}

// Error leaves the output out: it may quote the content, which may be
// secret; the caller decides what of Output to show.
func (e *ValidationError) Error() string {
	return "the validate command refused the new content"
}

// MissingFolderError is a write refused because the file's folder does not
// exist (MakeParentDirs creates it).
type MissingFolderError struct {
	Folder string
}

func (e *MissingFolderError) Error() string {
	return "the folder " + e.Folder + " does not exist"
}

// statScript prints "missing", "notfile", "refused <b64>" (see
// safeChainFuncs: the folders could redirect a read as root), or "meta
// <octal mode> <owner> <group>" and "ok <base64>".
const statScript = safeChainFuncs + `p=$1; d=${p%/*}; [ -n "$d" ] || d=/
if [ -e "$p" ] && [ ! -L "$p" ]; then tu=$(stat -c %u -- "$p"); else tu=$(id -u); fi
chain_ok "$d" "$tu" || refuse "$why"
as_owner "$@"
if [ -L "$p" ] || { [ -e "$p" ] && [ ! -f "$p" ]; }; then echo notfile; exit 0; fi
if [ ! -e "$p" ]; then echo missing; exit 0; fi
s=$(stat -c '%a %U %G' -- "$p") || exit 1
b=$(base64 -w0 <"$p") || exit 1
echo "meta $s"
echo "ok $b"`

// ReadFileMeta reads a file with its mode and owner. A missing file is not
// an error; a path that is not a regular file is.
func (c *Client) ReadFileMeta(ctx context.Context, path string) (FileMeta, error) {
	if err := CleanAbsPath(path); err != nil {
		return FileMeta{}, &UnsafePathError{Path: path, Reason: err.Error()}
	}
	out, err := c.Output(ctx, selfArgv(statScript, path), nil)
	if err != nil {
		return FileMeta{}, fmt.Errorf("reading %s on %s: %w", path, c.cfg, err)
	}
	lines, err := parseStatusLines(out, -1)
	if err != nil {
		return FileMeta{}, err
	}
	if len(lines) == 1 && lines[0].status == "refused" {
		return FileMeta{}, unsafePath(path, lines[0])
	}
	return fileMetaFrom(path, lines)
}

func fileMetaFrom(path string, lines []statusLine) (FileMeta, error) {
	switch {
	case len(lines) == 1 && (lines[0].status == "missing" || lines[0].status == "new"):
		return FileMeta{}, nil
	case len(lines) == 1 && lines[0].status == "notfile":
		return FileMeta{}, fmt.Errorf("%s is a symbolic link, a directory or a special file, not a regular file: point the resource at a regular file", path)
	case len(lines) == 2 && lines[0].status == "meta":
		f := strings.Fields(lines[0].text)
		if len(f) != 3 {
			break
		}
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err != nil {
			break
		}
		return FileMeta{Exists: true, Data: lines[1].data, Mode: os.FileMode(mode), Owner: f[1], Group: f[2]}, nil
	}
	return FileMeta{}, fmt.Errorf("unexpected output from the host for %s", path)
}

// WriteFileOwned replaces p (in an existing folder, else a
// *MissingFolderError) with data, mode and owner, atomically: readers see
// the old or the new file. With validate (arguments, "{}" naming the new
// content's temp file), the file is replaced only if the command succeeds;
// otherwise a *ValidationError. It returns what was there before.
func (c *Client) WriteFileOwned(ctx context.Context, p string, data []byte, own Ownership, validate []string) (FileMeta, error) {
	lines, err := c.putFile(ctx, p, data, own, false, false, validate)
	if err != nil {
		return FileMeta{}, err
	}
	switch {
	case len(lines) == 1 && lines[0].status == "invalid":
		return FileMeta{}, &ValidationError{Output: lines[0].decoded()}
	case len(lines) == 1 && lines[0].status == "nofolder":
		return FileMeta{}, &MissingFolderError{Folder: path.Dir(p)}
	}
	return fileMetaFrom(p, lines)
}

// RestoreFile puts back what ReadFileMeta or WriteFileOwned returned: the
// content with its mode and owner, or no file.
func (c *Client) RestoreFile(ctx context.Context, path string, prev FileMeta) error {
	if !prev.Exists {
		return c.RemoveFile(ctx, path)
	}
	_, err := c.WriteFileOwned(ctx, path, prev.Data, Ownership{Mode: prev.Mode, Owner: prev.Owner, Group: prev.Group}, nil)
	return err
}
