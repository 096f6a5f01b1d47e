package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/resmap"
)

// objects is a rendered overlay as Kubernetes' own Go types, by kind.
type objects struct {
	deployments     []appsv1.Deployment
	jobs            []batchv1.Job
	services        []corev1.Service
	pdbs            []policyv1.PodDisruptionBudget
	hpas            []autoscalingv2.HorizontalPodAutoscaler
	netpols         []networkingv1.NetworkPolicy
	configMaps      []corev1.ConfigMap
	secrets         []corev1.Secret
	serviceAccounts []corev1.ServiceAccount
	namespaces      []corev1.Namespace
}

func (o *objects) count() int {
	return len(o.deployments) + len(o.jobs) + len(o.services) + len(o.pdbs) + len(o.hpas) +
		len(o.netpols) + len(o.configMaps) + len(o.secrets) + len(o.serviceAccounts) + len(o.namespaces)
}

// decode reads every rendered resource into its type. A field the type
// does not have is an error (a typo Kubernetes would drop or refuse), and
// so is a kind the overlays are not meant to hold: operators' custom
// resources live in deploy/kubernetes/operators, outside the overlays.
func decode(m resmap.ResMap) (*objects, error) {
	o := &objects{}
	for _, r := range m.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		gvk := r.GetGvk()
		id := fmt.Sprintf("%s %s/%s", gvk.ApiVersion(), gvk.Kind, r.GetName())
		var target any
		switch gvk.ApiVersion() + " " + gvk.Kind {
		case "apps/v1 Deployment":
			o.deployments = append(o.deployments, appsv1.Deployment{})
			target = &o.deployments[len(o.deployments)-1]
		case "batch/v1 Job":
			o.jobs = append(o.jobs, batchv1.Job{})
			target = &o.jobs[len(o.jobs)-1]
		case "v1 Service":
			o.services = append(o.services, corev1.Service{})
			target = &o.services[len(o.services)-1]
		case "policy/v1 PodDisruptionBudget":
			o.pdbs = append(o.pdbs, policyv1.PodDisruptionBudget{})
			target = &o.pdbs[len(o.pdbs)-1]
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o.hpas = append(o.hpas, autoscalingv2.HorizontalPodAutoscaler{})
			target = &o.hpas[len(o.hpas)-1]
		case "networking.k8s.io/v1 NetworkPolicy":
			o.netpols = append(o.netpols, networkingv1.NetworkPolicy{})
			target = &o.netpols[len(o.netpols)-1]
		case "v1 ConfigMap":
			o.configMaps = append(o.configMaps, corev1.ConfigMap{})
			target = &o.configMaps[len(o.configMaps)-1]
		case "v1 Secret":
			o.secrets = append(o.secrets, corev1.Secret{})
			target = &o.secrets[len(o.secrets)-1]
		case "v1 ServiceAccount":
			o.serviceAccounts = append(o.serviceAccounts, corev1.ServiceAccount{})
			target = &o.serviceAccounts[len(o.serviceAccounts)-1]
		case "v1 Namespace":
			o.namespaces = append(o.namespaces, corev1.Namespace{})
			target = &o.namespaces[len(o.namespaces)-1]
		default:
			return nil, fmt.Errorf("%s: a kind the overlays do not use", id)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(target); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	return o, nil
}
