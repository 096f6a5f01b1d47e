package main

import (
	"fmt"
	"strings"
	"testing"
)

// jsonPatch is a kustomize `patches` entry: JSON patch ops on the objects
// of kind (and name, if given).
func jsonPatch(kind, name string, ops ...string) string {
	target := "      kind: " + kind + "\n"
	if name != "" {
		target += "      name: " + name + "\n"
	}
	return "patches:\n  - target:\n" + target + "    patch: |-\n" + indent(strings.Join(ops, "\n"), "      ") + "\n"
}

func op(verb, path string, value ...string) string {
	s := fmt.Sprintf("- op: %s\n  path: %s", verb, path)
	if len(value) > 0 {
		s += "\n  value: " + value[0]
	}
	return s
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(s, "\n", "\n"+by)
}

func configLiteral(kv string) string {
	return "configMapGenerator:\n  - name: adpulse-config\n    behavior: merge\n    literals:\n      - " + kv + "\n"
}

func secretLiteral(name, kv string) string {
	return "secretGenerator:\n  - name: " + name + "\n    behavior: merge\n    literals:\n      - " + kv + "\n"
}

const (
	container0 = "/spec/template/spec/containers/0"
	deletePDB  = "patches:\n  - patch: |-\n      $patch: delete\n      apiVersion: %s\n      kind: %s\n      metadata:\n        name: %s\n"
)

func deleteObject(apiVersion, kind, name string) string {
	return fmt.Sprintf(deletePDB, apiVersion, kind, name)
}

// Each property, broken on a copy of an overlay (a wrapping overlay with
// one patch, rendered by kustomize like the real ones), is reported: the
// checks that pass on the real overlays are not passing for want of
// looking.
func TestEveryCheckCatchesItsBreakage(t *testing.T) {
	cases := []struct {
		name, overlay, extra, want string
	}{
		{"limits removed", "production", jsonPatch("Deployment", "adpulse-gateway", op("remove", container0+"/resources/limits")),
			"Deployment/adpulse-gateway container adpulse: no cpu limit"},
		{"requests removed", "dev", jsonPatch("Job", "adpulse-migrate", op("remove", container0+"/resources/requests")),
			"Job/adpulse-migrate container adpulse: no memory request"},
		{"readiness on the liveness path", "production", jsonPatch("Deployment", "adpulse-worker", op("replace", container0+"/readinessProbe/httpGet/path", "/health/live")),
			"readiness probe asks /health/live, want /health/ready"},
		{"liveness on another port", "dev", jsonPatch("Deployment", "adpulse-api", op("replace", container0+"/livenessProbe/httpGet/port", "9090")),
			"Deployment/adpulse-api: liveness probe on port 9090 (9090), want 8082"},
		{"no readiness probe", "production", jsonPatch("Deployment", "adpulse-alerter", op("remove", container0+"/readinessProbe")),
			"Deployment/adpulse-alerter: no readiness probe"},
		{"container port moved", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", container0+"/ports/0/containerPort", "9000")),
			"container port http is 9000, want 8080"},
		{"listener moved", "dev", configLiteral("ADPULSE__WORKER__LISTEN=0.0.0.0:9000"),
			"ADPULSE__WORKER__LISTEN is \"0.0.0.0:9000\""},
		{"listener on loopback", "production", configLiteral("ADPULSE__API__LISTEN=127.0.0.1:8082"),
			"want \"0.0.0.0:8082\""},
		{"rollout may go below the count", "production", jsonPatch("Deployment", "adpulse-alerter", op("replace", "/spec/strategy/rollingUpdate/maxUnavailable", "1")),
			"Deployment/adpulse-alerter: maxUnavailable must be 0"},
		{"surge by percentage", "dev", jsonPatch("Deployment", "adpulse-api", op("replace", "/spec/strategy/rollingUpdate/maxSurge", "25%")),
			"Deployment/adpulse-api: maxSurge must be 1"},
		{"root allowed", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", "/spec/template/spec/securityContext/runAsNonRoot", "false")),
			"Deployment/adpulse-gateway: runAsNonRoot must be true"},
		{"another user", "dev", jsonPatch("Deployment", "adpulse-worker", op("replace", "/spec/template/spec/securityContext/runAsUser", "1000")),
			"runAsUser must be 10001"},
		{"writable root", "production", jsonPatch("Deployment", "adpulse-worker", op("replace", container0+"/securityContext/readOnlyRootFilesystem", "false")),
			"Deployment/adpulse-worker container adpulse: readOnlyRootFilesystem must be true"},
		{"capabilities kept", "production", jsonPatch("Deployment", "adpulse-api", op("remove", container0+"/securityContext/capabilities")),
			"Deployment/adpulse-api container adpulse: capabilities must drop ALL"},
		{"privilege escalation", "dev", jsonPatch("Job", "adpulse-migrate", op("replace", container0+"/securityContext/allowPrivilegeEscalation", "true")),
			"Job/adpulse-migrate container adpulse: allowPrivilegeEscalation must be false"},
		{"no seccomp", "production", jsonPatch("Deployment", "adpulse-alerter", op("remove", "/spec/template/spec/securityContext/seccompProfile")),
			"seccompProfile must be RuntimeDefault"},
		{"token mounted", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", "/spec/template/spec/automountServiceAccountToken", "true")),
			"Deployment/adpulse-gateway: automountServiceAccountToken must be false"},
		{"default account", "dev", jsonPatch("Deployment", "adpulse-worker", op("remove", "/spec/template/spec/serviceAccountName")),
			"runs as the namespace's default ServiceAccount"},
		{"no spread", "production", jsonPatch("Deployment", "adpulse-api", op("remove", "/spec/template/spec/topologySpreadConstraints")),
			"Deployment/adpulse-api: no topology spread across zones"},
		{"zones only preferred in production", "production", jsonPatch("Deployment", "adpulse-worker", op("replace", "/spec/template/spec/topologySpreadConstraints/0/whenUnsatisfiable", "ScheduleAnyway")),
			"Deployment/adpulse-worker: production spreads across zones as a rule"},
		{"nodes as a rule", "dev", jsonPatch("Deployment", "adpulse-gateway", op("replace", "/spec/template/spec/topologySpreadConstraints/1/whenUnsatisfiable", "DoNotSchedule")),
			"spread across nodes must be ScheduleAnyway"},
		{"spread selects other pods", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", "/spec/template/spec/topologySpreadConstraints/1/labelSelector/matchLabels/app.kubernetes.io~1component", "api")),
			"topology spread on kubernetes.io/hostname does not select the Deployment's pods"},
		{"short grace", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", "/spec/template/spec/terminationGracePeriodSeconds", "5")),
			"Deployment/adpulse-gateway: terminationGracePeriodSeconds 5 is under 16000 ms"},
		{"drain longer than the grace", "production", configLiteral("ADPULSE__HTTP__DRAIN_MS=60000"),
			"Deployment/adpulse-api: terminationGracePeriodSeconds 30 is under 61000 ms"},
		{"PDB selects nothing", "production", jsonPatch("PodDisruptionBudget", "adpulse-worker", op("replace", "/spec/selector/matchLabels/app.kubernetes.io~1component", "workers")),
			"Deployment/adpulse-worker: 0 PodDisruptionBudgets select its pods, want 1"},
		{"PDB by minAvailable", "dev", jsonPatch("PodDisruptionBudget", "adpulse-api", op("remove", "/spec/maxUnavailable"), op("add", "/spec/minAvailable", "1")),
			"PodDisruptionBudget/adpulse-api: want maxUnavailable 1 and no minAvailable"},
		{"PDB deleted", "production", deleteObject("policy/v1", "PodDisruptionBudget", "adpulse-alerter"),
			"Deployment/adpulse-alerter: 0 PodDisruptionBudgets"},
		{"no autoscaler", "production", deleteObject("autoscaling/v2", "HorizontalPodAutoscaler", "adpulse-api"),
			"Deployment/adpulse-api: no HorizontalPodAutoscaler"},
		{"autoscaler on memory", "dev", jsonPatch("HorizontalPodAutoscaler", "adpulse-gateway", op("replace", "/spec/metrics/0/resource/name", "memory")),
			"HorizontalPodAutoscaler/adpulse-gateway: no CPU utilization target"},
		{"worker without lag", "production", jsonPatch("HorizontalPodAutoscaler", "adpulse-worker", op("remove", "/spec/metrics/0")),
			"no External metric adpulse_worker_consumer_lag"},
		{"lag of another group", "production", jsonPatch("HorizontalPodAutoscaler", "adpulse-worker", op("replace", "/spec/metrics/0/external/metric/selector/matchLabels/consumergroup", "adpulse-alerter")),
			"the lag metric must select consumergroup=adpulse-worker"},
		{"more workers than partitions", "production", jsonPatch("HorizontalPodAutoscaler", "adpulse-worker", op("replace", "/spec/maxReplicas", "24")),
			"maxReplicas 24 is above the events topic's 12 partitions"},
		{"fewer partitions configured", "dev", configLiteral("ADPULSE__KAFKA__PARTITIONS=1"),
			"maxReplicas 2 is above the events topic's 1 partitions"},
		{"replicas beside the autoscaler", "production", jsonPatch("Deployment", "adpulse-gateway", op("add", "/spec/replicas", "3")),
			"Deployment/adpulse-gateway: sets replicas while HorizontalPodAutoscaler/adpulse-gateway owns the count"},
		{"autoscaled alerter", "production", jsonPatch("HorizontalPodAutoscaler", "adpulse-api", op("replace", "/spec/scaleTargetRef/name", "adpulse-alerter")),
			"alerter runs a fixed count; it has a HorizontalPodAutoscaler"},
		{"one alerter in production", "production", jsonPatch("Deployment", "adpulse-alerter", op("replace", "/spec/replicas", "1")),
			"1 replica in production"},
		{"production autoscaler from one", "production", jsonPatch("HorizontalPodAutoscaler", "adpulse-gateway", op("replace", "/spec/minReplicas", "1")),
			"minReplicas 1 in production"},
		{"service on the wrong port", "dev", jsonPatch("Service", "adpulse-gateway", op("replace", "/spec/ports/0/targetPort", "8081")),
			"Service/adpulse-gateway: port 8080 targets 8081 (8081), want 8080"},
		{"no service", "production", deleteObject("v1", "Service", "adpulse-api"),
			"Deployment/adpulse-api: 0 Services select its pods, want 1"},
		{"no default deny", "production", deleteObject("networking.k8s.io/v1", "NetworkPolicy", "adpulse-default-deny"),
			"no default deny"},
		{"deny only ingress", "dev", jsonPatch("NetworkPolicy", "adpulse-default-deny", op("replace", "/spec/policyTypes", "[Ingress]")),
			"no default deny"},
		{"no scraping", "production", deleteObject("networking.k8s.io/v1", "NetworkPolicy", "adpulse-from-prometheus"),
			"Deployment/adpulse-worker: no NetworkPolicy lets Prometheus"},
		{"scraping on the wrong port", "dev", jsonPatch("NetworkPolicy", "adpulse-from-prometheus", op("remove", "/spec/ingress/0/ports/3")),
			"Deployment/adpulse-alerter: no NetworkPolicy lets Prometheus (namespace monitoring) scrape port 8083"},
		{"gateway unreachable", "production", deleteObject("networking.k8s.io/v1", "NetworkPolicy", "adpulse-gateway-from-ingress"),
			"Deployment/adpulse-gateway: no NetworkPolicy lets the ingress controller"},
		{"worker exposed", "production", jsonPatch("NetworkPolicy", "adpulse-api-from-ingress", op("replace", "/spec/podSelector/matchLabels/app.kubernetes.io~1component", "worker"), op("replace", "/spec/ingress/0/ports/0/port", "8081")),
			"Deployment/adpulse-worker: reachable from the ingress controller"},
		{"no DNS", "dev", deleteObject("networking.k8s.io/v1", "NetworkPolicy", "adpulse-allow-dns"),
			"Job/adpulse-migrate: no NetworkPolicy lets it resolve names"},
		{"worker cut from CQL", "production", jsonPatch("NetworkPolicy", "adpulse-worker-egress", op("remove", "/spec/egress/0/ports/3")),
			"Deployment/adpulse-worker: no NetworkPolicy lets it reach port 9042"},
		{"api cut from object storage", "production", jsonPatch("NetworkPolicy", "adpulse-api-egress", op("remove", "/spec/egress/1")),
			"Deployment/adpulse-api: no NetworkPolicy lets it reach port 443"},
		{"migrations cut off", "dev", deleteObject("networking.k8s.io/v1", "NetworkPolicy", "adpulse-migrate-egress"),
			"Job/adpulse-migrate: no NetworkPolicy lets it reach port 5432"},
		{"latest image", "production", "images:\n  - name: registry.example.com/adpulse/adpulse\n    newTag: latest\n",
			"image \"registry.example.com/adpulse/adpulse:latest\" is not pinned"},
		{"untagged image", "dev", "images:\n  - name: adpulse\n    newTag: \"\"\n    newName: adpulse\n" + jsonPatch("Deployment", "adpulse-api", op("replace", container0+"/image", "adpulse")),
			"Deployment/adpulse-api container adpulse: image \"adpulse\" is not pinned"},
		{"image from nowhere in production", "production", jsonPatch("Deployment", "adpulse-worker", op("replace", container0+"/image", "adpulse:0.1.0")),
			"image \"adpulse:0.1.0\" is not from a registry"},
		{"unknown key", "production", configLiteral("ADPULSE__KAFKA__BROKER=kafka:9092"),
			"ADPULSE__KAFKA__BROKER is not a key adpulse reads"},
		{"credential in the ConfigMap", "production", configLiteral("ADPULSE__OPS__TOKEN=an-operators-token-of-enough-length-0123"),
			"ADPULSE__OPS__TOKEN is a credential: it belongs in a Secret"},
		{"CQL nodes not a list", "dev", configLiteral("ADPULSE__CQL__NODES=scylla:9042"),
			"ADPULSE__CQL__NODES must be a JSON list"},
		{"broker without port", "production", configLiteral("ADPULSE__KAFKA__BROKERS=kafka"),
			"ADPULSE__KAFKA__BROKERS: \"kafka\" is not host:port"},
		{"logs for a terminal", "production", configLiteral("ADPULSE__TELEMETRY__LOG_FORMAT=pretty"),
			"the cluster's log collector wants json"},
		{"a real secret committed", "dev", secretLiteral("adpulse-api", "ADPULSE__API__JWT_SECRET=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"),
			"ADPULSE__API__JWT_SECRET does not look like a placeholder"},
		{"short signing key", "dev", secretLiteral("adpulse-api", "ADPULSE__API__JWT_SECRET=placeholder-too-short"),
			"ADPULSE__API__JWT_SECRET is 21 bytes; adpulse refuses fewer than 32"},
		{"postgres URL of another kind", "dev", secretLiteral("adpulse-postgres", "ADPULSE__POSTGRES__URL=mysql://adpulse:placeholder@db/adpulse"),
			"ADPULSE__POSTGRES__URL must be a postgres:// URL"},
		{"SMTP password in clear", "dev", secretLiteral("adpulse-alerter-smtp", "ADPULSE__ALERTS__SMTP_URL=smtp://relay.example.invalid:25"),
			"would send the password unencrypted"},
		{"SMTP password alone", "dev", jsonPatch("Secret", "adpulse-alerter-smtp", op("remove", "/data/ADPULSE__ALERTS__SMTP_USERNAME")),
			"the SMTP relay's URL, user name and password go together"},
		{"a Secret rendered in production", "production", "secretGenerator:\n  - name: adpulse-redis\n    literals:\n      - ADPULSE__REDIS__URL=redis://:placeholder@redis:6379\n",
			"production renders no Secret"},
		{"a Secret neither rendered nor provided", "dev", deleteObject("v1", "Secret", "adpulse-redis"),
			"reads Secret adpulse-redis, which is neither rendered nor provided"},
		{"creatives on the read-only root", "dev", jsonPatch("Deployment", "adpulse-api", op("remove", container0+"/volumeMounts")),
			"creatives go to /var/lib/adpulse/assets, which is on the read-only root filesystem"},
		{"creatives in a relative folder", "production", configLiteral("ADPULSE__API__ASSET_STORE=./assets"),
			"is relative to the container's working directory"},
		{"migration without its wait", "production", jsonPatch("Job", "adpulse-migrate", op("replace", container0+"/args", "[migrate]")),
			"Job/adpulse-migrate: args [\"migrate\"], want [migrate --wait SECONDS]"},
		{"no migration", "dev", deleteObject("batch/v1", "Job", "adpulse-migrate"),
			"want exactly the migration Job, found 0 Jobs"},
		{"wrong role", "production", jsonPatch("Deployment", "adpulse-worker", op("replace", container0+"/args", "[gateway]")),
			"Deployment/adpulse-worker: args [\"gateway\"], want [\"worker\"]"},
		{"a role missing", "production", deleteObject("apps/v1", "Deployment", "adpulse-alerter"),
			"Deployment/adpulse-alerter: missing"},
		{"account token mounted", "dev", jsonPatch("ServiceAccount", "adpulse", op("replace", "/automountServiceAccountToken", "true")),
			"ServiceAccount/adpulse: automountServiceAccountToken must be false"},
		{"request above limit", "production", jsonPatch("Deployment", "adpulse-alerter", op("replace", container0+"/resources/requests/memory", "1Gi")),
			"memory request 1Gi above its limit 256Mi"},
		{"privileged", "production", jsonPatch("Deployment", "adpulse-gateway", op("replace", container0+"/securityContext/privileged", "true")),
			"Deployment/adpulse-gateway container adpulse: privileged"},
		{"a capability added", "dev", jsonPatch("Deployment", "adpulse-worker", op("add", container0+"/securityContext/capabilities/add", "[NET_BIND_SERVICE]")),
			"adds capabilities [NET_BIND_SERVICE]"},
		{"host network", "production", jsonPatch("Deployment", "adpulse-api", op("add", "/spec/template/spec/hostNetwork", "true")),
			"Deployment/adpulse-api: shares a host namespace"},
		{"migration retried forever", "production", jsonPatch("Job", "adpulse-migrate", op("remove", "/spec/backoffLimit")),
			"Job/adpulse-migrate: no backoffLimit"},
		{"no Pod Security", "production", jsonPatch("Namespace", "adpulse", op("remove", "/metadata/labels/pod-security.kubernetes.io~1enforce")),
			"Namespace/adpulse: does not enforce Pod Security restricted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := wrap(t, tc.overlay, tc.extra)
			problems := check(o, profileFor(t, tc.overlay))
			if !contains(problems, tc.want) {
				t.Fatalf("want a problem containing %q, got %d:\n%s", tc.want, len(problems), strings.Join(problems, "\n"))
			}
		})
	}
	if len(cases) < 60 {
		t.Fatalf("only %d breakages", len(cases))
	}
}
