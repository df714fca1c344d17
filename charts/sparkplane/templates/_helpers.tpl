{{/* Names and labels shared by every template. */}}

{{- define "sparkplane.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sparkplane.labels" -}}
app.kubernetes.io/name: sparkplane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sparkplane
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "operator"). */}}
{{- define "sparkplane.selector" -}}
app.kubernetes.io/name: sparkplane
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sparkplane.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Pod Security "restricted": the pod's part. */}}
{{- define "sparkplane.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod Security "restricted": each container's part. */}}
{{- define "sparkplane.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end -}}

{{/* Whether prometheus-operator's kinds are installed. */}}
{{- define "sparkplane.prometheusOperator" -}}
{{- $mode := .Values.monitoring.prometheusOperator -}}
{{- if or (eq $mode "true") (and (eq $mode "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
true
{{- end -}}
{{- end -}}

{{- define "sparkplane.monitoringLabels" -}}
{{- if .Values.monitoring.release }}
release: {{ .Values.monitoring.release | quote }}
{{- end }}
{{- end -}}

{{/* Whether the operator reads a platform directory. */}}
{{- define "sparkplane.hasPlatform" -}}
{{- if or .Values.platform.presets .Values.platform.environments .Values.platform.tenants -}}
true
{{- end -}}
{{- end -}}

{{/* history.spark.properties as " -Dkey=value" flags, sorted by key. */}}
{{- define "sparkplane.historyProperties" -}}
{{- range $key := keys .Values.history.spark.properties | sortAlpha -}}
{{- printf " -D%s=%s" $key (get $.Values.history.spark.properties $key) -}}
{{- end -}}
{{- end -}}

{{/* Fails the render when the History Server's sign-in cannot work as set (ADR 0092): sign-in is on by default,
     and the way out (history.signIn.mode=none) is named with what it means. */}}
{{- define "sparkplane.historySignInCheck" -}}
{{- $signIn := .Values.history.signIn -}}
{{- $none := "history.signIn.mode=none, which serves every team's applications to everyone who reaches the History Server" -}}
{{- if eq .Values.history.implementation "spark" -}}
{{- if ne $signIn.mode "none" -}}
{{- fail (printf "history.implementation=spark runs Spark's own History Server, which the chart cannot put behind a sign-in (history.signIn.mode is %s): use history.implementation=sparkplane, or set %s" $signIn.mode $none) -}}
{{- end -}}
{{- else if eq $signIn.mode "oidc" -}}
{{- $missing := list -}}
{{- if not $signIn.oidc.issuer -}}{{- $missing = append $missing "history.signIn.oidc.issuer" -}}{{- end -}}
{{- if not $signIn.oidc.clientId -}}{{- $missing = append $missing "history.signIn.oidc.clientId" -}}{{- end -}}
{{- if not $signIn.oidc.clientSecret.existingSecret -}}{{- $missing = append $missing "history.signIn.oidc.clientSecret.existingSecret" -}}{{- end -}}
{{- if not $signIn.oidc.publicUrl -}}{{- $missing = append $missing "history.signIn.oidc.publicUrl" -}}{{- end -}}
{{- if $missing -}}
{{- fail (printf `history.signIn.mode is oidc (the default): set %s (docs/signin.md, "In the cluster"); or history.signIn.mode=proxy behind an authenticating proxy; or %s` (join ", " $missing) $none) -}}
{{- end -}}
{{- else if eq $signIn.mode "proxy" -}}
{{- if not $signIn.proxy.trustedProxies -}}
{{- fail "history.signIn.mode=proxy needs history.signIn.proxy.trustedProxies: the proxy's addresses or networks (e.g. 10.0.0.0/24), the only ones whose headers are believed" -}}
{{- end -}}
{{- end -}}
{{- with .Values.history.access.sparkAcls -}}
{{- if and (not .enabled) (or .adminUsers .adminGroups) -}}
{{- fail "history.access.sparkAcls.adminUsers and adminGroups are settings of history.access.sparkAcls.enabled, which is false: set it to true, or leave them out" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The projected volume's sources for the History Server's sign-in secrets (files under /etc/sparkplane/signin). */}}
{{- define "sparkplane.historySecretSources" -}}
{{- if eq .Values.history.implementation "sparkplane" -}}
{{- $signIn := .Values.history.signIn -}}
{{- $files := list -}}
{{- if eq $signIn.mode "oidc" -}}
{{- $files = append $files (list $signIn.oidc.clientSecret "client-secret") -}}
{{- $files = append $files (list $signIn.oidc.cookieKey "cookie-key") -}}
{{- else if eq $signIn.mode "proxy" -}}
{{- $files = append $files (list $signIn.proxy.secret "proxy-secret") -}}
{{- end -}}
{{- range $files -}}
{{- $ref := index . 0 -}}
{{- if $ref.existingSecret }}
- secret:
    name: {{ $ref.existingSecret }}
    items:
      - key: {{ $ref.key | quote }}
        path: {{ index . 1 }}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
