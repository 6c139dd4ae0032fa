// SPDX-License-Identifier: MIT

// Command chartcheck checks the manifests a Helm chart renders, with no
// cluster. It reads the multi-document YAML of `helm template` on standard
// input, decodes each document strictly into the typed k8s.io/api object of
// its apiVersion and kind (an unknown kind, an unknown or misspelled field,
// a duplicate key or a wrong type is an error), then checks what the API
// server would refuse or what would break the release: names, required
// fields, selectors against pod labels, a StatefulSet's headless Service,
// volume mounts, probe and Service target ports, Secret and ConfigMap
// references, $(VAR) references, resources. See README.md.
//
//	helm template REL deploy/helm/chord | go run ./tools/chartcheck
//	chartcheck [-q] [FILE]   (FILE instead of standard input)
//
// One line per object ("ok" or "FAIL", the object, its template and a
// summary), each problem on its own line under it, then a total. Exit 0
// when everything passed, 1 when anything failed, 2 on a usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chartcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print only problems and the total")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: helm template ... | chartcheck [-q] [FILE]\n\n"+
			"Checks rendered Kubernetes manifests strictly, without a cluster.\n"+
			"Kinds it knows: %s\n\n", strings.Join(KnownKinds(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := stdin
	switch fs.NArg() {
	case 0:
	case 1:
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "chartcheck: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	default:
		fs.Usage()
		return 2
	}
	res, err := Check(in)
	if err != nil {
		fmt.Fprintf(stderr, "chartcheck: cannot read the manifests: %v\n", err)
		return 1
	}
	report(stdout, res, *quiet)
	if len(res.Objects) == 0 && len(res.Findings) == 0 {
		fmt.Fprintln(stderr, "chartcheck: no objects in the input")
		return 1
	}
	if len(res.Findings) > 0 {
		return 1
	}
	return 0
}

// report prints one line per object, its problems and notes under it,
// then the total.
func report(w io.Writer, res *Result, quiet bool) {
	printed := map[*Object]bool{}
	failed := 0
	line := func(o *Object) {
		status := "ok  "
		if res.Failed(o) {
			status = "FAIL"
			failed++
		}
		if quiet && status == "ok  " {
			return
		}
		src := ""
		if o.Source != "" {
			src = "  [" + o.Source + "]"
		}
		fmt.Fprintf(w, "%s %s%s", status, o.Ref(), src)
		if fact := res.Facts[o]; fact != "" {
			fmt.Fprintf(w, "  %s", fact)
		}
		fmt.Fprintln(w)
		for _, f := range res.Findings {
			if f.Obj == o {
				field := f.Field
				if field != "" {
					field += ": "
				}
				fmt.Fprintf(w, "     error: %s%s\n", field, f.Msg)
			}
		}
		if !quiet {
			for _, n := range res.Notes[o] {
				fmt.Fprintf(w, "     note: %s\n", n)
			}
		}
	}
	for _, o := range res.Objects {
		printed[o] = true
		line(o)
	}
	// Documents that did not decode have objects of their own.
	for _, f := range res.Findings {
		if !printed[f.Obj] {
			printed[f.Obj] = true
			line(f.Obj)
		}
	}
	total := len(printed)
	fmt.Fprintf(w, "chartcheck: %d objects, %d ok, %d failed, %d problems\n",
		total, total-failed, failed, len(res.Findings))
}
