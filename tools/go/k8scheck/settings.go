package main

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

func (o *objects) serviceAccount(name string) *corev1.ServiceAccount {
	for i := range o.serviceAccounts {
		if o.serviceAccounts[i].Name == name {
			return &o.serviceAccounts[i]
		}
	}
	return nil
}

func (o *objects) configMap(name string) *corev1.ConfigMap {
	for i := range o.configMaps {
		if o.configMaps[i].Name == name {
			return &o.configMaps[i]
		}
	}
	return nil
}

func (o *objects) secret(name string) *corev1.Secret {
	for i := range o.secrets {
		if o.secrets[i].Name == name {
			return &o.secrets[i]
		}
	}
	return nil
}

// env is the environment the pod's adpulse container starts with, as far
// as the render knows it: its envFrom ConfigMaps and Secrets (those that
// are rendered) in order, then its env values.
func (o *objects) env(spec *corev1.PodSpec) map[string]string {
	env := map[string]string{}
	c := container(spec, "adpulse")
	if c == nil {
		return env
	}
	for _, from := range c.EnvFrom {
		if ref := from.ConfigMapRef; ref != nil {
			if cm := o.configMap(ref.Name); cm != nil {
				for k, v := range cm.Data {
					env[from.Prefix+k] = v
				}
			}
		}
		if ref := from.SecretRef; ref != nil {
			if s := o.secret(ref.Name); s != nil {
				for k, v := range s.Data {
					env[from.Prefix+k] = string(v)
				}
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

// Keys whose values are credentials: never in a ConfigMap.
var secretKeys = map[string]bool{
	"ADPULSE__POSTGRES__URL":         true, // holds the password
	"ADPULSE__REDIS__URL":            true, // may hold one
	"ADPULSE__API__JWT_SECRET":       true,
	"ADPULSE__OPS__TOKEN":            true,
	"ADPULSE__ALERTS__SMTP_PASSWORD": true,
	"AWS_SECRET_ACCESS_KEY":          true,
	"AWS_SESSION_TOKEN":              true,
}

// checkConfig: every key is one adpulse reads (an unknown one stops it),
// credentials only in Secrets, rendered Secrets only placeholders, and
// the values adpulse checks at startup (crates/config/src/check.rs) pass.
func checkConfig(o *objects, prof profile, p *problems) {
	for _, cm := range o.configMaps {
		obj := "ConfigMap/" + cm.Name
		for k, v := range cm.Data {
			checkKey(obj, k, prof, p)
			if secretKeys[k] {
				p.add(obj, "%s is a credential: it belongs in a Secret", k)
			}
			checkValue(obj, k, v, p)
		}
	}
	if prof.production && len(o.secrets) > 0 {
		p.add("Secret/"+o.secrets[0].Name, "production renders no Secret: they come from the secret manager")
	}
	for _, s := range o.secrets {
		obj := "Secret/" + s.Name
		if len(s.Data)+len(s.StringData) == 0 {
			p.add(obj, "empty")
		}
		for k, v := range s.Data {
			checkKey(obj, k, prof, p)
			// A value committed to the repository is public: only
			// placeholders that say so may be rendered.
			if secretKeys[k] && !strings.Contains(string(v), "placeholder") {
				p.add(obj, "%s does not look like a placeholder: real secrets never live in this repository", k)
			}
			checkValue(obj, k, string(v), p)
		}
		for k := range s.StringData {
			p.add(obj, "%s in stringData: generate Secrets (secretGenerator) or take them from the secret manager", k)
		}
		checkSMTP(obj, s.Data, p)
	}
}

func checkKey(obj, key string, prof profile, p *problems) {
	switch {
	case strings.HasPrefix(key, "AWS_"):
		// object_store reads AWS_* itself (the API's S3 asset store).
	case prof.keys[key]:
	default:
		p.add(obj, "%s is not a key adpulse reads: every role would refuse to start", key)
	}
}

// checkValue: the values adpulse refuses before connecting to anything.
func checkValue(obj, key, v string, p *problems) {
	switch {
	case strings.HasSuffix(key, "__LISTEN"):
		if !hostPort(v) {
			p.add(obj, "%s %q is not host:port", key, v)
		}
	case key == "ADPULSE__KAFKA__BROKERS":
		for _, b := range strings.Split(v, ",") {
			if !hostPort(strings.TrimSpace(b)) {
				p.add(obj, "%s: %q is not host:port", key, b)
			}
		}
	case key == "ADPULSE__CQL__NODES":
		var nodes []string
		if err := json.Unmarshal([]byte(v), &nodes); err != nil || len(nodes) == 0 {
			p.add(obj, "%s must be a JSON list of host:port, like [\"scylla:9042\"]", key)
		}
		for _, n := range nodes {
			if !hostPort(n) {
				p.add(obj, "%s: %q is not host:port", key, n)
			}
		}
	case key == "ADPULSE__TELEMETRY__LOG_FORMAT":
		if v != "json" {
			p.add(obj, "%s %q: the cluster's log collector wants json", key, v)
		}
	case key == "ADPULSE__API__JWT_SECRET", key == "ADPULSE__OPS__TOKEN":
		if len(v) < 32 {
			p.add(obj, "%s is %d bytes; adpulse refuses fewer than 32", key, len(v))
		}
	case key == "ADPULSE__POSTGRES__URL":
		if !hasScheme(v, "postgres", "postgresql") {
			p.add(obj, "%s must be a postgres:// URL", key)
		}
	case key == "ADPULSE__REDIS__URL":
		if !hasScheme(v, "redis", "rediss") {
			p.add(obj, "%s must be a redis:// or rediss:// URL", key)
		}
	}
}

// checkSMTP: the relay's URL, user name and password go together, and a
// password travels only over TLS (adpulse refuses otherwise).
func checkSMTP(obj string, data map[string][]byte, p *problems) {
	u, user, pw := data["ADPULSE__ALERTS__SMTP_URL"], data["ADPULSE__ALERTS__SMTP_USERNAME"], data["ADPULSE__ALERTS__SMTP_PASSWORD"]
	if (user == nil) != (pw == nil) || (pw != nil && u == nil) {
		p.add(obj, "the SMTP relay's URL, user name and password go together")
	}
	if pw != nil && u != nil {
		parsed, err := url.Parse(string(u))
		tls := err == nil && (parsed.Scheme == "smtps" || parsed.Query().Get("tls") == "starttls")
		if !tls {
			p.add(obj, "ADPULSE__ALERTS__SMTP_URL would send the password unencrypted: use smtps:// or ?tls=starttls")
		}
	}
}

func hostPort(v string) bool {
	i := strings.LastIndex(v, ":")
	if i <= 0 {
		return false
	}
	port := v[i+1:]
	if port == "" || len(port) > 5 {
		return false
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

func hasScheme(v string, schemes ...string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// checkNamespaces: the overlay's namespace enforces Pod Security
// "restricted", so a pod that stops meeting it is refused at admission.
func checkNamespaces(o *objects, p *problems) {
	if len(o.namespaces) != 1 {
		p.add("Namespace", "want the overlay's one Namespace, found %d", len(o.namespaces))
		return
	}
	ns := o.namespaces[0]
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		p.add("Namespace/"+ns.Name, "does not enforce Pod Security restricted")
	}
	var wrong []string
	for _, d := range o.deployments {
		if d.Namespace != ns.Name {
			wrong = append(wrong, d.Name)
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		p.add("Namespace/"+ns.Name, "Deployments outside it: %v", wrong)
	}
}

// checkBase: the base renders no Secret, so nothing secret is shared by
// every overlay or committed with it, and names the image plain `adpulse`,
// which each overlay's `images` pins.
func checkBase(o *objects) []string {
	var p problems
	for _, s := range o.secrets {
		p.add("Secret/"+s.Name, "in the base: Secrets come from an overlay (placeholders) or the secret manager")
	}
	for _, d := range o.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image != "adpulse" {
				p.add("Deployment/"+d.Name, "image %q in the base; the overlays' images entry expects adpulse", c.Image)
			}
		}
	}
	if len(o.deployments) != len(roles) {
		p.add("base", "%d Deployments, want %d", len(o.deployments), len(roles))
	}
	sort.Strings(p)
	return p
}
