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
