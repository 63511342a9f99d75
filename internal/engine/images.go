package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// Ping asks GET /_ping once, negotiating the API version so that old
// engines answer too.
func (e *Engine) Ping(ctx context.Context) error {
	_, err := e.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	return err
}

// Version returns the daemon's version string (GET /version), e.g.
// "20.10.24+dfsg1".
func (e *Engine) Version(ctx context.Context) (string, error) {
	res, err := e.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", err
	}
	return res.Version, nil
}

// BuildError is a build the engine ran and refused: a failed build still
// answers 200, with the error in its JSON stream.
type BuildError struct {
	Tag    string
	Output string // what the build printed before the error
	Err    string // the engine's error message
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("building %s: %s\n%s", e.Tag, e.Err, e.Output)
}

// Build builds tag with the classic builder (which every engine runs)
// from buildContext, a tar, with the context's file dockerfile. Its
// intermediate containers are removed, even after a failure.
func (e *Engine) Build(ctx context.Context, buildContext io.Reader, tag, dockerfile string) error {
	res, err := e.api.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  dockerfile,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("building %s: %w", tag, err)
	}
	defer func() { _ = res.Body.Close() }()
	return readBuildStream(res.Body, tag)
}

// buildMessage is one object of a build's JSON stream. Engines send an
// error twice, as "error" and as "errorDetail"; either is enough.
type buildMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readBuildStream reads a build's JSON stream to its end and returns its
// error, if it has one.
func readBuildStream(r io.Reader, tag string) error {
	var out strings.Builder
	dec := json.NewDecoder(r)
	for {
		var msg buildMessage
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("building %s: reading the engine's answer: %w", tag, err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			msg.Error = msg.ErrorDetail.Message
		}
		if msg.Error != "" {
			return &BuildError{Tag: tag, Output: out.String(), Err: msg.Error}
		}
		if out.Len() < 64<<10 {
			out.WriteString(msg.Stream)
		}
	}
}

// RemoveImage removes an image by id, and its parents that no other tag
// or image holds, unless a container uses it (not forced).
func (e *Engine) RemoveImage(ctx context.Context, id string) error {
	_, err := e.api.ImageRemove(ctx, id, client.ImageRemoveOptions{PruneChildren: true})
	return err
}
