{{/* Names, labels and the pieces shared by the CronJob, the backfill Job and the test Pod. */}}

{{- define "bottleneck.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bottleneck.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bottleneck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bottleneck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bottleneck.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "bottleneck.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bottleneck
{{- end }}

{{/* repository:tag of an image value and the chart; the tag defaults to the chart's appVersion. */}}
{{- define "bottleneck.imageRef" -}}
{{- $image := index . 0 }}
{{- printf "%s:%s" $image.repository (default (index . 1).Chart.AppVersion $image.tag) }}
{{- end }}

{{/* The pipeline's image (report, backfill, helm test). */}}
{{- define "bottleneck.image" -}}
{{ include "bottleneck.imageRef" (list .Values.image .) }}
{{- end }}

{{- define "bottleneck.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bottleneck.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "bottleneck.schedulerServiceAccountName" -}}
{{- if .Values.scheduler.serviceAccount.create }}
{{- default (include "bottleneck.schedulerService" .) .Values.scheduler.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.scheduler.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "bottleneck.secretName" -}}
{{- default (include "bottleneck.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "bottleneck.schedulerService" -}}
{{- printf "%s-luigid" (include "bottleneck.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The central scheduler the workers use: the chart's luigid, one elsewhere, or none (local). */}}
{{- define "bottleneck.schedulerHost" -}}
{{- if .Values.scheduler.enabled }}
{{- include "bottleneck.schedulerService" . }}
{{- else }}
{{- .Values.scheduler.host }}
{{- end }}
{{- end }}

{{/* luigi.cfg of the workers, as sections of options; extraConfig is merged in last. */}}
{{- define "bottleneck.luigiCfg" -}}
{{- $core := dict }}
{{- $host := include "bottleneck.schedulerHost" . }}
{{- if $host }}
{{- $_ := set $core "scheduler_host" $host }}
{{- $_ := set $core "scheduler_port" (toString .Values.scheduler.port) }}
{{- else }}
{{- $_ := set $core "local_scheduler" "true" }}
{{- end }}
{{- $bottleneck := dict "lake" .Values.lake "timezone" .Values.timeZone "delivery" .Values.delivery "alert_receivers" (join ", " .Values.alertRecipients) }}
{{- with .Values.smtp.caBundle }}
{{- $_ := set $bottleneck "smtp_ca_bundle" . }}
{{- end }}
{{- with .Values.monitoring.pushgateway }}
{{- $_ := set $bottleneck "pushgateway" . }}
{{- end }}
{{- $smtp := dict }}
{{- if .Values.smtp.host }}
{{- $_ := set $smtp "host" .Values.smtp.host }}
{{- $_ := set $smtp "port" (toString .Values.smtp.port) }}
{{- $_ := set $smtp "ssl" (ternary "true" "false" (eq .Values.smtp.tls "ssl")) }}
{{- $_ := set $smtp "no_tls" (ternary "true" "false" (eq .Values.smtp.tls "none")) }}
{{- $_ := set $smtp "timeout" (toString .Values.smtp.timeout) }}
{{- if .Values.smtp.username }}
{{- $_ := set $smtp "username" .Values.smtp.username }}
{{- $_ := set $smtp "password" "${SMTP_PASSWORD}" }}
{{- end }}
{{- end }}
{{- $email := dict "sender" .Values.email.sender "receiver" (join ", " .Values.email.recipients) }}
{{- $cfg := dict "core" $core "bottleneck" $bottleneck "email" $email }}
{{- if $smtp }}
{{- $_ := set $cfg "smtp" $smtp }}
{{- end }}
{{- $cfg = mergeOverwrite $cfg (deepCopy .Values.extraConfig) }}
{{- range $section := keys $cfg | sortAlpha }}
[{{ $section }}]
{{- $options := get $cfg $section }}
{{- range $option := keys $options | sortAlpha }}
{{ $option }} = {{ get $options $option }}
{{- end }}
{{ end }}
{{- end }}

{{/* Environment of every pod that runs the pipeline. */}}
{{- define "bottleneck.env" -}}
- name: LUIGI_CONFIG_PATH
  value: /etc/bottleneck/luigi.cfg
{{- with .Values.aws.region }}
- name: AWS_DEFAULT_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.aws.endpointUrl }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- if and .Values.smtp.host .Values.smtp.username }}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "bottleneck.secretName" . }}
      key: SMTP_PASSWORD
{{- end }}
{{- range $key := list "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "bottleneck.secretName" $ }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod template of a pipeline run; call with (dict "root" $ "component" "report" "command" (list ...)). */}}
{{- define "bottleneck.workerPod" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "bottleneck.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "bottleneck.luigiCfg" $root | sha256sum }}
    {{- with $root.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "bottleneck.serviceAccountName" $root }}
  restartPolicy: Never
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: bottleneck
      image: {{ include "bottleneck.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        {{- toYaml .command | nindent 8 }}
      env:
        {{- include "bottleneck.env" $root | nindent 8 }}
      resources:
        {{- toYaml $root.Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/bottleneck
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- with $root.Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "bottleneck.fullname" $root }}
        items:
          - key: luigi.cfg
            path: luigi.cfg
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    {{- with $root.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
