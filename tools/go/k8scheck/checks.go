package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// role is what adpulse's code says about one long-running role: the
// port its listener binds (the config's default), the key that sets it,
// whether it is behind a Service and the ingress controller, how it is
// scaled, and the backend ports its process opens (services/adpulse/src).
type role struct {
	name      string
	port      int32
	listenKey string
	routed    bool   // a Service, ingress from the ingress controller, draining
	scaling   string // "cpu", "lag" or "" (a fixed count)
	egress    []int32
}

var roles = []role{
	{"gateway", 8080, "ADPULSE__GATEWAY__LISTEN", true, "cpu", []int32{9092, 5432, 6379}},
	{"worker", 8081, "ADPULSE__WORKER__LISTEN", false, "lag", []int32{9092, 5432, 6379, 9042}},
	{"api", 8082, "ADPULSE__API__LISTEN", true, "cpu", []int32{5432, 6379, 9042, 443}},
	{"alerter", 8083, "ADPULSE__ALERTS__LISTEN", false, "", []int32{9092, 5432, 443}},
}

// The migration Job's backends: Postgres and CQL.
var migrateEgress = []int32{5432, 9042}

const (
	imageUser   = 10001 // Dockerfile: useradd --uid 10001
	lagMetric   = "adpulse_worker_consumer_lag"
	componentLb = "app.kubernetes.io/component"
)

// profile is what an overlay is checked for.
type profile struct {
	production bool            // pinned images, zones enforced, Secrets from outside
	keys       map[string]bool // every ADPULSE__ key adpulse reads (configKeys)
}

// Secrets production takes from the cluster's secret manager instead of
// rendering them.
var externalSecrets = map[string]bool{
	"adpulse-postgres": true, "adpulse-redis": true, "adpulse-api": true, "adpulse-alerter-smtp": true,
}

// problems collects what is wrong, each naming its object.
type problems []string

func (p *problems) add(obj, format string, args ...any) {
	*p = append(*p, obj+": "+fmt.Sprintf(format, args...))
}

// check runs every check on a rendered overlay and returns the problems,
// sorted; none means the overlay keeps every promise.
func check(o *objects, prof profile) []string {
	var p problems
	checkInventory(o, &p)
	for _, r := range roles {
		d := o.deployment("adpulse-" + r.name)
		if d == nil {
			continue
		}
		obj := "Deployment/" + d.Name
		env := o.env(&d.Spec.Template.Spec)
		checkPod(o, prof, obj, &d.Spec.Template.Spec, &p)
		checkRole(o, prof, r, d, env, &p)
		checkScaling(o, prof, r, d, env, &p)
		checkPolicies(o, obj, d.Spec.Template.Labels, r.port, r.routed, r.egress, &p)
	}
	for i := range o.jobs {
		j := &o.jobs[i]
		obj := "Job/" + j.Name
		checkPod(o, prof, obj, &j.Spec.Template.Spec, &p)
		checkMigrate(o, j.Name, j.Spec.Template.Spec, j.Spec.BackoffLimit, &p)
		checkPolicies(o, obj, j.Spec.Template.Labels, 0, false, migrateEgress, &p)
	}
	checkDefaultDeny(o, &p)
	checkConfig(o, prof, &p)
	checkNamespaces(o, &p)
	sort.Strings(p)
	return p
}

func (o *objects) deployment(name string) *appsv1.Deployment {
	for i := range o.deployments {
		if o.deployments[i].Name == name {
			return &o.deployments[i]
		}
	}
	return nil
}

// checkInventory: exactly the four roles and the migration Job, so an
// overlay that renders nothing (or drops a role) fails.
func checkInventory(o *objects, p *problems) {
	want := map[string]bool{}
	for _, r := range roles {
		want["adpulse-"+r.name] = true
		if o.deployment("adpulse-"+r.name) == nil {
			p.add("Deployment/adpulse-"+r.name, "missing")
		}
	}
	for _, d := range o.deployments {
		if !want[d.Name] {
			p.add("Deployment/"+d.Name, "not an adpulse role (gateway, worker, api, alerter)")
		}
	}
	if len(o.jobs) != 1 || o.jobs[0].Name != "adpulse-migrate" {
		p.add("Job/adpulse-migrate", "want exactly the migration Job, found %d Jobs", len(o.jobs))
	}
}

// checkPod: what every adpulse pod needs, whatever its role.
func checkPod(o *objects, prof profile, obj string, spec *corev1.PodSpec, p *problems) {
	if spec.ServiceAccountName == "" || spec.ServiceAccountName == "default" {
		p.add(obj, "runs as the namespace's default ServiceAccount; give it adpulse's own")
	} else if sa := o.serviceAccount(spec.ServiceAccountName); sa == nil {
		p.add(obj, "ServiceAccount %s is not rendered", spec.ServiceAccountName)
	} else if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		p.add("ServiceAccount/"+sa.Name, "automountServiceAccountToken must be false")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p.add(obj, "automountServiceAccountToken must be false (no role calls the Kubernetes API)")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		p.add(obj, "shares a host namespace")
	}
	sc := spec.SecurityContext
	if sc == nil {
		p.add(obj, "no pod securityContext")
		sc = &corev1.PodSecurityContext{}
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		p.add(obj, "runAsNonRoot must be true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != imageUser {
		p.add(obj, "runAsUser must be %d (the image's user)", imageUser)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.add(obj, "seccompProfile must be RuntimeDefault")
	}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	if len(spec.Containers) == 0 {
		p.add(obj, "no container")
	}
	for _, c := range containers {
		cobj := obj + " container " + c.Name
		checkContainerSecurity(cobj, c.SecurityContext, p)
		checkResources(cobj, c.Resources, p)
		checkImage(cobj, c.Image, prof, p)
		checkEnvRefs(o, prof, cobj, c, p)
	}
}

func checkContainerSecurity(obj string, sc *corev1.SecurityContext, p *problems) {
	if sc == nil {
		p.add(obj, "no securityContext")
		return
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.add(obj, "allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p.add(obj, "readOnlyRootFilesystem must be true")
	}
	if sc.Privileged != nil && *sc.Privileged {
		p.add(obj, "privileged")
	}
	if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		p.add(obj, "runAsNonRoot false overrides the pod's")
	}
	dropsAll := false
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Drop {
			dropsAll = dropsAll || c == "ALL"
		}
		if len(sc.Capabilities.Add) > 0 {
			p.add(obj, "adds capabilities %v", sc.Capabilities.Add)
		}
	}
	if !dropsAll {
		p.add(obj, "capabilities must drop ALL")
	}
}

func checkResources(obj string, r corev1.ResourceRequirements, p *problems) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[name]
		lim, hasLim := r.Limits[name]
		if !hasReq || req.IsZero() {
			p.add(obj, "no %s request", name)
		}
		if !hasLim || lim.IsZero() {
			p.add(obj, "no %s limit", name)
		}
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			p.add(obj, "%s request %s above its limit %s", name, req.String(), lim.String())
		}
	}
}

// checkImage: the base names the image `adpulse` and each overlay sets
// its tag; a rendered image without a tag or digest, or `latest`, could
// change under a running Deployment.
func checkImage(obj, image string, prof profile, p *problems) {
	if strings.Contains(image, "@sha256:") {
		return
	}
	name, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	if tag == "" || tag == "latest" {
		p.add(obj, "image %q is not pinned (a tag other than latest, or a digest)", image)
	}
	if prof.production && !strings.Contains(name, "/") {
		p.add(obj, "image %q is not from a registry", image)
	}
}

// checkEnvRefs: every ConfigMap and Secret a container reads is rendered,
// or (production) one of the Secrets the secret manager provides, or
// optional.
func checkEnvRefs(o *objects, prof profile, obj string, c corev1.Container, p *problems) {
	for _, from := range c.EnvFrom {
		if ref := from.ConfigMapRef; ref != nil && o.configMap(ref.Name) == nil {
			p.add(obj, "reads ConfigMap %s, which is not rendered", ref.Name)
		}
		if ref := from.SecretRef; ref != nil && o.secret(ref.Name) == nil {
			optional := ref.Optional != nil && *ref.Optional
			if !optional && !(prof.production && externalSecrets[ref.Name]) {
				p.add(obj, "reads Secret %s, which is neither rendered nor provided", ref.Name)
			}
		}
	}
}

// checkRole: the role's command, port, probes, rollout and placement.
func checkRole(o *objects, prof profile, r role, d *appsv1.Deployment, env map[string]string, p *problems) {
	obj := "Deployment/" + d.Name
	tpl := d.Spec.Template.Labels
	if tpl[componentLb] != r.name {
		p.add(obj, "pods are not labelled %s=%s", componentLb, r.name)
	}
	if !selects(d.Spec.Selector, tpl) {
		p.add(obj, "its selector does not select its own pods")
	}
	c := container(&d.Spec.Template.Spec, "adpulse")
	if c == nil {
		p.add(obj, "no container named adpulse")
		return
	}
	if strings.Join(c.Args, " ") != r.name {
		p.add(obj, "args %q, want [%q]", c.Args, r.name)
	}
	port := int32(0)
	for _, cp := range c.Ports {
		if cp.Name == "http" {
			port = cp.ContainerPort
		}
	}
	if port != r.port {
		p.add(obj, "container port http is %d, want %d", port, r.port)
	}
	if want := fmt.Sprintf("0.0.0.0:%d", r.port); env[r.listenKey] != want {
		p.add(obj, "%s is %q, want %q (the probes' and Services' port, on every interface)", r.listenKey, env[r.listenKey], want)
	}
	checkProbe(obj, "liveness", c.LivenessProbe, "/health/live", c, r.port, true, p)
	checkProbe(obj, "readiness", c.ReadinessProbe, "/health/ready", c, r.port, true, p)
	checkProbe(obj, "startup", c.StartupProbe, "/health/live", c, r.port, false, p)
	if rp := c.ReadinessProbe; rp != nil && rp.TimeoutSeconds < 3 {
		p.add(obj, "readiness timeout %ds is under the 3 s a report may take (2 s per check)", rp.TimeoutSeconds)
	}
	s := d.Spec.Strategy
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil {
		p.add(obj, "strategy must be RollingUpdate")
	} else {
		if !intOrPercent(s.RollingUpdate.MaxUnavailable, 0) {
			p.add(obj, "maxUnavailable must be 0 (never below the desired count)")
		}
		if !intOrPercent(s.RollingUpdate.MaxSurge, 1) {
			p.add(obj, "maxSurge must be 1")
		}
	}
	checkGrace(obj, r, d.Spec.Template.Spec.TerminationGracePeriodSeconds, env, p)
	checkSpread(obj, prof, d.Spec.Template.Spec.TopologySpreadConstraints, tpl, p)
	checkWritable(obj, r, &d.Spec.Template.Spec, c, env, p)
	if r.routed {
		checkService(o, obj, r, tpl, c, p)
	}
}

func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// checkProbe: an HTTP GET of path on the container's own port (by number
// or by the name of one of its ports).
func checkProbe(obj, kind string, pr *corev1.Probe, path string, c *corev1.Container, port int32, required bool, p *problems) {
	if pr == nil {
		if required {
			p.add(obj, "no %s probe", kind)
		}
		return
	}
	if pr.HTTPGet == nil {
		p.add(obj, "%s probe is not an HTTP GET", kind)
		return
	}
	if pr.HTTPGet.Path != path {
		p.add(obj, "%s probe asks %s, want %s", kind, pr.HTTPGet.Path, path)
	}
	if got := resolvePort(pr.HTTPGet.Port, c); got != port {
		p.add(obj, "%s probe on port %s (%d), want %d", kind, pr.HTTPGet.Port.String(), got, port)
	}
}

func resolvePort(port intstr.IntOrString, c *corev1.Container) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

func intOrPercent(v *intstr.IntOrString, want int) bool {
	if v == nil {
		return false
	}
	if v.Type == intstr.Int {
		return int(v.IntVal) == want
	}
	// A percentage rounds: only 0% means 0 whatever the count.
	return want == 0 && v.StrVal == "0%"
}

// checkGrace: Kubernetes kills the process terminationGracePeriodSeconds
// after SIGTERM. The gateway and the API first drain
// (ADPULSE__HTTP__DRAIN_MS), and the gateway then waits up to
// gateway.shutdown_grace_secs for Kafka; the worker and the alerter flush
// and commit, for which 30 s is the floor chosen here.
func checkGrace(obj string, r role, grace *int64, env map[string]string, p *problems) {
	g := int64(30) // Kubernetes' default
	if grace != nil {
		g = *grace
	}
	needMs := int64(30_000)
	why := "the worker and the alerter flush and commit on SIGTERM"
	if r.routed {
		needMs = envInt(env, "ADPULSE__HTTP__DRAIN_MS", 3000) + 1000
		why = "the drain (ADPULSE__HTTP__DRAIN_MS) and a second for requests in flight"
		if r.name == "gateway" {
			needMs += envInt(env, "ADPULSE__GATEWAY__SHUTDOWN_GRACE_SECS", 10) * 1000
			why += ", then the produces to Kafka (gateway.shutdown_grace_secs)"
		}
	}
	if g*1000 < needMs {
		p.add(obj, "terminationGracePeriodSeconds %d is under %d ms: %s", g, needMs, why)
	}
}

func envInt(env map[string]string, key string, fallback int64) int64 {
	if v, ok := env[key]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		return -1 << 40 // unparseable: make every bound using it fail loudly
	}
	return fallback
}

// checkSpread: spread over zones and over nodes. Nodes are a preference
// (ScheduleAnyway) so a surge pod or a drain never waits for a free node;
// in production zones are a rule (DoNotSchedule).
func checkSpread(obj string, prof profile, cs []corev1.TopologySpreadConstraint, tpl map[string]string, p *problems) {
	found := map[string]*corev1.TopologySpreadConstraint{}
	for i := range cs {
		c := &cs[i]
		if !selects(c.LabelSelector, tpl) {
			p.add(obj, "topology spread on %s does not select the Deployment's pods", c.TopologyKey)
		}
		if c.MaxSkew != 1 {
			p.add(obj, "topology spread on %s: maxSkew %d, want 1", c.TopologyKey, c.MaxSkew)
		}
		found[c.TopologyKey] = c
	}
	zone, host := found["topology.kubernetes.io/zone"], found["kubernetes.io/hostname"]
	if zone == nil {
		p.add(obj, "no topology spread across zones")
	} else if prof.production && zone.WhenUnsatisfiable != corev1.DoNotSchedule {
		p.add(obj, "production spreads across zones as a rule: whenUnsatisfiable DoNotSchedule")
	}
	if host == nil {
		p.add(obj, "no topology spread across nodes")
	} else if host.WhenUnsatisfiable != corev1.ScheduleAnyway {
		p.add(obj, "spread across nodes must be ScheduleAnyway (a surge pod must not wait for a free node)")
	}
}

// checkWritable: the root filesystem is read-only, so a creatives folder
// (ADPULSE__API__ASSET_STORE not s3://) needs a volume mounted there.
func checkWritable(obj string, r role, spec *corev1.PodSpec, c *corev1.Container, env map[string]string, p *problems) {
	if r.name != "api" {
		return
	}
	store := env["ADPULSE__API__ASSET_STORE"]
	if store == "" {
		store = "./adpulse-data/assets" // the config's default
	}
	if strings.HasPrefix(store, "s3://") {
		return
	}
	dir := strings.TrimPrefix(store, "file://")
	if !strings.HasPrefix(dir, "/") {
		p.add(obj, "ADPULSE__API__ASSET_STORE %q is relative to the container's working directory", store)
		return
	}
	for _, m := range c.VolumeMounts {
		if (dir == m.MountPath || strings.HasPrefix(dir, strings.TrimSuffix(m.MountPath, "/")+"/")) && !m.ReadOnly {
			return
		}
	}
	p.add(obj, "creatives go to %s, which is on the read-only root filesystem (mount a volume there)", dir)
}

func checkService(o *objects, obj string, r role, tpl map[string]string, c *corev1.Container, p *problems) {
	n := 0
	for _, s := range o.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(tpl)) {
			continue
		}
		n++
		if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
			p.add("Service/"+s.Name, "type %s, want ClusterIP (the ingress controller fronts it)", s.Spec.Type)
		}
		for _, sp := range s.Spec.Ports {
			if got := resolvePort(sp.TargetPort, c); got != r.port {
				p.add("Service/"+s.Name, "port %d targets %s (%d), want %d", sp.Port, sp.TargetPort.String(), got, r.port)
			}
		}
	}
	if n != 1 {
		p.add(obj, "%d Services select its pods, want 1", n)
	}
}

func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(set))
}

// checkMigrate: the Job runs `adpulse migrate --wait N`, once, without
// restarting in place.
func checkMigrate(o *objects, name string, spec corev1.PodSpec, backoff *int32, p *problems) {
	obj := "Job/" + name
	c := container(&spec, "adpulse")
	if c == nil {
		p.add(obj, "no container named adpulse")
		return
	}
	if len(c.Args) != 3 || c.Args[0] != "migrate" || c.Args[1] != "--wait" {
		p.add(obj, "args %q, want [migrate --wait SECONDS]", c.Args)
	} else if n, err := strconv.Atoi(c.Args[2]); err != nil || n <= 0 {
		p.add(obj, "--wait %q is not a positive number of seconds", c.Args[2])
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever && spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		p.add(obj, "restartPolicy %q", spec.RestartPolicy)
	}
	if backoff == nil {
		p.add(obj, "no backoffLimit")
	}
	_ = o
}
