// SPDX-License-Identifier: MIT

// Tests of chartcheck: testdata/good.yaml passes, and each deliberately
// broken copy of it (one field changed) is rejected with a finding that
// names the object and the problem. Run with `go test ./...`.

package main

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readGood(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGoodManifestPasses(t *testing.T) {
	res, err := Check(strings.NewReader(readGood(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		t.Errorf("unexpected finding: %s", f)
	}
	if got := len(res.Objects); got != 8 {
		t.Errorf("decoded %d objects, want 8", got)
	}
	for o, notes := range res.Notes {
		t.Errorf("unexpected notes on %s: %v", o.Ref(), notes)
	}
}

// Each case changes the one occurrence of old into new and expects a
// finding on ref whose text holds want.
var broken = []struct {
	name, old, new, ref, want string
}{
	{"misspelled field", "imagePullPolicy: IfNotPresent", "imagePullPolcy: IfNotPresent",
		"StatefulSet/demo-member", `unknown field "spec.template.spec.containers[0].imagePullPolcy"`},
	{"wrong type", "  replicas: 3\n", "  replicas: \"3\"\n",
		"StatefulSet/demo-member", "does not decode"},
	{"duplicate key", "  podManagementPolicy: Parallel\n", "  podManagementPolicy: Parallel\n  podManagementPolicy: OrderedReady\n",
		"StatefulSet/demo-member", "podManagementPolicy"},
	{"not YAML", "data:\n  mode: fast", "data:\n  mode: [fast",
		"ConfigMap/demo-config", "not valid YAML"},
	{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett",
		"PodDisruptionBudgett/demo-member", "unknown kind"},
	{"selector mismatch",
		"        app.kubernetes.io/component: member\n    spec:",
		"        app.kubernetes.io/component: members\n    spec:",
		"StatefulSet/demo-member", "do not match spec.selector"},
	{"missing volume", "            - name: data\n", "            - name: dat\n",
		"StatefulSet/demo-member", `"dat" names no volume of the pod and no volumeClaimTemplate`},
	{"bad gRPC probe port", "            grpc:\n              port: 7001", "            grpc:\n              port: 7011",
		"StatefulSet/demo-member", `startupProbe.grpc.port: 7011 is not a port container "member" declares`},
	{"bad named probe port", "port: metrics", "port: metric",
		"StatefulSet/demo-member", `livenessProbe.httpGet.port: metric is not a port container "member" declares`},
	{"serviceName names nothing", "serviceName: demo-ring", "serviceName: demo-rings",
		"StatefulSet/demo-member", `spec.serviceName: "demo-rings" names no Service`},
	{"serviceName not headless", "  clusterIP: None\n", "",
		"StatefulSet/demo-member", "is not headless"},
	{"targetPort name not on pods", "      targetPort: grpc\n", "      targetPort: grpcs\n",
		"Service/demo-ring", "grpcs is not a container port of the pods of StatefulSet/demo-member"},
	{"targetPort number not on pods", "targetPort: 7000", "targetPort: 7070",
		"Service/demo-head", "7070 is not a container port of the pods of Deployment/demo-head"},
	{"Service selects nothing", "    app.kubernetes.io/component: head\n  ports:", "    app.kubernetes.io/component: heads\n  ports:",
		"Service/demo-head", "selects no pod the chart renders"},
	{"invalid DNS name", "  name: demo-head\nspec:\n  replicas: 1", "  name: Demo_Head\nspec:\n  replicas: 1",
		"Deployment/Demo_Head", "is not a valid name"},
	{"undefined variable", `value: "$(POD_NAME).demo-ring.default`, `value: "$(POD_NAM).demo-ring.default`,
		"StatefulSet/demo-member", "$(POD_NAM) refers to no variable defined before ADVERTISE"},
	{"variable defined later", `value: "$(POD_NAME).demo-ring.default`, `value: "$(TOKEN).demo-ring.default`,
		"StatefulSet/demo-member", "$(TOKEN) refers to no variable defined before ADVERTISE"},
	{"undefined variable in args", `"$(POD_NAME).demo-ring:7001"`, `"$(POD_IP).demo-ring:7001"`,
		"StatefulSet/demo-member", "args[1]: $(POD_IP) refers to no variable"},
	{"Secret volume key missing", "              - key: token\n", "              - key: tokens\n",
		"StatefulSet/demo-member", `Secret "demo-auth" has no key "tokens"`},
	{"secretKeyRef key missing", "                  key: token\n", "                  key: tokn\n",
		"StatefulSet/demo-member", `Secret "demo-auth" has no key "tokn"`},
	{"missing image", "          image: \"example/demo:1.0\"\n          imagePullPolicy", "          image: \"\"\n          imagePullPolicy",
		"StatefulSet/demo-member", "containers[0].image: required"},
	{"requests above limits", "              memory: 1Gi\n", "              memory: 64Mi\n",
		"StatefulSet/demo-member", "128Mi is more than the limit 64Mi"},
	{"PDB with both budgets", "  maxUnavailable: 1\n", "  maxUnavailable: 1\n  minAvailable: 1\n",
		"PodDisruptionBudget/demo-member", "may not both be set"},
	{"bad file mode", "defaultMode: 288", "defaultMode: 1000",
		"StatefulSet/demo-member", "1000 is not a file mode"},
	{"preStop outlasts the grace period", `command: ["sleep", "5"]`, `command: ["sleep", "90"]`,
		"StatefulSet/demo-member", "sleeps 90 s"},
	{"claim without storage", "            storage: 1Gi", "            storag: 1Gi",
		"StatefulSet/demo-member", "resources.requests.storage: required"},
	{"port name too long", "- name: metrics\n", "- name: metrics-endpoint\n",
		"StatefulSet/demo-member", "must be no more than 15 characters"},
	{"duplicate object", "# Source: demo/templates/pdb.yaml",
		"# Source: demo/templates/again.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-config\n---\n# Source: demo/templates/pdb.yaml",
		"ConfigMap/demo-config", "rendered twice"},
}

func TestBrokenManifestsFail(t *testing.T) {
	good := readGood(t)
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			if n := strings.Count(good, tc.old); n != 1 {
				t.Fatalf("%q occurs %d times in good.yaml, want once", tc.old, n)
			}
			res, err := Check(strings.NewReader(strings.Replace(good, tc.old, tc.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, f := range res.Findings {
				all = append(all, f.String())
				if f.Obj.Ref() == tc.ref && strings.Contains(f.String(), tc.want) {
					return
				}
			}
			t.Errorf("no finding on %s holding %q; findings:\n  %s", tc.ref, tc.want, strings.Join(all, "\n  "))
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	good := readGood(t)
	var out, errb bytes.Buffer
	if rc := run(nil, strings.NewReader(good), &out, &errb); rc != 0 {
		t.Fatalf("good: exit %d, want 0\n%s%s", rc, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "ok   StatefulSet/demo-member  [demo/templates/members.yaml]  3 replica(s)") {
		t.Errorf("good: no summary line for the StatefulSet:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "chartcheck: 8 objects, 8 ok, 0 failed, 0 problems") {
		t.Errorf("good: wrong total:\n%s", out.String())
	}

	out.Reset()
	bad := strings.Replace(good, "port: metrics", "port: metric", 1)
	if rc := run(nil, strings.NewReader(bad), &out, &errb); rc != 1 {
		t.Fatalf("broken: exit %d, want 1", rc)
	}
	if !strings.Contains(out.String(), "FAIL StatefulSet/demo-member") ||
		!strings.Contains(out.String(), "     error: spec.template.spec.containers[0].livenessProbe.httpGet.port:") {
		t.Errorf("broken: the failure is not reported as expected:\n%s", out.String())
	}

	out.Reset()
	if rc := run(nil, strings.NewReader("# nothing\n---\n"), &out, &errb); rc != 1 {
		t.Errorf("empty input: exit %d, want 1", rc)
	}
	if rc := run([]string{"-nope"}, strings.NewReader(good), &out, &errb); rc != 2 {
		t.Errorf("bad flag: exit %d, want 2", rc)
	}
}

func TestVarRefs(t *testing.T) {
	got := varRefs("$(A).$$(B).$(lower).$(chordctl read x).$(C_1)$(D")
	want := []string{"A", "C_1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("varRefs = %v, want %v", got, want)
	}
}
