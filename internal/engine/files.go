package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// File is a file put into a container before it starts.
type File struct {
	Path string // absolute, inside the container
	Data []byte
	Mode int64
}

// PutFiles copies files into a created (not necessarily started)
// container, through the Engine API: nothing is written on the host. All
// files must share one folder, which must exist in the image.
func (e *Engine) PutFiles(ctx context.Context, id string, files []File) error {
	if len(files) == 0 {
		return nil
	}
	dir := path.Dir(files[0].Path)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, f := range files {
		if path.Dir(f.Path) != dir || !path.IsAbs(f.Path) {
			return fmt.Errorf("put files: %s is not in %s", f.Path, dir)
		}
		hdr := &tar.Header{Name: path.Base(f.Path), Mode: f.Mode, Size: int64(len(f.Data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := e.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf})
	return err
}

// ErrNoFile is GetFile's answer for a path that does not exist.
var ErrNoFile = errors.New("no such file in the container")

// GetFile reads one regular file (at most limit bytes) from a container,
// running or not.
func (e *Engine) GetFile(ctx context.Context, id, p string, limit int64) ([]byte, error) {
	res, err := e.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: p})
	if IsNotFound(err) {
		return nil, ErrNoFile
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Content.Close() }()
	tr := tar.NewReader(res.Content)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the engine sent no file", p)
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > limit {
			return nil, fmt.Errorf("%s is %d bytes, more than the %d expected", p, hdr.Size, limit)
		}
		return io.ReadAll(io.LimitReader(tr, limit))
	}
}

// WaitExit waits until the container stops and returns its exit code.
func (e *Engine) WaitExit(ctx context.Context, id string) (int64, error) {
	w := e.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case res := <-w.Result:
		if res.Error != nil && res.Error.Message != "" {
			return res.StatusCode, errors.New(res.Error.Message)
		}
		return res.StatusCode, nil
	case err := <-w.Error:
		return 0, err
	}
}

// Labelled is a container found by label.
type Labelled struct {
	ID, Name string
	Labels   map[string]string
}

// ListLabelled lists every container, running or not, that has label key.
func (e *Engine) ListLabelled(ctx context.Context, key string) ([]Labelled, error) {
	list, err := e.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", key)})
	if err != nil {
		return nil, err
	}
	out := make([]Labelled, 0, len(list.Items))
	for _, c := range list.Items {
		if _, ok := c.Labels[key]; !ok { // the filter, checked again
			continue
		}
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Labelled{ID: c.ID, Name: name, Labels: c.Labels})
	}
	return out, nil
}
