// SPDX-License-Identifier: MIT

// The checks: metadata of every object, each kind's own rules, and the
// references between objects (selectors, Services and their pods,
// StatefulSets and their headless Service, Secrets and ConfigMaps that
// pods mount). Pod templates are checked in podspec.go.

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Finding is one problem: the object, the field and what is wrong.
type Finding struct {
	Obj   *Object
	Field string
	Msg   string
}

func (f Finding) String() string {
	where := fmt.Sprintf("document %d", f.Obj.Doc)
	if f.Obj.Source != "" {
		where = f.Obj.Source + ", " + where
	}
	if f.Field == "" {
		return fmt.Sprintf("%s (%s): %s", f.Obj.Ref(), where, f.Msg)
	}
	return fmt.Sprintf("%s (%s): %s: %s", f.Obj.Ref(), where, f.Field, f.Msg)
}

// Result is what Check found.
type Result struct {
	Objects  []*Object            // decoded, in stream order
	Findings []Finding            // problems; none means the stream passed
	Notes    map[*Object][]string // things to know that are not errors
	Facts    map[*Object]string   // a short summary of each object
}

// Failed reports whether obj has a finding.
func (r *Result) Failed(obj *Object) bool {
	for _, f := range r.Findings {
		if f.Obj == obj {
			return true
		}
	}
	return false
}

// podTemplate is a pod spec some object renders, with its labels.
type podTemplate struct {
	obj    *Object
	path   *field.Path // to the PodSpec
	labels map[string]string
	spec   *corev1.PodSpec
	claims map[string]bool // StatefulSet volumeClaimTemplates
}

type checker struct {
	res   *Result
	pods  []*podTemplate
	index map[string]*Object // "Kind/namespace/name"
}

func (c *checker) errf(o *Object, p *field.Path, format string, args ...any) {
	fs := ""
	if p != nil {
		fs = p.String()
	}
	c.res.Findings = append(c.res.Findings,
		Finding{Obj: o, Field: fs, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) fieldErrs(o *Object, errs field.ErrorList) {
	for _, e := range errs {
		c.res.Findings = append(c.res.Findings,
			Finding{Obj: o, Field: e.Field, Msg: e.ErrorBody()})
	}
}

func (c *checker) note(o *Object, format string, args ...any) {
	c.res.Notes[o] = append(c.res.Notes[o], fmt.Sprintf(format, args...))
}

func (c *checker) fact(o *Object, format string, args ...any) {
	c.res.Facts[o] = fmt.Sprintf(format, args...)
}

func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// lookup finds a rendered object of kind named name in o's namespace.
func (c *checker) lookup(o *Object, kind, name string) *Object {
	return c.index[key(kind, o.Meta.GetNamespace(), name)]
}

// Check decodes the stream r and checks every object and reference.
func Check(r io.Reader) (*Result, error) {
	objs, bad, err := Decode(r)
	if err != nil {
		return nil, err
	}
	c := &checker{
		res: &Result{Objects: objs, Findings: bad,
			Notes: map[*Object][]string{}, Facts: map[*Object]string{}},
		index: map[string]*Object{},
	}
	for _, o := range objs {
		k := key(o.Kind, o.Meta.GetNamespace(), o.Name)
		if prev, dup := c.index[k]; dup {
			c.errf(o, field.NewPath("metadata", "name"),
				"%s is rendered twice (documents %d and %d)", o.Ref(), prev.Doc, o.Doc)
			continue
		}
		c.index[k] = o
	}
	for _, o := range objs {
		c.collectPods(o)
	}
	for _, o := range objs {
		c.checkMeta(o)
		c.checkKind(o)
	}
	for _, p := range c.pods {
		c.checkPodSpec(p)
	}
	sort.SliceStable(c.res.Findings, func(i, j int) bool {
		return c.res.Findings[i].Obj.Doc < c.res.Findings[j].Obj.Doc
	})
	return c.res, nil
}

// collectPods records the pod template of a workload.
func (c *checker) collectPods(o *Object) {
	tmpl := field.NewPath("spec", "template")
	add := func(path *field.Path, t *corev1.PodTemplateSpec, claims map[string]bool) {
		c.pods = append(c.pods, &podTemplate{obj: o, path: path.Child("spec"),
			labels: t.Labels, spec: &t.Spec, claims: claims})
	}
	switch v := o.Obj.(type) {
	case *appsv1.Deployment:
		add(tmpl, &v.Spec.Template, nil)
	case *appsv1.DaemonSet:
		add(tmpl, &v.Spec.Template, nil)
	case *appsv1.StatefulSet:
		claims := map[string]bool{}
		for _, t := range v.Spec.VolumeClaimTemplates {
			claims[t.Name] = true
		}
		add(tmpl, &v.Spec.Template, claims)
	case *batchv1.Job:
		add(tmpl, &v.Spec.Template, nil)
	case *batchv1.CronJob:
		add(field.NewPath("spec", "jobTemplate", "spec", "template"),
			&v.Spec.JobTemplate.Spec.Template, nil)
	case *corev1.Pod:
		c.pods = append(c.pods, &podTemplate{obj: o, path: field.NewPath("spec"),
			labels: v.Labels, spec: &v.Spec})
	}
}

// checkMeta checks the name, namespace, labels and annotations.
func (c *checker) checkMeta(o *Object) {
	md := field.NewPath("metadata")
	name := o.Meta.GetName()
	if name == "" {
		c.errf(o, md.Child("name"), "required")
	} else {
		var msgs []string
		switch o.Kind {
		case "Service":
			msgs = validation.IsDNS1035Label(name)
		case "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			if strings.ContainsAny(name, "/%") || name == "." || name == ".." {
				msgs = []string{`may not be "." or ".." or contain "/" or "%"`}
			}
		default:
			msgs = validation.IsDNS1123Subdomain(name)
		}
		for _, m := range msgs {
			c.errf(o, md.Child("name"), "%q is not a valid name: %s", name, m)
		}
	}
	if ns := o.Meta.GetNamespace(); ns != "" {
		for _, m := range validation.IsDNS1123Label(ns) {
			c.errf(o, md.Child("namespace"), "%q: %s", ns, m)
		}
	}
	c.fieldErrs(o, metav1validation.ValidateLabels(o.Meta.GetLabels(), md.Child("labels")))
	c.fieldErrs(o, apivalidation.ValidateAnnotations(o.Meta.GetAnnotations(), md.Child("annotations")))
}

// checkKind runs the rules of o's kind.
func (c *checker) checkKind(o *Object) {
	spec := field.NewPath("spec")
	switch v := o.Obj.(type) {
	case *appsv1.Deployment:
		c.checkReplicas(o, v.Spec.Replicas)
		c.checkWorkloadSelector(o, v.Spec.Selector, v.Spec.Template.Labels, true)
		c.checkAlwaysRestart(o, v.Spec.Template.Spec.RestartPolicy)
		st := v.Spec.Strategy
		switch st.Type {
		case "", appsv1.RollingUpdateDeploymentStrategyType:
		case appsv1.RecreateDeploymentStrategyType:
			if st.RollingUpdate != nil {
				c.errf(o, spec.Child("strategy", "rollingUpdate"), "may not be set when type is Recreate")
			}
		default:
			c.errf(o, spec.Child("strategy", "type"), "%q is not Recreate or RollingUpdate", st.Type)
		}
		c.fact(o, "%d replica(s), containers %s", replicas(v.Spec.Replicas),
			containerNames(&v.Spec.Template.Spec))
	case *appsv1.StatefulSet:
		c.checkStatefulSet(o, v)
	case *appsv1.DaemonSet:
		c.checkWorkloadSelector(o, v.Spec.Selector, v.Spec.Template.Labels, true)
		c.checkAlwaysRestart(o, v.Spec.Template.Spec.RestartPolicy)
		c.fact(o, "containers %s", containerNames(&v.Spec.Template.Spec))
	case *batchv1.Job:
		c.checkJobTemplate(o, spec.Child("template"), &v.Spec.Template)
		if v.Spec.Selector != nil {
			c.checkWorkloadSelector(o, v.Spec.Selector, v.Spec.Template.Labels, false)
		}
		c.fact(o, "containers %s", containerNames(&v.Spec.Template.Spec))
	case *batchv1.CronJob:
		if strings.TrimSpace(v.Spec.Schedule) == "" {
			c.errf(o, spec.Child("schedule"), "required")
		}
		c.checkJobTemplate(o, spec.Child("jobTemplate", "spec", "template"), &v.Spec.JobTemplate.Spec.Template)
		c.fact(o, "schedule %q", v.Spec.Schedule)
	case *corev1.Pod:
		c.fact(o, "containers %s", containerNames(&v.Spec))
	case *corev1.Service:
		c.checkService(o, v)
	case *policyv1.PodDisruptionBudget:
		c.checkPDB(o, v)
	case *corev1.ConfigMap:
		for k := range v.Data {
			c.checkDataKey(o, field.NewPath("data").Key(k), k)
			if _, both := v.BinaryData[k]; both {
				c.errf(o, field.NewPath("binaryData").Key(k), "also in data")
			}
		}
		for k := range v.BinaryData {
			c.checkDataKey(o, field.NewPath("binaryData").Key(k), k)
		}
		c.fact(o, "keys %s", joinKeys(v.Data, v.BinaryData))
	case *corev1.Secret:
		for k := range v.Data {
			c.checkDataKey(o, field.NewPath("data").Key(k), k)
		}
		for k := range v.StringData {
			c.checkDataKey(o, field.NewPath("stringData").Key(k), k)
		}
		c.fact(o, "keys %s", joinKeys(v.Data, v.StringData))
	case *corev1.ServiceAccount:
		c.fact(o, "service account")
	case *corev1.PersistentVolumeClaim:
		c.checkClaimSpec(o, spec, &v.Spec)
		c.fact(o, "claim")
	case *networkingv1.Ingress:
		c.checkIngress(o, v)
	case *networkingv1.NetworkPolicy:
		c.checkLabelSelector(o, spec.Child("podSelector"), &v.Spec.PodSelector)
		c.fact(o, "network policy")
	case *rbacv1.RoleBinding:
		if v.RoleRef.Name == "" {
			c.errf(o, field.NewPath("roleRef", "name"), "required")
		}
		c.fact(o, "binds %s %s", v.RoleRef.Kind, v.RoleRef.Name)
	case *rbacv1.ClusterRoleBinding:
		if v.RoleRef.Name == "" {
			c.errf(o, field.NewPath("roleRef", "name"), "required")
		}
		c.fact(o, "binds %s %s", v.RoleRef.Kind, v.RoleRef.Name)
	case *rbacv1.Role, *rbacv1.ClusterRole:
		c.fact(o, "rules")
	}
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1 // the API server's default
	}
	return *p
}

func containerNames(s *corev1.PodSpec) string {
	names := make([]string, 0, len(s.Containers))
	for _, ct := range s.Containers {
		names = append(names, ct.Name)
	}
	return strings.Join(names, ",")
}

func joinKeys[A, B any](a map[string]A, b map[string]B) string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "(none)"
	}
	return strings.Join(ks, ",")
}

func (c *checker) checkDataKey(o *Object, p *field.Path, k string) {
	for _, m := range validation.IsConfigMapKey(k) {
		c.errf(o, p, "%s", m)
	}
}

func (c *checker) checkReplicas(o *Object, r *int32) {
	if r != nil && *r < 0 {
		c.errf(o, field.NewPath("spec", "replicas"), "%d is negative", *r)
	}
}

func (c *checker) checkAlwaysRestart(o *Object, rp corev1.RestartPolicy) {
	if rp != "" && rp != corev1.RestartPolicyAlways {
		c.errf(o, field.NewPath("spec", "template", "spec", "restartPolicy"),
			"%q: only Always is allowed for a %s", rp, o.Kind)
	}
}

func (c *checker) checkJobTemplate(o *Object, p *field.Path, t *corev1.PodTemplateSpec) {
	switch t.Spec.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	default:
		c.errf(o, p.Child("spec", "restartPolicy"), "%q: a Job's pods need Never or OnFailure", t.Spec.RestartPolicy)
	}
}

// checkLabelSelector validates a selector; returns it as a
// labels.Selector, or nil when it is invalid.
func (c *checker) checkLabelSelector(o *Object, p *field.Path, s *metav1.LabelSelector) labels.Selector {
	errs := metav1validation.ValidateLabelSelector(s, metav1validation.LabelSelectorValidationOptions{}, p)
	if len(errs) > 0 {
		c.fieldErrs(o, errs)
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		c.errf(o, p, "%v", err)
		return nil
	}
	return sel
}

// checkWorkloadSelector: the selector is required (when required), not
// empty, and matches the pod template's labels, as the API server
// demands (`selector` does not match template `labels`).
func (c *checker) checkWorkloadSelector(o *Object, s *metav1.LabelSelector, tmplLabels map[string]string, required bool) {
	p := field.NewPath("spec", "selector")
	if s == nil {
		if required {
			c.errf(o, p, "required")
		}
		return
	}
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		c.errf(o, p, "empty: it would select every pod in the namespace")
		return
	}
	sel := c.checkLabelSelector(o, p, s)
	if sel != nil && !sel.Matches(labels.Set(tmplLabels)) {
		c.errf(o, field.NewPath("spec", "template", "metadata", "labels"),
			"do not match spec.selector %s (template labels: %s)", sel, labels.Set(tmplLabels))
	}
}

// selectedPods lists the rendered pod templates in o's namespace that sel
// selects.
func (c *checker) selectedPods(o *Object, sel labels.Selector) []*podTemplate {
	var out []*podTemplate
	for _, p := range c.pods {
		if p.obj.Meta.GetNamespace() == o.Meta.GetNamespace() && sel.Matches(labels.Set(p.labels)) {
			out = append(out, p)
		}
	}
	return out
}

func (c *checker) checkStatefulSet(o *Object, v *appsv1.StatefulSet) {
	spec := field.NewPath("spec")
	c.checkReplicas(o, v.Spec.Replicas)
	c.checkWorkloadSelector(o, v.Spec.Selector, v.Spec.Template.Labels, true)
	c.checkAlwaysRestart(o, v.Spec.Template.Spec.RestartPolicy)
	switch v.Spec.PodManagementPolicy {
	case "", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		c.errf(o, spec.Child("podManagementPolicy"), "%q is not OrderedReady or Parallel", v.Spec.PodManagementPolicy)
	}
	switch v.Spec.UpdateStrategy.Type {
	case "", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType:
	default:
		c.errf(o, spec.Child("updateStrategy", "type"), "%q is not RollingUpdate or OnDelete", v.Spec.UpdateStrategy.Type)
	}
	// Pods are NAME-0 .. NAME-(n-1), and their host names must be DNS
	// labels; the controller-revision-hash label is NAME-<10 chars>.
	n := replicas(v.Spec.Replicas)
	if n > 0 {
		pod := fmt.Sprintf("%s-%d", o.Name, n-1)
		for _, m := range validation.IsDNS1123Label(pod) {
			c.errf(o, field.NewPath("metadata", "name"), "pod name %q is not a valid host name: %s", pod, m)
		}
	}
	if len(o.Name) > 52 {
		c.errf(o, field.NewPath("metadata", "name"),
			"%d characters: over 52, the controller-revision-hash label of its pods exceeds 63", len(o.Name))
	}
	// serviceName gives pods their DNS names: a headless Service that
	// selects them.
	sp := spec.Child("serviceName")
	if v.Spec.ServiceName == "" {
		c.note(o, "no serviceName: its pods get no stable DNS names")
	} else if svcObj := c.lookup(o, "Service", v.Spec.ServiceName); svcObj == nil {
		c.errf(o, sp, "%q names no Service the chart renders", v.Spec.ServiceName)
	} else {
		svc := svcObj.Obj.(*corev1.Service)
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			c.errf(o, sp, "Service %q is not headless (clusterIP: None): pods get no DNS names", svc.Name)
		}
		if len(svc.Spec.Selector) == 0 ||
			!labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(v.Spec.Template.Labels)) {
			c.errf(o, sp, "Service %q does not select this StatefulSet's pods", svc.Name)
		}
	}
	seen := map[string]bool{}
	for i, t := range v.Spec.VolumeClaimTemplates {
		p := spec.Child("volumeClaimTemplates").Index(i)
		if t.Name == "" {
			c.errf(o, p.Child("metadata", "name"), "required")
		} else {
			for _, m := range validation.IsDNS1123Label(t.Name) {
				c.errf(o, p.Child("metadata", "name"), "%q: %s", t.Name, m)
			}
			if seen[t.Name] {
				c.errf(o, p.Child("metadata", "name"), "%q is used twice", t.Name)
			}
			seen[t.Name] = true
			for _, vol := range v.Spec.Template.Spec.Volumes {
				if vol.Name == t.Name {
					c.errf(o, p.Child("metadata", "name"), "%q is also a pod volume: the claim would shadow it", t.Name)
				}
			}
		}
		c.checkClaimSpec(o, p.Child("spec"), &t.Spec)
	}
	claims := make([]string, 0, len(v.Spec.VolumeClaimTemplates))
	for _, t := range v.Spec.VolumeClaimTemplates {
		claims = append(claims, t.Name)
	}
	cl := "none"
	if len(claims) > 0 {
		cl = strings.Join(claims, ",")
	}
	c.fact(o, "%d replica(s), serviceName %s, claim templates %s, containers %s",
		n, v.Spec.ServiceName, cl, containerNames(&v.Spec.Template.Spec))
}

func (c *checker) checkClaimSpec(o *Object, p *field.Path, s *corev1.PersistentVolumeClaimSpec) {
	if len(s.AccessModes) == 0 {
		c.errf(o, p.Child("accessModes"), "at least one is required")
	}
	for i, m := range s.AccessModes {
		switch m {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
		default:
			c.errf(o, p.Child("accessModes").Index(i), "%q is not an access mode", m)
		}
	}
	q, ok := s.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		c.errf(o, p.Child("resources", "requests", "storage"), "required")
	} else if q.Sign() <= 0 {
		c.errf(o, p.Child("resources", "requests", "storage"), "%s is not positive", q.String())
	}
	if s.StorageClassName != nil && *s.StorageClassName != "" {
		for _, m := range validation.IsDNS1123Subdomain(*s.StorageClassName) {
			c.errf(o, p.Child("storageClassName"), "%q: %s", *s.StorageClassName, m)
		}
	}
}

func (c *checker) checkService(o *Object, v *corev1.Service) {
	spec := field.NewPath("spec")
	headless := v.Spec.ClusterIP == corev1.ClusterIPNone
	switch v.Spec.Type {
	case "", corev1.ServiceTypeClusterIP:
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		if headless {
			c.errf(o, spec.Child("clusterIP"), "None (headless) needs type ClusterIP, not %s", v.Spec.Type)
		}
	case corev1.ServiceTypeExternalName:
		if v.Spec.ExternalName == "" {
			c.errf(o, spec.Child("externalName"), "required for type ExternalName")
		}
		c.fact(o, "ExternalName %s", v.Spec.ExternalName)
		return
	default:
		c.errf(o, spec.Child("type"), "%q is not ClusterIP, NodePort, LoadBalancer or ExternalName", v.Spec.Type)
	}
	if len(v.Spec.Ports) == 0 && !headless {
		c.errf(o, spec.Child("ports"), "at least one port is required")
	}
	names := map[string]bool{}
	for i, sp := range v.Spec.Ports {
		p := spec.Child("ports").Index(i)
		if len(v.Spec.Ports) > 1 && sp.Name == "" {
			c.errf(o, p.Child("name"), "required when there are several ports")
		}
		if sp.Name != "" {
			for _, m := range validation.IsDNS1123Label(sp.Name) {
				c.errf(o, p.Child("name"), "%q: %s", sp.Name, m)
			}
			if names[sp.Name] {
				c.errf(o, p.Child("name"), "%q is used twice", sp.Name)
			}
			names[sp.Name] = true
		}
		for _, m := range validation.IsValidPortNum(int(sp.Port)) {
			c.errf(o, p.Child("port"), "%d: %s", sp.Port, m)
		}
		c.checkProtocol(o, p.Child("protocol"), sp.Protocol)
		if sp.NodePort != 0 && v.Spec.Type != corev1.ServiceTypeNodePort && v.Spec.Type != corev1.ServiceTypeLoadBalancer {
			c.errf(o, p.Child("nodePort"), "only for type NodePort or LoadBalancer")
		}
		if sp.TargetPort.Type == intstr.String {
			for _, m := range validation.IsValidPortName(sp.TargetPort.StrVal) {
				c.errf(o, p.Child("targetPort"), "%q: %s", sp.TargetPort.StrVal, m)
			}
		} else if sp.TargetPort.IntVal != 0 {
			for _, m := range validation.IsValidPortNum(int(sp.TargetPort.IntVal)) {
				c.errf(o, p.Child("targetPort"), "%d: %s", sp.TargetPort.IntVal, m)
			}
		}
	}
	kind := "ClusterIP"
	if headless {
		kind = "headless"
	} else if v.Spec.Type != "" {
		kind = string(v.Spec.Type)
	}
	ports := make([]string, 0, len(v.Spec.Ports))
	for _, sp := range v.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d", sp.Name, sp.Port))
	}
	c.fact(o, "%s, ports %s", kind, strings.Join(ports, ","))

	if len(v.Spec.Selector) == 0 {
		c.note(o, "no selector: its endpoints must be managed by hand")
		return
	}
	c.fieldErrs(o, metav1validation.ValidateLabels(v.Spec.Selector, spec.Child("selector")))
	pods := c.selectedPods(o, labels.SelectorFromSet(v.Spec.Selector))
	if len(pods) == 0 {
		c.errf(o, spec.Child("selector"), "%s selects no pod the chart renders",
			labels.SelectorFromSet(v.Spec.Selector))
		return
	}
	// Every target port must be served by every selected pod.
	for i, sp := range v.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port) // the default
		}
		for _, pt := range pods {
			if !podHasPort(pt.spec, target) {
				c.errf(o, spec.Child("ports").Index(i).Child("targetPort"),
					"%s is not a container port of the pods of %s", target.String(), pt.obj.Ref())
			}
		}
	}
}

// podHasPort reports whether a container of s declares port (a name or a
// number).
func podHasPort(s *corev1.PodSpec, port intstr.IntOrString) bool {
	for _, ct := range s.Containers {
		if containerHasPort(&ct, port) {
			return true
		}
	}
	return false
}

func containerHasPort(ct *corev1.Container, port intstr.IntOrString) bool {
	for _, cp := range ct.Ports {
		if port.Type == intstr.String && cp.Name == port.StrVal {
			return true
		}
		if port.Type == intstr.Int && cp.ContainerPort == port.IntVal {
			return true
		}
	}
	return false
}

func (c *checker) checkProtocol(o *Object, p *field.Path, proto corev1.Protocol) {
	switch proto {
	case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		c.errf(o, p, "%q is not TCP, UDP or SCTP", proto)
	}
}

func (c *checker) checkPDB(o *Object, v *policyv1.PodDisruptionBudget) {
	spec := field.NewPath("spec")
	if v.Spec.MinAvailable != nil && v.Spec.MaxUnavailable != nil {
		c.errf(o, spec, "minAvailable and maxUnavailable may not both be set")
	}
	if v.Spec.MinAvailable == nil && v.Spec.MaxUnavailable == nil {
		c.errf(o, spec, "one of minAvailable and maxUnavailable is needed")
	}
	if v.Spec.Selector == nil {
		c.errf(o, spec.Child("selector"), "required")
		return
	}
	sel := c.checkLabelSelector(o, spec.Child("selector"), v.Spec.Selector)
	if sel == nil {
		return
	}
	pods := c.selectedPods(o, sel)
	if len(pods) == 0 {
		c.errf(o, spec.Child("selector"), "%s selects no pod the chart renders", sel)
		return
	}
	refs := make([]string, 0, len(pods))
	for _, p := range pods {
		refs = append(refs, p.obj.Ref())
	}
	budget := "maxUnavailable " + intOrStr(v.Spec.MaxUnavailable)
	if v.Spec.MinAvailable != nil {
		budget = "minAvailable " + intOrStr(v.Spec.MinAvailable)
	}
	c.fact(o, "%s of %s", budget, strings.Join(refs, ","))
}

func intOrStr(v *intstr.IntOrString) string {
	if v == nil {
		return "-"
	}
	return v.String()
}

func (c *checker) checkIngress(o *Object, v *networkingv1.Ingress) {
	check := func(p *field.Path, b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil {
			return
		}
		svcObj := c.lookup(o, "Service", b.Service.Name)
		if svcObj == nil {
			c.errf(o, p.Child("service", "name"), "%q names no Service the chart renders", b.Service.Name)
			return
		}
		svc := svcObj.Obj.(*corev1.Service)
		for _, sp := range svc.Spec.Ports {
			if (b.Service.Port.Name != "" && sp.Name == b.Service.Port.Name) ||
				(b.Service.Port.Number != 0 && sp.Port == b.Service.Port.Number) {
				return
			}
		}
		c.errf(o, p.Child("service", "port"), "Service %q has no such port", b.Service.Name)
	}
	spec := field.NewPath("spec")
	check(spec.Child("defaultBackend"), v.Spec.DefaultBackend)
	for i, r := range v.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for j := range r.HTTP.Paths {
			check(spec.Child("rules").Index(i).Child("http", "paths").Index(j).Child("backend"),
				&r.HTTP.Paths[j].Backend)
		}
	}
	c.fact(o, "%d rule(s)", len(v.Spec.Rules))
}
