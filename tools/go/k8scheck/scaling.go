package main

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// checkScaling: one PodDisruptionBudget per role, maxUnavailable 1 (one
// voluntary disruption at a time, whatever the count, and a one-replica
// dev Deployment can still be drained), and autoscaling as the role's
// work allows: CPU for the stateless gateway and API, consumer lag for the
// worker (never past the partitions), a fixed count for the alerter.
func checkScaling(o *objects, prof profile, r role, d *appsv1.Deployment, env map[string]string, p *problems) {
	obj := "Deployment/" + d.Name
	tpl := d.Spec.Template.Labels
	n := 0
	for _, b := range o.pdbs {
		if !selects(b.Spec.Selector, tpl) {
			continue
		}
		n++
		bobj := "PodDisruptionBudget/" + b.Name
		if b.Spec.MinAvailable != nil || !intOrPercent(b.Spec.MaxUnavailable, 1) {
			p.add(bobj, "want maxUnavailable 1 and no minAvailable")
		}
		if b.Spec.UnhealthyPodEvictionPolicy == nil || *b.Spec.UnhealthyPodEvictionPolicy != "AlwaysAllow" {
			p.add(bobj, "unhealthyPodEvictionPolicy must be AlwaysAllow (a pod that is not ready protects nothing)")
		}
	}
	if n != 1 {
		p.add(obj, "%d PodDisruptionBudgets select its pods, want 1", n)
	}

	var hpa *autoscalingv2.HorizontalPodAutoscaler
	for i := range o.hpas {
		t := o.hpas[i].Spec.ScaleTargetRef
		if t.Kind == "Deployment" && t.APIVersion == "apps/v1" && t.Name == d.Name {
			if hpa != nil {
				p.add(obj, "more than one HorizontalPodAutoscaler")
			}
			hpa = &o.hpas[i]
		}
	}
	if r.scaling == "" {
		if hpa != nil {
			p.add(obj, "%s runs a fixed count; it has a HorizontalPodAutoscaler", r.name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
			p.add(obj, "no replica count")
		} else if prof.production && *d.Spec.Replicas < 2 {
			p.add(obj, "%d replica in production: one failure stops the role", *d.Spec.Replicas)
		}
		return
	}
	if hpa == nil {
		p.add(obj, "no HorizontalPodAutoscaler")
		return
	}
	hobj := "HorizontalPodAutoscaler/" + hpa.Name
	if d.Spec.Replicas != nil {
		p.add(obj, "sets replicas while %s owns the count (each apply would undo its decision)", hobj)
	}
	lo := int32(1)
	if hpa.Spec.MinReplicas != nil {
		lo = *hpa.Spec.MinReplicas
	}
	if lo < 1 || hpa.Spec.MaxReplicas < lo {
		p.add(hobj, "range %d..%d", lo, hpa.Spec.MaxReplicas)
	}
	if prof.production && lo < 2 {
		p.add(hobj, "minReplicas %d in production: a disruption would leave none", lo)
	}
	var cpu, lag bool
	for _, m := range hpa.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
			m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType &&
			m.Resource.Target.AverageUtilization != nil:
			cpu = true
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil && m.External.Metric.Name == lagMetric:
			lag = true
			checkLagMetric(hobj, m.External, env, p)
		}
	}
	switch r.scaling {
	case "cpu":
		if !cpu {
			p.add(hobj, "no CPU utilization target")
		}
	case "lag":
		if !lag {
			p.add(hobj, "no External metric %s (consumer lag)", lagMetric)
		}
		if parts := envInt(env, "ADPULSE__KAFKA__PARTITIONS", 12); int64(hpa.Spec.MaxReplicas) > parts {
			p.add(hobj, "maxReplicas %d is above the events topic's %d partitions: the extra workers would own nothing", hpa.Spec.MaxReplicas, parts)
		}
	}
}

// checkLagMetric: the lag asked for is the worker group's, on the events
// topic the configuration names, per replica.
func checkLagMetric(obj string, m *autoscalingv2.ExternalMetricSource, env map[string]string, p *problems) {
	group, topic := env["ADPULSE__WORKER__GROUP_ID"], env["ADPULSE__KAFKA__EVENTS_TOPIC"]
	if group == "" {
		group = "adpulse-worker"
	}
	if topic == "" {
		topic = "adpulse.events.v1"
	}
	sel := m.Metric.Selector
	if sel == nil || sel.MatchLabels["consumergroup"] != group || sel.MatchLabels["topic"] != topic {
		p.add(obj, "the lag metric must select consumergroup=%s, topic=%s", group, topic)
	}
	if m.Target.Type != autoscalingv2.AverageValueMetricType || m.Target.AverageValue == nil || m.Target.AverageValue.Sign() <= 0 {
		p.add(obj, "the lag target must be an AverageValue (records behind per replica)")
	}
}
