package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The clone this module lives in (tools/go/k8scheck).
const repo = "../../.."

var (
	keysOnce sync.Once
	keysSet  map[string]bool
	keysErr  error
)

func adpulseKeys(t *testing.T) map[string]bool {
	t.Helper()
	keysOnce.Do(func() { keysSet, keysErr = configKeys(repo) })
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keysSet
}

func profileFor(t *testing.T, overlay string) profile {
	return profile{production: overlay == "production", keys: adpulseKeys(t)}
}

// tree is an in-memory copy of deploy/kubernetes at /k, for renders of
// modified copies; the files on disk are never touched.
func tree(t *testing.T) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	root := filepath.Join(repo, "deploy", "kubernetes")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		return mem.WriteFile("/k/"+filepath.ToSlash(rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d files under %s", n, root)
	}
	return mem
}

func renderObjects(t *testing.T, fsys filesys.FileSystem, dir string) *objects {
	t.Helper()
	m, err := render(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	o, err := decode(m)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// wrap writes an overlay at /k/overlays/broken on top of overlay, with
// extra kustomization lines (patches, generators), and renders it.
func wrap(t *testing.T, overlay, extra string) *objects {
	t.Helper()
	fsys := tree(t)
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../" + overlay + "\n" + extra
	if err := fsys.WriteFile("/k/overlays/broken/kustomization.yaml", []byte(k)); err != nil {
		t.Fatal(err)
	}
	return renderObjects(t, fsys, "/k/overlays/broken")
}

func contains(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}
