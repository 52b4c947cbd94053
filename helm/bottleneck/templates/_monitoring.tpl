{{/* The Prometheus alert rules of the pipeline's run metrics (bottleneck.metrics, job "bottleneck"):
the PrometheusRule's spec, and the rules the README gives for a plain Prometheus. */}}
{{- define "bottleneck.alertRules" -}}
{{- $rule := .Values.monitoring.prometheusRule -}}
{{- $noSuccessHours := add (mul 31 24) $rule.graceHours -}}
groups:
  - name: bottleneck
    rules:
      - alert: BottleneckNoMonthSucceeded
        expr: time() - max(bottleneck_last_success_timestamp_seconds{job="bottleneck"}) > {{ $noSuccessHours }} * 3600
        labels:
          severity: {{ $rule.severity }}
        annotations:
          summary: 'No month of the BottleNeck report has succeeded for {{ $noSuccessHours }} hours'
          description: '{{`The last month delivered succeeded {{ $value | humanizeDuration }} ago: the CronJob did not run (suspended, cluster down, image not pulled) or every run failed. bottleneck-admin status names the months missing.`}}'
      - alert: BottleneckNoMetrics
        expr: absent(bottleneck_last_success_timestamp_seconds{job="bottleneck"})
        for: {{ $noSuccessHours }}h
        labels:
          severity: {{ $rule.severity }}
        annotations:
          summary: 'No BottleNeck run has pushed a success for {{ $noSuccessHours }} hours'
          description: 'No run metrics at all: check [bottleneck] pushgateway (monitoring.pushgateway), and that the Pushgateway keeps its metrics across restarts.'
      - alert: BottleneckRunFailed
        expr: bottleneck_run_success{job="bottleneck"} == 0
        for: {{ $rule.failedFor }}
        labels:
          severity: {{ $rule.severity }}
        annotations:
          summary: '{{`The BottleNeck run of {{ $labels.month }} failed`}}'
          description: '{{`The last run of {{ $labels.month }} failed (its exit code is bottleneck_run_exit_code); the operators got an alert email naming the cause, and bottleneck-admin status shows it.`}}'
      - alert: BottleneckNearMemoryLimit
        expr: bottleneck_run_peak_rss_bytes{job="bottleneck"} / bottleneck_memory_limit_bytes{job="bottleneck"} > 0.8
        labels:
          severity: {{ $rule.severity }}
        annotations:
          summary: '{{`The BottleNeck run of {{ $labels.month }} came near its memory limit`}}'
          description: '{{`The run of {{ $labels.month }} peaked at {{ $value | humanizePercentage }} of its memory limit: the next, larger month may be killed (OOMKilled, exit 137) before it reports. Raise resources.limits.memory for the merchant size in docs/deployment.md, Sizing.`}}'
{{- end }}
