{{- define "rollback-guard.fullname" -}}
{{ .Release.Name }}-rollback-guard
{{- end }}

{{- define "rollback-guard.selectorLabels" -}}
app.kubernetes.io/name: rollback-guard
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rollback-guard.labels" -}}
{{ include "rollback-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
