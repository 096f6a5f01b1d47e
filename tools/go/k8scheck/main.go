// k8scheck renders adpulse's kustomize overlays (deploy/kubernetes) with
// kustomize's own library and checks what the manifests promise: probes on
// the real ports, rollouts that never go below the desired count, locked
// down pods, disruption budgets, autoscaling, network policies, and
// configuration keys adpulse accepts.
//
//	k8scheck render OVERLAY-DIR OUT.yaml     the rendered manifests
//	k8scheck check [--production] OVERLAY-DIR   the checks, on a rendered overlay
//
// Its tests (go test ./...) render both overlays and run every check, and
// prove each check fails on a broken copy.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "render":
		if len(os.Args) != 4 {
			usage()
		}
		out, err := renderYAML(filesys.MakeFsOnDisk(), os.Args[2])
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(os.Args[3], out, 0o644); err != nil {
			fail(err)
		}
	case "check":
		fs := flag.NewFlagSet("check", flag.ExitOnError)
		production := fs.Bool("production", false, "also require what production needs (pinned images, zones enforced, no Secret rendered)")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			usage()
		}
		dir := fs.Arg(0)
		m, err := render(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			fail(err)
		}
		set, err := decode(m)
		if err != nil {
			fail(err)
		}
		keys, err := configKeys(repoRoot(dir))
		if err != nil {
			fail(err)
		}
		problems := check(set, profile{production: *production, keys: keys})
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		if len(problems) > 0 {
			os.Exit(1)
		}
		fmt.Printf("%s: %d objects, every check passed\n", dir, set.count())
	default:
		usage()
	}
}

// repoRoot is the clone an overlay belongs to: the folder above
// deploy/kubernetes, where crates/config is.
func repoRoot(overlay string) string {
	dir, _ := filepath.Abs(overlay)
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "crates", "config", "src", "lib.rs")); err == nil {
			return d
		}
	}
	return dir
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: k8scheck render OVERLAY-DIR OUT.yaml | k8scheck check [--production] OVERLAY-DIR")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "k8scheck:", err)
	os.Exit(1)
}
