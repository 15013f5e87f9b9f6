{{/*
nbhub.toml, rendered from the values (every key is an option of docs/config.md). No secret ever
appears here: the cookie secret and auth_state keys reach the hub as environment variables from
Secret `hub` (or hub.existingSecret), client secrets as files named by client_secret_file.
*/}}
{{- define "nbhub.toml" -}}
{{- $v := .Values -}}
# nbhub.toml rendered by the nbhub Helm chart {{ .Chart.Version }} (release {{ .Release.Name }}).
# Options: docs/config.md. Secrets are not in this file.
ip = ""
port = {{ $v.hub.port | int }}
base_url = {{ include "nbhub.baseUrl" . | toJson }}
{{- with $v.hub.publicUrl }}
public_url = {{ . | toJson }}
{{- end }}
hub_bind_url = {{ printf "http://0.0.0.0:%d" ($v.hub.apiPort | int) | toJson }}
# User pods reach the hub API through the `hub` Service.
hub_connect_url = {{ printf "http://%s:%d" (include "nbhub.hub.fullname" .) ($v.hub.apiPort | int) | toJson }}
{{- if eq $v.hub.db.type "sqlite-pvc" }}
db_url = {{ printf "sqlite:///%s/nbhub.sqlite" (include "nbhub.dataDir" .) | toJson }}
{{- else if eq $v.hub.db.type "sqlite-memory" }}
db_url = "sqlite://"
{{- else }}
db_url = {{ required "hub.db.url is required when hub.db.type is postgres" $v.hub.db.url | toJson }}
{{- end }}
data_dir = {{ include "nbhub.dataDir" . | toJson }}
{{- with $v.hub.trustedProxies }}
trusted_proxies = {{ include "nbhub.tomlValue" . }}
{{- end }}
log_level = {{ ternary "debug" "info" $v.debug.enabled | toJson }}
admin_access = {{ $v.hub.adminAccess }}
shutdown_on_logout = {{ $v.hub.shutdownOnLogout }}
{{- $https := include "nbhub.httpsMode" . }}
{{- $h := $v.proxy.https }}
{{- if eq $https "offload" }}
# proxy.https.type offload: TLS ends at the load balancer; its port 443 forwards to this port.
{{- if and (not $v.hub.publicUrl) $h.hosts }}
public_url = {{ printf "https://%s" (first $h.hosts) | toJson }}
{{- end }}
{{- else if $https }}
# proxy.https ({{ $h.type }}): nbhub serves https on `port`; `redirect_port` redirects to it.
redirect_port = {{ include "nbhub.redirectPort" . }}
{{- if eq $https "files" }}
{{- $crt := ternary "tls.crt" $h.secret.crt (eq $h.type "manual") }}
{{- $key := ternary "tls.key" $h.secret.key (eq $h.type "manual") }}
ssl_cert = {{ printf "%s/%s" (include "nbhub.tlsDir" .) $crt | toJson }}
ssl_key = {{ printf "%s/%s" (include "nbhub.tlsDir" .) $key | toJson }}
{{- else }}

[tls.acme]
domains = {{ include "nbhub.tomlValue" $h.hosts }}
directory_url = {{ $h.letsencrypt.acmeServer | toJson }}
{{- with $h.letsencrypt.contactEmail }}
contact_email = {{ . | toJson }}
{{- end }}
# As z2jh's autohttps pod: enabling letsencrypt accepts the CA's terms of service.
accept_terms = true
challenge = "http-01"
http_port = {{ include "nbhub.redirectPort" . }}
{{- end }}
{{- end }}

[spawner]
kind = "kubernetes"
{{- with $v.singleuser.cmd }}
cmd = {{ include "nbhub.tomlValue" (kindIs "string" . | ternary (list .) .) }}
{{- end }}
{{- with $v.singleuser.defaultUrl }}
default_url = {{ . | toJson }}
{{- end }}
start_timeout_seconds = {{ $v.singleuser.startTimeout | int }}
{{- if not (kindIs "invalid" $v.hub.concurrentSpawnLimit) }}
concurrent_spawn_limit = {{ $v.hub.concurrentSpawnLimit | int }}
{{- end }}
{{- if not (kindIs "invalid" $v.hub.activeServerLimit) }}
active_server_limit = {{ $v.hub.activeServerLimit | int }}
{{- end }}
allow_named_servers = {{ $v.hub.allowNamedServers }}
{{- with $v.singleuser.extraEnv }}

[spawner.environment]
{{- range $k, $x := . }}
{{ $k | toJson }} = {{ toString $x | toJson }}
{{- end }}
{{- end }}

# KubeSpawner traits for the Kubernetes spawner (values singleuser.*): text, JSON for the rest.
[spawner.options]
"KubeSpawner.namespace" = {{ .Release.Namespace | toJson }}
"KubeSpawner.image" = {{ printf "%s:%s" $v.singleuser.image.name (toString $v.singleuser.image.tag) | toJson }}
{{- with $v.singleuser.image.pullPolicy }}
"KubeSpawner.image_pull_policy" = {{ . | toJson }}
{{- end }}
{{- with $v.singleuser.image.pullSecrets }}
"KubeSpawner.image_pull_secrets" = {{ toJson . | toJson }}
{{- end }}
"KubeSpawner.common_labels" = {{ dict "app" (include "nbhub.name" .) "release" .Release.Name "app.kubernetes.io/name" (include "nbhub.name" .) "app.kubernetes.io/instance" .Release.Name | toJson | toJson }}
{{- with $v.singleuser.extraLabels }}
"KubeSpawner.extra_labels" = {{ toJson . | toJson }}
{{- end }}
{{- with $v.singleuser.extraAnnotations }}
"KubeSpawner.extra_annotations" = {{ toJson . | toJson }}
{{- end }}
{{- if not (kindIs "invalid" $v.singleuser.uid) }}
"KubeSpawner.uid" = {{ $v.singleuser.uid | int | toString | toJson }}
{{- end }}
{{- if not (kindIs "invalid" $v.singleuser.fsGid) }}
"KubeSpawner.fs_gid" = {{ $v.singleuser.fsGid | int | toString | toJson }}
{{- end }}
{{- with $v.singleuser.serviceAccountName }}
"KubeSpawner.service_account" = {{ . | toJson }}
{{- end }}
{{- with $v.singleuser.nodeSelector }}
"KubeSpawner.node_selector" = {{ toJson . | toJson }}
{{- end }}
{{- with $v.singleuser.memory.limit }}
"KubeSpawner.mem_limit" = {{ toString . | toJson }}
{{- end }}
{{- with $v.singleuser.memory.guarantee }}
"KubeSpawner.mem_guarantee" = {{ toString . | toJson }}
{{- end }}
{{- with $v.singleuser.cpu.limit }}
"KubeSpawner.cpu_limit" = {{ toString . | toJson }}
{{- end }}
{{- with $v.singleuser.cpu.guarantee }}
"KubeSpawner.cpu_guarantee" = {{ toString . | toJson }}
{{- end }}
{{- if eq $v.singleuser.storage.type "dynamic" }}
"KubeSpawner.storage_pvc_ensure" = "true"
"KubeSpawner.storage_capacity" = {{ toString $v.singleuser.storage.capacity | toJson }}
"KubeSpawner.storage_access_modes" = {{ toJson $v.singleuser.storage.dynamic.storageAccessModes | toJson }}
{{- with $v.singleuser.storage.dynamic.storageClass }}
"KubeSpawner.storage_class" = {{ . | toJson }}
{{- end }}
"KubeSpawner.volumes" = {{ list (dict "name" "volume-{user_server}" "persistentVolumeClaim" (dict "claimName" "{pvc_name}")) | toJson | toJson }}
"KubeSpawner.volume_mounts" = {{ list (dict "name" "volume-{user_server}" "mountPath" $v.singleuser.storage.homeMountPath) | toJson | toJson }}
{{- end }}

[cull]
enabled = {{ $v.cull.enabled }}
timeout_seconds = {{ $v.cull.timeout | int }}
every_seconds = {{ $v.cull.every | int }}
max_age_seconds = {{ $v.cull.maxAge | int }}
users = {{ $v.cull.users }}

[auth]
allowed_users = {{ include "nbhub.tomlValue" $v.auth.allowedUsers }}
admin_users = {{ include "nbhub.tomlValue" $v.auth.adminUsers }}
blocked_users = {{ include "nbhub.tomlValue" $v.auth.blockedUsers }}
allowed_groups = {{ include "nbhub.tomlValue" $v.auth.allowedGroups }}
admin_groups = {{ include "nbhub.tomlValue" $v.auth.adminGroups }}
allow_all = {{ $v.auth.allowAll }}
manage_groups = {{ $v.auth.manageGroups }}
auto_login = {{ $v.auth.autoLogin }}
enable_auth_state = {{ $v.auth.enableAuthState }}
{{- range $p := $v.auth.providers }}

[[auth.providers]]
name = {{ $p.name | toJson }}
kind = {{ $p.kind | toJson }}
{{- range $k, $x := ($p.settings | default dict) }}
{{- if or (eq $k "client_secret") (eq $k "client_secret_file") (eq $k "name") (eq $k "kind") }}
{{- fail (printf "auth.providers[%s].settings.%s: not allowed here; use clientSecret or existingSecret (secrets never go into the ConfigMap), and name/kind beside settings" $p.name $k) }}
{{- end }}
{{ $k }} = {{ include "nbhub.tomlValue" $x }}
{{- end }}
{{- if or $p.clientSecret $p.existingSecret }}
client_secret_file = {{ printf "%s/%s/client-secret" (include "nbhub.secretsDir" $) $p.name | toJson }}
{{- end }}
{{- end }}
{{- with $v.hub.extraNbhubToml }}

# hub.extraNbhubToml
{{ . }}
{{- end }}
{{- end -}}
