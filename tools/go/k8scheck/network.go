package main

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The namespaces the policies assume (README: NetworkPolicy assumptions).
const (
	nsIngress    = "ingress-nginx"
	nsMonitoring = "monitoring"
	nsDNS        = "kube-system"
)

// checkDefaultDeny: one policy selects every pod and allows nothing, in
// both directions; everything else is an exception to it.
func checkDefaultDeny(o *objects, p *problems) {
	for _, np := range o.netpols {
		s := np.Spec
		if len(s.PodSelector.MatchLabels) == 0 && len(s.PodSelector.MatchExpressions) == 0 &&
			has(s.PolicyTypes, networkingv1.PolicyTypeIngress) && has(s.PolicyTypes, networkingv1.PolicyTypeEgress) &&
			len(s.Ingress) == 0 && len(s.Egress) == 0 {
			return
		}
	}
	p.add("NetworkPolicy", "no default deny (empty podSelector, Ingress and Egress, no rules)")
}

func has(ts []networkingv1.PolicyType, t networkingv1.PolicyType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// checkPolicies: the pods with labels tpl may be reached by Prometheus on
// port (and by the ingress controller when routed), and may reach DNS and
// each backend port their role opens. port 0: nothing reaches them (a Job).
func checkPolicies(o *objects, obj string, tpl map[string]string, port int32, routed bool, egress []int32, p *problems) {
	var fromPrometheus, fromIngress, dns bool
	out := map[int32]bool{}
	for _, np := range o.netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(tpl)) {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			if allowsPort(rule.Ports, port, "TCP") {
				fromPrometheus = fromPrometheus || peersInclude(rule.From, nsMonitoring, map[string]string{"app.kubernetes.io/name": "prometheus"})
				fromIngress = fromIngress || peersInclude(rule.From, nsIngress, nil)
			}
		}
		for _, rule := range np.Spec.Egress {
			if allowsPort(rule.Ports, 53, "UDP") && peersInclude(rule.To, nsDNS, map[string]string{"k8s-app": "kube-dns"}) {
				dns = true
			}
			for _, pp := range rule.Ports {
				if pp.Port != nil {
					out[pp.Port.IntVal] = true
				}
			}
		}
	}
	if port != 0 && !fromPrometheus {
		p.add(obj, "no NetworkPolicy lets Prometheus (namespace %s) scrape port %d", nsMonitoring, port)
	}
	if routed && !fromIngress {
		p.add(obj, "no NetworkPolicy lets the ingress controller (namespace %s) reach port %d", nsIngress, port)
	}
	if !routed && fromIngress {
		p.add(obj, "reachable from the ingress controller, but nothing routes to it")
	}
	if !dns {
		p.add(obj, "no NetworkPolicy lets it resolve names (kube-dns, port 53)")
	}
	for _, want := range egress {
		if !out[want] {
			p.add(obj, "no NetworkPolicy lets it reach port %d, which its role opens", want)
		}
	}
}

func allowsPort(ports []networkingv1.NetworkPolicyPort, port int32, proto string) bool {
	if len(ports) == 0 {
		return true // every port
	}
	for _, pp := range ports {
		pr := "TCP"
		if pp.Protocol != nil {
			pr = string(*pp.Protocol)
		}
		if pr == proto && (pp.Port == nil || pp.Port.IntVal == port) {
			return true
		}
	}
	return false
}

// peersInclude: a peer admits pods labelled podLabels (nil: any pod) in
// the namespace named ns, matched on kubernetes.io/metadata.name.
func peersInclude(peers []networkingv1.NetworkPolicyPeer, ns string, podLabels map[string]string) bool {
	nsLabels := labels.Set{"kubernetes.io/metadata.name": ns}
	for _, peer := range peers {
		if peer.NamespaceSelector == nil {
			continue
		}
		nsSel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil || nsSel.Empty() || !nsSel.Matches(nsLabels) {
			continue
		}
		if peer.PodSelector == nil {
			return true
		}
		podSel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err == nil && (podLabels == nil || podSel.Matches(labels.Set(podLabels))) {
			return true
		}
	}
	return false
}
