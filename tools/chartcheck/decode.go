// SPDX-License-Identifier: MIT

// Splitting a rendered manifest stream into documents and decoding each one
// strictly into the typed object of its apiVersion and kind: an unknown or
// misspelled field, a duplicate key or a value of the wrong type is an
// error, as it is for the API server with strict field validation.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded document of the stream.
type Object struct {
	Doc    int    // 1-based position in the stream
	Source string // the template it came from ("# Source:" line), if any
	Kind   string
	Name   string
	Obj    any           // *appsv1.Deployment, *corev1.Service, ...
	Meta   metav1.Object // Obj's metadata
}

// Ref names the object in messages: "Kind/name".
func (o *Object) Ref() string {
	return o.Kind + "/" + o.Name
}

// kinds maps "apiVersion kind" to a constructor of its typed object. A
// document of any other kind is an error: nothing checks it.
var kinds = map[string]func() any{
	"v1 ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1 PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"v1 Pod":                                   func() any { return &corev1.Pod{} },
	"v1 Secret":                                func() any { return &corev1.Secret{} },
	"v1 Service":                               func() any { return &corev1.Service{} },
	"v1 ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"apps/v1 DaemonSet":                        func() any { return &appsv1.DaemonSet{} },
	"apps/v1 Deployment":                       func() any { return &appsv1.Deployment{} },
	"apps/v1 StatefulSet":                      func() any { return &appsv1.StatefulSet{} },
	"batch/v1 CronJob":                         func() any { return &batchv1.CronJob{} },
	"batch/v1 Job":                             func() any { return &batchv1.Job{} },
	"networking.k8s.io/v1 Ingress":             func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1 NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"policy/v1 PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1 ClusterRole": func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1 ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
	"rbac.authorization.k8s.io/v1 Role":               func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1 RoleBinding":        func() any { return &rbacv1.RoleBinding{} },
}

// KnownKinds lists what the checker decodes, for -help.
func KnownKinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	sourceLine = regexp.MustCompile(`(?m)^# Source: (.+)$`)
	kindLine   = regexp.MustCompile(`(?m)^kind:[ \t]*["']?([A-Za-z0-9]+)`)
	nameLine   = regexp.MustCompile(`(?m)^metadata:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]{2}name:[ \t]*["']?([-a-zA-Z0-9_.]+)`)
)

// onlyComments reports whether doc holds nothing but blank lines and
// comments (helm leaves such documents for templates that render empty).
func onlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			return false
		}
	}
	return true
}

// Decode reads every document of r. It returns the objects it decoded and
// one finding per document it could not decode; an error only when the
// stream itself cannot be read or split.
func Decode(r io.Reader) ([]*Object, []Finding, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []*Object
	var bad []Finding
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if onlyComments(raw) {
			doc--
			continue
		}
		o, f := decodeOne(doc, raw)
		if f != nil {
			bad = append(bad, *f)
			continue
		}
		objs = append(objs, o)
	}
	return objs, bad, nil
}

// decodeOne decodes one document, or says why it cannot.
func decodeOne(doc int, raw []byte) (*Object, *Finding) {
	o := &Object{Doc: doc, Kind: "?", Name: "?"}
	if m := sourceLine.FindSubmatch(raw); m != nil {
		o.Source = string(bytes.TrimSpace(m[1]))
	}
	// A first guess at kind and name from the text, for the messages about
	// a document that is not even valid YAML.
	if m := kindLine.FindSubmatch(raw); m != nil {
		o.Kind = string(m[1])
	}
	if m := nameLine.FindSubmatch(raw); m != nil {
		o.Name = string(m[1])
	}
	fail := func(field, format string, args ...any) (*Object, *Finding) {
		return nil, &Finding{Obj: o, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	// Duplicate keys are refused here; YAML types map to JSON ones
	// (so `replicas: "3"` stays a string and fails below).
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return fail("", "not valid YAML: %v", err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return fail("", "not an object with apiVersion, kind and metadata: %v", err)
	}
	if head.Kind != "" {
		o.Kind = head.Kind
	}
	if head.Metadata.Name != "" {
		o.Name = head.Metadata.Name
	}
	if head.APIVersion == "" || head.Kind == "" {
		return fail("", "apiVersion and kind are required")
	}
	mk, ok := kinds[head.APIVersion+" "+head.Kind]
	if !ok {
		return fail("kind", "unknown kind %q in apiVersion %q (known: %s)",
			head.Kind, head.APIVersion, strings.Join(KnownKinds(), ", "))
	}
	obj := mk()
	strict, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return fail("", "does not decode as %s %s: %v", head.APIVersion, head.Kind, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return fail("", "strict decoding failed: %s", strings.Join(msgs, "; "))
	}
	o.Obj = obj
	o.Meta = obj.(metav1.Object)
	return o, nil
}
