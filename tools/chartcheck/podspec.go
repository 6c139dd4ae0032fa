// SPDX-License-Identifier: MIT

// Checks of a pod template: containers, images, ports, environment
// (including $(VAR) references), volumes and their mounts, probes,
// lifecycle hooks, resources, security context and scheduling, plus the
// Secrets, ConfigMaps, claims and ServiceAccount it refers to.

package main

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerAt is a container of a pod spec and where it is.
type containerAt struct {
	ct   *corev1.Container
	path *field.Path
	init bool
}

func (c *checker) checkPodSpec(pt *podTemplate) {
	o, s, sp := pt.obj, pt.spec, pt.path
	if len(s.Containers) == 0 {
		c.errf(o, sp.Child("containers"), "at least one container is required")
	}
	switch s.RestartPolicy {
	case "", corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		c.errf(o, sp.Child("restartPolicy"), "%q is not Always, OnFailure or Never", s.RestartPolicy)
	}
	switch s.DNSPolicy {
	case "", corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, corev1.DNSDefault, corev1.DNSNone:
	default:
		c.errf(o, sp.Child("dnsPolicy"), "%q is not a DNS policy", s.DNSPolicy)
	}
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		c.errf(o, sp.Child("terminationGracePeriodSeconds"), "%d is negative", *g)
	}
	for i, ips := range s.ImagePullSecrets {
		if ips.Name == "" {
			c.errf(o, sp.Child("imagePullSecrets").Index(i).Child("name"), "required")
		}
	}
	c.checkServiceAccount(pt)
	c.checkScheduling(pt)
	vols := c.checkVolumes(pt)

	portNames := map[string]string{} // port name -> container
	names := map[string]bool{}
	var all []containerAt
	for i := range s.InitContainers {
		all = append(all, containerAt{&s.InitContainers[i], sp.Child("initContainers").Index(i), true})
	}
	for i := range s.Containers {
		all = append(all, containerAt{&s.Containers[i], sp.Child("containers").Index(i), false})
	}
	for _, e := range all {
		ct, cp := e.ct, e.path
		if ct.Name == "" {
			c.errf(o, cp.Child("name"), "required")
		} else {
			for _, m := range validation.IsDNS1123Label(ct.Name) {
				c.errf(o, cp.Child("name"), "%q: %s", ct.Name, m)
			}
			if names[ct.Name] {
				c.errf(o, cp.Child("name"), "%q is used by two containers", ct.Name)
			}
			names[ct.Name] = true
		}
		if strings.TrimSpace(ct.Image) == "" {
			c.errf(o, cp.Child("image"), "required")
		} else if ct.Image != strings.TrimSpace(ct.Image) {
			c.errf(o, cp.Child("image"), "%q has leading or trailing white space", ct.Image)
		}
		switch ct.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			c.errf(o, cp.Child("imagePullPolicy"), "%q is not Always, IfNotPresent or Never", ct.ImagePullPolicy)
		}
		c.checkPorts(o, cp, ct, portNames)
		c.checkEnv(o, cp, ct, s)
		c.checkMounts(o, cp, ct, vols, pt.claims)
		sidecar := e.init && ct.RestartPolicy != nil && *ct.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if e.init && !sidecar && (ct.LivenessProbe != nil || ct.ReadinessProbe != nil || ct.StartupProbe != nil) {
			c.errf(o, cp, "an init container may not have probes")
		}
		c.checkProbe(o, cp.Child("livenessProbe"), ct, ct.LivenessProbe, true)
		c.checkProbe(o, cp.Child("readinessProbe"), ct, ct.ReadinessProbe, false)
		c.checkProbe(o, cp.Child("startupProbe"), ct, ct.StartupProbe, true)
		if ct.Lifecycle != nil {
			c.checkHook(o, cp.Child("lifecycle", "postStart"), ct, ct.Lifecycle.PostStart, s)
			c.checkHook(o, cp.Child("lifecycle", "preStop"), ct, ct.Lifecycle.PreStop, s)
		}
		for name, req := range ct.Resources.Requests {
			if lim, ok := ct.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
				c.errf(o, cp.Child("resources", "requests").Key(string(name)),
					"%s is more than the limit %s", req.String(), lim.String())
			}
		}
		c.checkSecurity(o, cp, ct, s)
	}
}

func (c *checker) checkPorts(o *Object, cp *field.Path, ct *corev1.Container, portNames map[string]string) {
	for i, p := range ct.Ports {
		pp := cp.Child("ports").Index(i)
		for _, m := range validation.IsValidPortNum(int(p.ContainerPort)) {
			c.errf(o, pp.Child("containerPort"), "%d: %s", p.ContainerPort, m)
		}
		if p.HostPort != 0 {
			for _, m := range validation.IsValidPortNum(int(p.HostPort)) {
				c.errf(o, pp.Child("hostPort"), "%d: %s", p.HostPort, m)
			}
		}
		c.checkProtocol(o, pp.Child("protocol"), p.Protocol)
		if p.Name == "" {
			continue
		}
		for _, m := range validation.IsValidPortName(p.Name) {
			c.errf(o, pp.Child("name"), "%q: %s", p.Name, m)
		}
		if other, dup := portNames[p.Name]; dup {
			c.errf(o, pp.Child("name"), "%q is also a port of container %q", p.Name, other)
		}
		portNames[p.Name] = ct.Name
	}
}

// envVarLike is what a $(NAME) must look like to be taken for a variable
// reference; $(lower case) is left alone, as a shell's $(command).
var envVarLike = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// varRefs lists the $(NAME) references the kubelet expands in s ("$$" is
// an escaped "$").
func varRefs(s string) []string {
	var out []string
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		if s[i+1] != '(' {
			continue
		}
		end := strings.IndexByte(s[i+2:], ')')
		if end < 0 {
			break
		}
		if name := s[i+2 : i+2+end]; envVarLike.MatchString(name) {
			out = append(out, name)
		}
		i += 2 + end
	}
	return out
}

// serviceLinkVar reports whether name may come from the service links the
// kubelet adds (FOO_SERVICE_HOST, FOO_PORT_80_TCP, ...).
func serviceLinkVar(name string) bool {
	return strings.Contains(name, "_SERVICE_") || strings.HasSuffix(name, "_PORT") ||
		strings.Contains(name, "_PORT_")
}

var envFieldPaths = map[string]bool{
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true,
	"metadata.labels": true, "metadata.annotations": true,
	"spec.nodeName": true, "spec.serviceAccountName": true,
	"status.hostIP": true, "status.hostIPs": true, "status.podIP": true, "status.podIPs": true,
}

var labelFieldPath = regexp.MustCompile(`^metadata\.(labels|annotations)\['[^']+'\]$`)

func (c *checker) checkEnv(o *Object, cp *field.Path, ct *corev1.Container, s *corev1.PodSpec) {
	links := s.EnableServiceLinks == nil || *s.EnableServiceLinks
	// Is a reference to name unresolvable? Variables from envFrom are not
	// known here, nor are service links.
	unknown := func(defined map[string]bool, name string) bool {
		return !defined[name] && len(ct.EnvFrom) == 0 && !(links && serviceLinkVar(name))
	}
	for i, ef := range ct.EnvFrom {
		ep := cp.Child("envFrom").Index(i)
		switch {
		case ef.ConfigMapRef != nil && ef.SecretRef != nil:
			c.errf(o, ep, "configMapRef and secretRef may not both be set")
		case ef.ConfigMapRef != nil:
			c.checkRef(o, ep.Child("configMapRef", "name"), "ConfigMap", ef.ConfigMapRef.Name, "", ef.ConfigMapRef.Optional)
		case ef.SecretRef != nil:
			c.checkRef(o, ep.Child("secretRef", "name"), "Secret", ef.SecretRef.Name, "", ef.SecretRef.Optional)
		default:
			c.errf(o, ep, "one of configMapRef and secretRef is required")
		}
	}
	defined := map[string]bool{}
	for i, ev := range ct.Env {
		ep := cp.Child("env").Index(i)
		for _, m := range validation.IsEnvVarName(ev.Name) {
			c.errf(o, ep.Child("name"), "%q: %s", ev.Name, m)
		}
		if ev.ValueFrom != nil {
			if ev.Value != "" {
				c.errf(o, ep, "value and valueFrom may not both be set")
			}
			c.checkEnvSource(o, ep.Child("valueFrom"), ev.ValueFrom)
		}
		// A value may refer only to variables defined before it.
		for _, ref := range varRefs(ev.Value) {
			if unknown(defined, ref) {
				c.errf(o, ep.Child("value"), "$(%s) refers to no variable defined before %s: it stays literal", ref, ev.Name)
			}
		}
		defined[ev.Name] = true
	}
	for _, arg := range []struct {
		name string
		list []string
	}{{"command", ct.Command}, {"args", ct.Args}} {
		for i, a := range arg.list {
			for _, ref := range varRefs(a) {
				if unknown(defined, ref) {
					c.errf(o, cp.Child(arg.name).Index(i), "$(%s) refers to no variable of the container: it stays literal", ref)
				}
			}
		}
	}
}

func (c *checker) checkEnvSource(o *Object, p *field.Path, vf *corev1.EnvVarSource) {
	n := 0
	if vf.FieldRef != nil {
		n++
		fp := vf.FieldRef.FieldPath
		if !envFieldPaths[fp] && !labelFieldPath.MatchString(fp) {
			c.errf(o, p.Child("fieldRef", "fieldPath"), "%q is not a field the downward API gives", fp)
		}
	}
	if vf.ResourceFieldRef != nil {
		n++
		if vf.ResourceFieldRef.Resource == "" {
			c.errf(o, p.Child("resourceFieldRef", "resource"), "required")
		}
	}
	if vf.ConfigMapKeyRef != nil {
		n++
		r := vf.ConfigMapKeyRef
		c.checkRef(o, p.Child("configMapKeyRef"), "ConfigMap", r.Name, r.Key, r.Optional)
	}
	if vf.SecretKeyRef != nil {
		n++
		r := vf.SecretKeyRef
		c.checkRef(o, p.Child("secretKeyRef"), "Secret", r.Name, r.Key, r.Optional)
	}
	if vf.FileKeyRef != nil {
		n++
	}
	if n != 1 {
		c.errf(o, p, "exactly one source is required, not %d", n)
	}
}

// checkRef checks a reference to a Secret or ConfigMap (and, when key is
// set, to one of its keys): the name is required; when the chart renders
// the object, the key must be in it; otherwise it must exist in the
// namespace beforehand, which is noted.
func (c *checker) checkRef(o *Object, p *field.Path, kind, name, key string, optional *bool) {
	if name == "" {
		c.errf(o, p, "the %s name is required", kind)
		return
	}
	if key != "" {
		for _, m := range validation.IsConfigMapKey(key) {
			c.errf(o, p, "key %q: %s", key, m)
		}
	}
	target := c.lookup(o, kind, name)
	if target == nil {
		if optional == nil || !*optional {
			msg := fmt.Sprintf("uses %s %q, which the chart does not render: it must exist in the namespace", kind, name)
			for _, n := range c.res.Notes[o] {
				if n == msg {
					return
				}
			}
			c.note(o, "%s", msg)
		}
		return
	}
	if key == "" || (optional != nil && *optional) {
		return
	}
	has := false
	switch v := target.Obj.(type) {
	case *corev1.Secret:
		_, a := v.Data[key]
		_, b := v.StringData[key]
		has = a || b
	case *corev1.ConfigMap:
		_, a := v.Data[key]
		_, b := v.BinaryData[key]
		has = a || b
	}
	if !has {
		c.errf(o, p, "%s %q has no key %q", kind, name, key)
	}
}

// checkVolumes checks the pod's volumes and returns them by name.
func (c *checker) checkVolumes(pt *podTemplate) map[string]*corev1.Volume {
	o, vp := pt.obj, pt.path.Child("volumes")
	vols := map[string]*corev1.Volume{}
	for i := range pt.spec.Volumes {
		v := &pt.spec.Volumes[i]
		p := vp.Index(i)
		if v.Name == "" {
			c.errf(o, p.Child("name"), "required")
		} else {
			for _, m := range validation.IsDNS1123Label(v.Name) {
				c.errf(o, p.Child("name"), "%q: %s", v.Name, m)
			}
			if vols[v.Name] != nil {
				c.errf(o, p.Child("name"), "%q is used twice", v.Name)
			}
			vols[v.Name] = v
		}
		if n := countSources(v.VolumeSource); n != 1 {
			c.errf(o, p, "exactly one volume source is required, not %d", n)
		}
		switch {
		case v.Secret != nil:
			c.checkMode(o, p.Child("secret", "defaultMode"), v.Secret.DefaultMode)
			c.checkRef(o, p.Child("secret", "secretName"), "Secret", v.Secret.SecretName, "", v.Secret.Optional)
			for j, it := range v.Secret.Items {
				ip := p.Child("secret", "items").Index(j)
				c.checkItem(o, ip, it)
				c.checkRef(o, ip.Child("key"), "Secret", v.Secret.SecretName, it.Key, v.Secret.Optional)
			}
		case v.ConfigMap != nil:
			c.checkMode(o, p.Child("configMap", "defaultMode"), v.ConfigMap.DefaultMode)
			c.checkRef(o, p.Child("configMap", "name"), "ConfigMap", v.ConfigMap.Name, "", v.ConfigMap.Optional)
			for j, it := range v.ConfigMap.Items {
				ip := p.Child("configMap", "items").Index(j)
				c.checkItem(o, ip, it)
				c.checkRef(o, ip.Child("key"), "ConfigMap", v.ConfigMap.Name, it.Key, v.ConfigMap.Optional)
			}
		case v.PersistentVolumeClaim != nil:
			name := v.PersistentVolumeClaim.ClaimName
			if name == "" {
				c.errf(o, p.Child("persistentVolumeClaim", "claimName"), "required")
			} else if c.lookup(o, "PersistentVolumeClaim", name) == nil {
				c.note(o, "uses PersistentVolumeClaim %q, which the chart does not render: it must exist", name)
			}
		case v.HostPath != nil:
			if !path.IsAbs(v.HostPath.Path) {
				c.errf(o, p.Child("hostPath", "path"), "%q is not absolute", v.HostPath.Path)
			}
		}
	}
	return vols
}

// countSources counts the sources set in a VolumeSource (all pointers).
func countSources(vs corev1.VolumeSource) int {
	n := 0
	v := reflect.ValueOf(vs)
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

func (c *checker) checkMode(o *Object, p *field.Path, mode *int32) {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		c.errf(o, p, "%d is not a file mode (0 to 0777; %#o in octal)", *mode, *mode)
	}
}

func (c *checker) checkItem(o *Object, p *field.Path, it corev1.KeyToPath) {
	if it.Key == "" {
		c.errf(o, p.Child("key"), "required")
	}
	if it.Path == "" || path.IsAbs(it.Path) || hasDotDot(it.Path) {
		c.errf(o, p.Child("path"), "%q must be a relative path without ..", it.Path)
	}
	c.checkMode(o, p.Child("mode"), it.Mode)
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func (c *checker) checkMounts(o *Object, cp *field.Path, ct *corev1.Container, vols map[string]*corev1.Volume, claims map[string]bool) {
	paths := map[string]bool{}
	for i, m := range ct.VolumeMounts {
		mp := cp.Child("volumeMounts").Index(i)
		if vols[m.Name] == nil && !claims[m.Name] {
			what := "no volume of the pod"
			if claims != nil {
				what += " and no volumeClaimTemplate"
			}
			c.errf(o, mp.Child("name"), "%q names %s", m.Name, what)
		}
		if !path.IsAbs(m.MountPath) {
			c.errf(o, mp.Child("mountPath"), "%q is not absolute", m.MountPath)
		} else if paths[path.Clean(m.MountPath)] {
			c.errf(o, mp.Child("mountPath"), "%q is mounted twice", m.MountPath)
		}
		paths[path.Clean(m.MountPath)] = true
		if m.SubPath != "" && (path.IsAbs(m.SubPath) || hasDotDot(m.SubPath)) {
			c.errf(o, mp.Child("subPath"), "%q must be a relative path without ..", m.SubPath)
		}
	}
	for i, d := range ct.VolumeDevices {
		if vols[d.Name] == nil && !claims[d.Name] {
			c.errf(o, cp.Child("volumeDevices").Index(i).Child("name"), "%q names no volume or claim", d.Name)
		}
	}
}

// checkPort checks a probe's or hook's port against the container's ports.
func (c *checker) checkPort(o *Object, p *field.Path, ct *corev1.Container, port intstr.IntOrString) {
	if port.Type == intstr.String {
		for _, m := range validation.IsValidPortName(port.StrVal) {
			c.errf(o, p, "%q: %s", port.StrVal, m)
		}
	} else {
		for _, m := range validation.IsValidPortNum(int(port.IntVal)) {
			c.errf(o, p, "%d: %s", port.IntVal, m)
		}
	}
	if !containerHasPort(ct, port) {
		have := make([]string, 0, len(ct.Ports))
		for _, cp := range ct.Ports {
			have = append(have, fmt.Sprintf("%s:%d", cp.Name, cp.ContainerPort))
		}
		c.errf(o, p, "%s is not a port container %q declares (it declares %s)",
			port.String(), ct.Name, strings.Join(have, ", "))
	}
}

func (c *checker) checkProbe(o *Object, p *field.Path, ct *corev1.Container, pr *corev1.Probe, mustSucceedOnce bool) {
	if pr == nil {
		return
	}
	n := 0
	if pr.Exec != nil {
		n++
		if len(pr.Exec.Command) == 0 {
			c.errf(o, p.Child("exec", "command"), "required")
		}
	}
	if pr.HTTPGet != nil {
		n++
		c.checkPort(o, p.Child("httpGet", "port"), ct, pr.HTTPGet.Port)
	}
	if pr.TCPSocket != nil {
		n++
		c.checkPort(o, p.Child("tcpSocket", "port"), ct, pr.TCPSocket.Port)
	}
	if pr.GRPC != nil {
		n++
		c.checkPort(o, p.Child("grpc", "port"), ct, intstr.FromInt32(pr.GRPC.Port))
	}
	if n != 1 {
		c.errf(o, p, "exactly one of exec, httpGet, tcpSocket and grpc is required, not %d", n)
	}
	for _, f := range []struct {
		name string
		v    int32
	}{{"initialDelaySeconds", pr.InitialDelaySeconds}, {"timeoutSeconds", pr.TimeoutSeconds},
		{"periodSeconds", pr.PeriodSeconds}, {"successThreshold", pr.SuccessThreshold},
		{"failureThreshold", pr.FailureThreshold}} {
		if f.v < 0 {
			c.errf(o, p.Child(f.name), "%d is negative", f.v)
		}
	}
	if mustSucceedOnce && pr.SuccessThreshold > 1 {
		c.errf(o, p.Child("successThreshold"), "must be 1 for liveness and startup probes, not %d", pr.SuccessThreshold)
	}
	if pr.PeriodSeconds > 0 && pr.TimeoutSeconds > pr.PeriodSeconds {
		c.note(o, "%s: timeoutSeconds %d is longer than periodSeconds %d", p, pr.TimeoutSeconds, pr.PeriodSeconds)
	}
}

// checkHook checks a lifecycle handler; a hook that sleeps (the sleep
// action, or exec of `sleep N`) must end within the grace period.
func (c *checker) checkHook(o *Object, p *field.Path, ct *corev1.Container, h *corev1.LifecycleHandler, s *corev1.PodSpec) {
	if h == nil {
		return
	}
	n := 0
	sleep := int64(-1)
	if h.Exec != nil {
		n++
		cmd := h.Exec.Command
		if len(cmd) == 0 {
			c.errf(o, p.Child("exec", "command"), "required")
		} else if len(cmd) == 2 && path.Base(cmd[0]) == "sleep" {
			if v, err := strconv.ParseInt(cmd[1], 10, 64); err == nil {
				sleep = v
			}
		}
	}
	if h.HTTPGet != nil {
		n++
		c.checkPort(o, p.Child("httpGet", "port"), ct, h.HTTPGet.Port)
	}
	if h.TCPSocket != nil {
		n++
		c.checkPort(o, p.Child("tcpSocket", "port"), ct, h.TCPSocket.Port)
	}
	if h.Sleep != nil {
		n++
		sleep = h.Sleep.Seconds
		if sleep < 0 {
			c.errf(o, p.Child("sleep", "seconds"), "%d is negative", sleep)
		}
	}
	if n != 1 {
		c.errf(o, p, "exactly one of exec, httpGet, tcpSocket and sleep is required, not %d", n)
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if s.TerminationGracePeriodSeconds != nil {
		grace = *s.TerminationGracePeriodSeconds
	}
	if sleep >= grace {
		c.errf(o, p, "sleeps %d s, not less than terminationGracePeriodSeconds %d: the container is killed before SIGTERM does anything", sleep, grace)
	}
}

func (c *checker) checkSecurity(o *Object, cp *field.Path, ct *corev1.Container, s *corev1.PodSpec) {
	var nonRoot *bool
	var user *int64
	if psc := s.SecurityContext; psc != nil {
		nonRoot, user = psc.RunAsNonRoot, psc.RunAsUser
	}
	if sc := ct.SecurityContext; sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc.Privileged != nil && *sc.Privileged && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			c.errf(o, cp.Child("securityContext"), "privileged and allowPrivilegeEscalation: false contradict")
		}
	}
	if nonRoot != nil && *nonRoot && user != nil && *user == 0 {
		c.errf(o, cp.Child("securityContext"), "runAsNonRoot with runAsUser 0: the kubelet will not start it")
	}
}

func (c *checker) checkServiceAccount(pt *podTemplate) {
	o, name := pt.obj, pt.spec.ServiceAccountName
	if name == "" || name == "default" {
		return
	}
	p := pt.path.Child("serviceAccountName")
	for _, m := range validation.IsDNS1123Subdomain(name) {
		c.errf(o, p, "%q: %s", name, m)
	}
	if c.lookup(o, "ServiceAccount", name) == nil {
		c.note(o, "uses ServiceAccount %q, which the chart does not render: it must exist", name)
	}
}

func (c *checker) checkScheduling(pt *podTemplate) {
	o, s, sp := pt.obj, pt.spec, pt.path
	for i, t := range s.Tolerations {
		p := sp.Child("tolerations").Index(i)
		switch t.Operator {
		case "", corev1.TolerationOpEqual:
		case corev1.TolerationOpExists:
			if t.Value != "" {
				c.errf(o, p.Child("value"), "must be empty with operator Exists")
			}
		default:
			c.errf(o, p.Child("operator"), "%q is not Equal or Exists", t.Operator)
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			c.errf(o, p.Child("effect"), "%q is not a taint effect", t.Effect)
		}
	}
	c.fieldErrs(o, metav1validation.ValidateLabels(s.NodeSelector, sp.Child("nodeSelector")))
	a := s.Affinity
	if a == nil {
		return
	}
	terms := func(p *field.Path, req []corev1.PodAffinityTerm, pref []corev1.WeightedPodAffinityTerm) {
		check := func(tp *field.Path, t *corev1.PodAffinityTerm) {
			if t.TopologyKey == "" {
				c.errf(o, tp.Child("topologyKey"), "required")
			}
			if t.LabelSelector != nil {
				c.checkLabelSelector(o, tp.Child("labelSelector"), t.LabelSelector)
			}
		}
		for i := range req {
			check(p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i), &req[i])
		}
		for i := range pref {
			wp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if pref[i].Weight < 1 || pref[i].Weight > 100 {
				c.errf(o, wp.Child("weight"), "%d is not in 1..100", pref[i].Weight)
			}
			check(wp.Child("podAffinityTerm"), &pref[i].PodAffinityTerm)
		}
	}
	if a.PodAffinity != nil {
		terms(sp.Child("affinity", "podAffinity"), a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if a.PodAntiAffinity != nil {
		terms(sp.Child("affinity", "podAntiAffinity"), a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
}
