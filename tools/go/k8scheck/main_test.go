package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Both overlays, rendered from the files on disk, keep every promise; the
// counts make sure an overlay that renders little cannot pass by having
// nothing to check.
func TestOverlaysKeepEveryPromise(t *testing.T) {
	for _, tc := range []struct {
		overlay          string
		secrets, objects int
	}{
		{"dev", 4, 32},
		{"production", 0, 28},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			dir := filepath.Join(repo, "deploy", "kubernetes", "overlays", tc.overlay)
			o := renderObjects(t, filesys.MakeFsOnDisk(), dir)
			if problems := check(o, profileFor(t, tc.overlay)); len(problems) > 0 {
				t.Fatalf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
			}
			got := map[string]int{
				"Deployment": len(o.deployments), "Job": len(o.jobs), "Service": len(o.services),
				"PodDisruptionBudget": len(o.pdbs), "HorizontalPodAutoscaler": len(o.hpas),
				"NetworkPolicy": len(o.netpols), "ConfigMap": len(o.configMaps), "Secret": len(o.secrets),
				"ServiceAccount": len(o.serviceAccounts), "Namespace": len(o.namespaces),
			}
			want := map[string]int{
				"Deployment": 4, "Job": 1, "Service": 2, "PodDisruptionBudget": 4, "HorizontalPodAutoscaler": 3,
				"NetworkPolicy": 10, "ConfigMap": 1, "Secret": tc.secrets, "ServiceAccount": 2, "Namespace": 1,
			}
			for kind, n := range want {
				if got[kind] != n {
					t.Errorf("%d %s, want %d", got[kind], kind, n)
				}
			}
			if o.count() != tc.objects {
				t.Errorf("%d objects, want %d", o.count(), tc.objects)
			}
		})
	}
}

// What each overlay sets on top of the base, read back from the render.
func TestOverlaysSetTheirOwnScale(t *testing.T) {
	dev := renderObjects(t, filesys.MakeFsOnDisk(), filepath.Join(repo, "deploy", "kubernetes", "overlays", "dev"))
	prod := renderObjects(t, filesys.MakeFsOnDisk(), filepath.Join(repo, "deploy", "kubernetes", "overlays", "production"))
	for _, h := range dev.hpas {
		if *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 2 {
			t.Errorf("dev %s: %d..%d, want 1..2", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
	}
	if r := dev.deployment("adpulse-alerter").Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("dev alerter replicas %v, want 1", r)
	}
	if r := prod.deployment("adpulse-alerter").Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("production alerter replicas %v, want 2", r)
	}
	ranges := map[string][2]int32{"adpulse-gateway": {3, 24}, "adpulse-api": {3, 10}, "adpulse-worker": {3, 12}}
	for _, h := range prod.hpas {
		want := ranges[h.Name]
		if *h.Spec.MinReplicas != want[0] || h.Spec.MaxReplicas != want[1] {
			t.Errorf("production %s: %d..%d, want %d..%d", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas, want[0], want[1])
		}
	}
	// One image for every role and the Job (one binary), the overlay's.
	img := prod.jobs[0].Spec.Template.Spec.Containers[0].Image
	if img == "adpulse" {
		t.Errorf("production kept the base's image name")
	}
	for _, d := range prod.deployments {
		if got := d.Spec.Template.Spec.Containers[0].Image; got != img {
			t.Errorf("production %s image %q, the Job's is %q", d.Name, got, img)
		}
		if d.Namespace != "adpulse" {
			t.Errorf("production %s in namespace %q", d.Name, d.Namespace)
		}
	}
	// Config changes roll the pods: the generated name carries a hash.
	if name := prod.configMaps[0].Name; !strings.HasPrefix(name, "adpulse-config-") {
		t.Errorf("ConfigMap %s has no content hash", name)
	}
}

// The base alone: no Secret, the plain image name; and checkBase sees a
// Secret added to a copy of it.
func TestBaseHoldsNoSecret(t *testing.T) {
	base := renderObjects(t, filesys.MakeFsOnDisk(), filepath.Join(repo, "deploy", "kubernetes", "base"))
	if p := checkBase(base); len(p) > 0 {
		t.Fatalf("base: %v", p)
	}
	fsys := tree(t)
	k, err := fsys.ReadFile("/k/base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k = append(k, []byte("secretGenerator:\n  - name: adpulse-api\n    literals:\n      - ADPULSE__API__JWT_SECRET=a-real-looking-secret-value-0123456789abcdef\n")...)
	if err := fsys.WriteFile("/k/base/kustomization.yaml", k); err != nil {
		t.Fatal(err)
	}
	if p := checkBase(renderObjects(t, fsys, "/k/base")); !contains(p, "Secret/adpulse-api") {
		t.Fatalf("a Secret in the base went unnoticed: %v", p)
	}
	// And the text of the base names no Secret kind at all.
	files, _ := filepath.Glob(filepath.Join(repo, "deploy", "kubernetes", "base", "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "kind: Secret") || strings.Contains(string(b), "secretGenerator") {
			t.Errorf("%s declares a Secret", f)
		}
	}
}

// The Argo CD component puts the Job between the configuration and the
// Deployments, and changes nothing the checks care about.
func TestArgoCDComponentOrdersTheJob(t *testing.T) {
	o := wrap(t, "production", "components:\n  - ../../components/argocd\n")
	if p := check(o, profileFor(t, "production")); len(p) > 0 {
		t.Fatalf("with the component: %v", p)
	}
	a := o.jobs[0].Annotations
	if a["argocd.argoproj.io/hook"] != "Sync" || a["argocd.argoproj.io/sync-wave"] != "-1" ||
		a["argocd.argoproj.io/hook-delete-policy"] != "BeforeHookCreation" {
		t.Errorf("Job annotations %v", a)
	}
	if w := o.configMaps[0].Annotations["argocd.argoproj.io/sync-wave"]; w != "-2" {
		t.Errorf("ConfigMap wave %q, want -2 (before the Job)", w)
	}
	for _, d := range o.deployments {
		if w, ok := d.Annotations["argocd.argoproj.io/sync-wave"]; ok {
			t.Errorf("%s in wave %s, want the default 0 (after the Job)", d.Name, w)
		}
	}
}

// The configuration keys come from crates/config's source, sections and
// all.
func TestConfigKeysAreReadFromTheRustSource(t *testing.T) {
	keys := adpulseKeys(t)
	for _, k := range []string{
		"ADPULSE__KAFKA__BROKERS", "ADPULSE__CQL__NODES", "ADPULSE__POSTGRES__URL", "ADPULSE__REDIS__URL",
		"ADPULSE__HTTP__DRAIN_MS", "ADPULSE__API__JWT_SECRET", "ADPULSE__OPS__TOKEN",
		"ADPULSE__ALERTS__SMTP_PASSWORD", "ADPULSE__TELEMETRY__LOG_FORMAT", "ADPULSE__GATEWAY__SHUTDOWN_GRACE_SECS",
	} {
		if !keys[k] {
			t.Errorf("%s missing", k)
		}
	}
	if keys["ADPULSE__KAFKA__BROKER"] || keys["ADPULSE__CONFIG__KAFKA"] {
		t.Error("a key that is not one")
	}
	got := rustStructs("pub struct A {\n    /// doc\n    pub one: u64,\n    pub two: Option<Secret<String>>,\n    three: bool,\n}\n")
	if strings.Join(got["A"], "|") != "one: u64|two: Option<Secret<String>>" {
		t.Errorf("rustStructs: %q", got["A"])
	}
}

// A kind the overlays are not meant to hold (an operator's resource, or an
// Ingress nobody reviewed) stops the decode, and so does a field the
// Kubernetes types do not have.
func TestDecodeRefusesStrangers(t *testing.T) {
	for want, extra := range map[string]string{
		"KafkaTopic/t: a kind the overlays do not use": "resources:\n  - extra.yaml\n",
		"unknown field \"livenesProbe\"":               "patches:\n  - target:\n      kind: Deployment\n      name: adpulse-api\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/livenesProbe\n        value: {}\n",
	} {
		t.Run(want, func(t *testing.T) {
			fsys := tree(t)
			k := "resources:\n  - ../production\n" + extra
			k = strings.Replace(k, "resources:\n  - ../production\nresources:\n", "resources:\n  - ../production\n", 1)
			_ = fsys.WriteFile("/k/overlays/broken/kustomization.yaml", []byte(k))
			_ = fsys.WriteFile("/k/overlays/broken/extra.yaml", []byte("apiVersion: kafka.strimzi.io/v1\nkind: KafkaTopic\nmetadata:\n  name: t\n"))
			m, err := render(fsys, "/k/overlays/broken")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decode(m); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("want an error containing %q, got %v", want, err)
			}
		})
	}
}
