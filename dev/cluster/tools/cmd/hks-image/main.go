// Command hks-image turns a root directory into a single-layer OCI image and
// writes it as an OCI image-layout tarball, which `ctr -n k8s.io images
// import` loads into the node's containerd. There is no registry: this is how
// every image of the development cluster is made.
//
// The output is deterministic: entries are sorted, owned by root, dated at a
// fixed time, and the layer is an uncompressed tar, so the same root gives
// the same image digest.
//
//	hks-image -root DIR -name hks.local/NAME:TAG -entrypoint /prog [-cmd ARG]... \
//	    [-env K=V]... [-workdir DIR] [-user UID] [-port 8080/tcp] -o image.tar
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// epoch dates every file and the image itself, for reproducible digests.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		root, name, out, workdir, user string
		entrypoint, cmd, env, ports    list
	)
	flag.StringVar(&root, "root", "", "root directory of the image's file system")
	flag.StringVar(&name, "name", "", "image reference, e.g. hks.local/my-app:1")
	flag.StringVar(&out, "o", "", "output OCI image-layout tarball")
	flag.Var(&entrypoint, "entrypoint", "entrypoint argument (repeatable)")
	flag.Var(&cmd, "cmd", "default command argument (repeatable)")
	flag.Var(&env, "env", "environment variable K=V (repeatable)")
	flag.Var(&ports, "port", "exposed port, e.g. 8080/tcp (repeatable)")
	flag.StringVar(&workdir, "workdir", "/", "working directory")
	flag.StringVar(&user, "user", "", "user to run as (default root)")
	flag.Parse()
	if root == "" || name == "" || out == "" || !strings.Contains(name, ":") {
		fmt.Fprintln(os.Stderr, "hks-image: -root, -name (with a :tag) and -o are required")
		flag.Usage()
		os.Exit(2)
	}
	if err := build(root, name, out, imageConfig{
		Entrypoint: entrypoint, Cmd: cmd, Env: withPath(env), WorkingDir: workdir,
		User: user, ExposedPorts: portSet(ports),
	}); err != nil {
		fmt.Fprintf(os.Stderr, "hks-image: %v\n", err)
		os.Exit(1)
	}
}

type imageConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

func withPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
}

func portSet(ports []string) map[string]struct{} {
	if len(ports) == 0 {
		return nil
	}
	set := map[string]struct{}{}
	for _, p := range ports {
		set[p] = struct{}{}
	}
	return set
}

func build(root, name, out string, cfg imageConfig) error {
	layer, err := layerTar(root)
	if err != nil {
		return fmt.Errorf("packing %s: %w", root, err)
	}
	blobs := map[string][]byte{}
	add := func(b []byte) (string, int64) {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		blobs[d] = b
		return d, int64(len(b))
	}
	layerDigest, layerSize := add(layer)
	config, err := json.Marshal(map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history":      []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "hks-image"}},
	})
	if err != nil {
		return err
	}
	configDigest, configSize := add(config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: configDigest, Size: configSize},
		"layers":        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: layerDigest, Size: layerSize}},
	})
	if err != nil {
		return err
	}
	manifestDigest, manifestSize := add(manifest)
	tag := name[strings.LastIndex(name, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []descriptor{{
			MediaType: "application/vnd.oci.image.manifest.v1+json",
			Digest:    manifestDigest, Size: manifestSize,
			Platform: &platform{Architecture: runtime.GOARCH, OS: "linux"},
			// containerd names the imported image after the first;
			// OCI tools read the second.
			Annotations: map[string]string{
				"io.containerd.image.name":          name,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	})
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": index,
	}
	for d, b := range blobs {
		files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")] = b
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, n := range names {
		b := files[n]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Printf("%s %s\n", name, manifestDigest)
	return nil
}

// layerTar packs root as a tar with sorted entries, root ownership and fixed
// dates. Regular files, directories and symbolic links only.
func layerTar(root string) ([]byte, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), ModTime: epoch, Format: tar.FormatPAX}
		if info.Mode()&fs.ModeSetuid != 0 {
			hdr.Mode |= 0o4000
		}
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		default:
			return nil, fmt.Errorf("%s: unsupported file type %s", p, info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			n, err := io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, err
			}
			if n != hdr.Size {
				return nil, errors.New(p + ": changed while packing")
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
