{{- /*
SPDX-License-Identifier: MIT
Named templates shared by the chart's manifests: names, labels, the image,
addresses, the TLS/token volumes and variables, probes and daemon flags.
*/ -}}

{{/* The chart's name, or nameOverride. */}}
{{- define "chord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object: the release name, plus "-<chart name>" unless
the release name holds it already. At most 40 characters, so that
"<prefix>-node-NN" (a pod's host name) and the headless Service's name
stay DNS labels (63).
*/}}
{{- define "chord.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "chord.supernodeName" -}}
{{ include "chord.fullname" . }}-supernode
{{- end }}

{{- define "chord.nodeName" -}}
{{ include "chord.fullname" . }}-node
{{- end }}

{{/* The headless Service that gives each node pod its DNS name. */}}
{{- define "chord.headlessName" -}}
{{ include "chord.fullname" . }}-ring
{{- end }}

{{/* The supernode as the nodes and chordctl dial it (a full name: no
reliance on the resolver's search list). */}}
{{- define "chord.supernodeAddr" -}}
{{ include "chord.supernodeName" . }}.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:{{ .Values.supernode.port }}
{{- end }}

{{- define "chord.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "chord.labels" -}}
helm.sh/chart: {{ include "chord.chart" . }}
app.kubernetes.io/name: {{ include "chord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component; call with (list $ "node"). */}}
{{- define "chord.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "chord.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "chord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "chord.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "chord.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Pod annotations: the user's plus Prometheus' scrape hints. */}}
{{- define "chord.podAnnotations" -}}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- if .Values.metrics.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* Daemon flags common to both roles: logs and metrics. */}}
{{- define "chord.daemonArgs" -}}
- --log-level
- {{ .Values.log.level | quote }}
- --log-format
- {{ .Values.log.format | quote }}
{{- if .Values.metrics.enabled }}
- --metrics-listen
- {{ printf "0.0.0.0:%v" .Values.metrics.port | quote }}
{{- end }}
{{- end }}

{{/* The metrics container port, when on. */}}
{{- define "chord.metricsPort" -}}
{{- if .Values.metrics.enabled }}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
  protocol: TCP
{{- end }}
{{- end }}

{{/*
Environment for TLS and tokens, as docker-compose.tls.yml sets it; call
with (list $ "node"), "supernode" or "client". The client sends the
client token as its token; the daemons send the cluster token and require
both.
*/}}
{{- define "chord.authEnv" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
{{- if $.Values.tls.enabled }}
- name: CHORD_TLS_CA
  value: /etc/chord/tls/{{ $.Values.tls.keys.ca }}
- name: CHORD_TLS_CERT
  value: /etc/chord/tls/{{ index $.Values.tls.keys (printf "%sCert" $role) }}
- name: CHORD_TLS_KEY
  value: /etc/chord/tls/{{ index $.Values.tls.keys (printf "%sKey" $role) }}
- name: CHORD_TLS_SERVER_NAME
  value: {{ $.Values.tls.serverName | quote }}
{{- end }}
{{- if $.Values.token.enabled }}
{{- if eq $role "client" }}
- name: CHORD_TOKEN_FILE
  value: /etc/chord/token/{{ $.Values.token.clientKey | default $.Values.token.clusterKey }}
{{- else }}
- name: CHORD_TOKEN_FILE
  value: /etc/chord/token/{{ $.Values.token.clusterKey }}
{{- if $.Values.token.clientKey }}
- name: CHORD_CLIENT_TOKEN_FILE
  value: /etc/chord/token/{{ $.Values.token.clientKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Mounts of the TLS and token Secrets (and a scratch /tmp). */}}
{{- define "chord.authMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/chord/tls
  readOnly: true
{{- end }}
{{- if .Values.token.enabled }}
- name: token
  mountPath: /etc/chord/token
  readOnly: true
{{- end }}
{{- end }}

{{/*
Volumes of the TLS and token Secrets: each role gets the CA and its own
certificate and key only, readable by the group (fsGroup).
Call with (list $ "node").
*/}}
{{- define "chord.authVolumes" -}}
{{- $ := index . 0 -}}
{{- $role := index . 1 -}}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- if $.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ required "tls.secretName is required when tls.enabled" $.Values.tls.secretName }}
    defaultMode: 288 # 0440: owner and group (fsGroup) read
    items:
      - key: {{ $.Values.tls.keys.ca }}
        path: {{ $.Values.tls.keys.ca }}
      - key: {{ index $.Values.tls.keys (printf "%sCert" $role) }}
        path: {{ index $.Values.tls.keys (printf "%sCert" $role) }}
      - key: {{ index $.Values.tls.keys (printf "%sKey" $role) }}
        path: {{ index $.Values.tls.keys (printf "%sKey" $role) }}
{{- end }}
{{- if $.Values.token.enabled }}
- name: token
  secret:
    secretName: {{ required "token.secretName is required when token.enabled" $.Values.token.secretName }}
    defaultMode: 288 # 0440: owner and group (fsGroup) read
    items:
      {{- if or (ne $role "client") (not $.Values.token.clientKey) }}
      - key: {{ $.Values.token.clusterKey }}
        path: {{ $.Values.token.clusterKey }}
      {{- end }}
      {{- if $.Values.token.clientKey }}
      - key: {{ $.Values.token.clientKey }}
        path: {{ $.Values.token.clientKey }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
One probe of a daemon; call with (list $ PORT SETTINGS). Without TLS it is
the kubelet's own gRPC probe (grpc.health.v1, service ""). The kubelet's
gRPC probe cannot speak TLS, so with TLS it runs `chordctl health` in the
container, which reads the same CHORD_TLS_* variables (exit 0 only when
SERVING).
*/}}
{{- define "chord.probe" -}}
{{- $ := index . 0 -}}
{{- $port := index . 1 -}}
{{- $p := index . 2 -}}
{{- if $.Values.tls.enabled }}
exec:
  command:
    - chordctl
    - --timeout
    - 3s
    - health
    - {{ printf "127.0.0.1:%v" $port | quote }}
timeoutSeconds: 5
{{- else }}
grpc:
  port: {{ $port }}
timeoutSeconds: 3
{{- end }}
periodSeconds: {{ $p.periodSeconds }}
failureThreshold: {{ $p.failureThreshold }}
{{- end }}
