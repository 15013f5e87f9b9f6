{{/*
Names, as z2jh's _helpers-names.tpl: fullnameOverride "" gives no prefix, a string gives
"<override>-", null gives "<release>-<chart>-" (just "<release>-" when the release name contains
the chart name).
*/}}
{{- define "nbhub.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "nbhub.prefix" -}}
{{- if kindIs "string" .Values.fullnameOverride -}}
{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}-{{- end -}}
{{- else -}}
{{- $name := include "nbhub.name" . -}}
{{- if contains $name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}-
{{- else -}}{{ printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}-{{- end -}}
{{- end -}}
{{- end -}}

{{- define "nbhub.hub.fullname" -}}{{ include "nbhub.prefix" . }}hub{{- end -}}
{{- define "nbhub.hub-db.fullname" -}}{{ include "nbhub.prefix" . }}hub-db-dir{{- end -}}
{{- define "nbhub.proxy-public.fullname" -}}{{ include "nbhub.prefix" . }}proxy-public{{- end -}}
{{- define "nbhub.singleuser.fullname" -}}{{ include "nbhub.prefix" . }}singleuser{{- end -}}
{{- define "nbhub.ingress.fullname" -}}{{ include "nbhub.prefix" . }}nbhub{{- end -}}
{{- define "nbhub.hub-serviceaccount.fullname" -}}
{{- .Values.hub.serviceAccount.name | default (include "nbhub.hub.fullname" .) -}}
{{- end -}}

{{/* Labels: z2jh's legacy `component/app/release` (its NetworkPolicies select on them) plus the
recommended app.kubernetes.io ones. Call with (dict "root" $ "component" "hub"). */}}
{{- define "nbhub.selectorLabels" -}}
component: {{ .component }}
app: {{ include "nbhub.name" .root }}
release: {{ .root.Release.Name }}
{{- end -}}

{{- define "nbhub.labels" -}}
{{ include "nbhub.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/name: {{ include "nbhub.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The hub's paths inside the container. */}}
{{- define "nbhub.configDir" -}}/usr/local/etc/nbhub{{- end -}}
{{- define "nbhub.secretsDir" -}}/usr/local/etc/nbhub/secrets{{- end -}}
{{- define "nbhub.dataDir" -}}/srv/nbhub{{- end -}}

{{/* base_url with exactly one leading and one trailing slash. */}}
{{- define "nbhub.baseUrl" -}}
{{- $b := .Values.hub.baseUrl | default "/" | trimAll "/" -}}
{{- if $b -}}/{{ $b }}/{{- else -}}/{{- end -}}
{{- end -}}

{{/* The environment-variable form of a provider name, as nbhub derives it: upper case, anything
but letters and digits becomes "_". */}}
{{- define "nbhub.providerEnv" -}}
{{- regexReplaceAll "[^A-Z0-9]" (upper .) "_" -}}
{{- end -}}

{{/* A value as TOML: strings and lists of strings as JSON (valid TOML basic strings and
arrays); whole numbers without a decimal point (YAML numbers reach templates as float64);
booleans as true/false. */}}
{{- define "nbhub.tomlValue" -}}
{{- $v := . -}}
{{- if kindIs "float64" $v -}}
{{- if eq $v (floor $v) -}}{{ int64 $v }}{{- else -}}{{ $v }}{{- end -}}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "bool" $v) -}}{{ $v }}
{{- else if kindIs "map" $v -}}
{ {{- $first := true -}}{{- range $k, $x := $v -}}{{- if not $first -}}, {{ end -}}{{- $first = false -}}{{ $k | toJson }} = {{ include "nbhub.tomlValue" $x }}{{- end -}} }
{{- else if kindIs "slice" $v -}}
[{{- range $i, $x := $v -}}{{- if $i -}}, {{ end -}}{{ include "nbhub.tomlValue" $x }}{{- end -}}]
{{- else -}}{{ toString $v | toJson }}
{{- end -}}
{{- end -}}

{{/* Secret values: given, else the value already in the cluster (helm lookup, so upgrades keep
it), else random. Call with (dict "root" $ "key" "cookie-secret" "value" "..."). */}}
{{- define "nbhub.secretValue" -}}
{{- if .value -}}{{ .value }}
{{- else -}}
{{- $old := lookup "v1" "Secret" .root.Release.Namespace (include "nbhub.hub.fullname" .root) -}}
{{- if and $old $old.data (hasKey $old.data .key) -}}{{ index $old.data .key | b64dec }}
{{- else -}}{{ printf "%x" (randBytes 32 | b64dec) }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
proxy.https (z2jh's values): how the hub pod serves https. "" (off), "offload" (TLS ends at the load
balancer; nbhub speaks plain http), "files" (manual or secret: ssl_cert/ssl_key from a mounted
Secret), "acme" (letsencrypt: [tls.acme]). Stops rendering, naming the value, on a combination
that cannot work.
*/}}
{{- define "nbhub.httpsMode" -}}
{{- $h := .Values.proxy.https -}}
{{- if $h.enabled -}}
{{- if eq $h.type "offload" -}}
offload
{{- else -}}
{{- if .Values.ingress.enabled -}}
{{- fail (printf "proxy.https.type %s with ingress.enabled: the ingress would speak plain http to nbhub's https port; use proxy.https.type offload with TLS on the ingress (ingress.tls), or turn the ingress off" $h.type) -}}
{{- end -}}
{{- if eq $h.type "letsencrypt" -}}
{{- if not $h.hosts -}}
{{- fail "proxy.https.hosts: proxy.https.type letsencrypt needs the host names to get a certificate for" -}}
{{- end -}}
acme
{{- else if eq $h.type "manual" -}}
{{- if not (and $h.manual.cert $h.manual.key) -}}
{{- fail "proxy.https.manual.cert and proxy.https.manual.key: both are required with proxy.https.type manual (PEM text)" -}}
{{- end -}}
files
{{- else if eq $h.type "secret" -}}
{{- if not $h.secret.name -}}
{{- fail "proxy.https.secret.name: required with proxy.https.type secret (an existing kubernetes.io/tls Secret)" -}}
{{- end -}}
files
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- define "nbhub.tlsDir" -}}/usr/local/etc/nbhub/tls{{- end -}}
{{- /* The plain-http container port with TLS in nbhub: redirects to https, answers HTTP-01. */ -}}
{{- define "nbhub.redirectPort" -}}8080{{- end -}}
{{- define "nbhub.manualTls.fullname" -}}{{ include "nbhub.prefix" . }}hub-manual-tls{{- end -}}
