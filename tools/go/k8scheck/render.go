package main

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// render builds the kustomization in dir of fsys as `kubectl kustomize`
// would: kustomize's own library (krusty), loads restricted to the
// kustomization's tree, no plugins, no network.
func render(fsys filesys.FileSystem, dir string) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	m, err := krusty.MakeKustomizer(opts).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return m, nil
}

// renderYAML is render's result as one multi-document YAML stream.
func renderYAML(fsys filesys.FileSystem, dir string) ([]byte, error) {
	m, err := render(fsys, dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}
