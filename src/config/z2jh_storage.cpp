// singleuser.storage.* and singleuser.extraFiles as z2jh's jupyterhub_config.py turns them into
// KubeSpawner traits (spec/kubernetes.md §1.11). The chart builds volumes and mounts as dicts
// keyed by name, which KubeSpawner renders sorted by key; nbhub's spawner takes lists, so they
// are written as lists in that order.
#include <algorithm>

#include <fmt/format.h>

#include "config/z2jh_mapping.hpp"

namespace nbhub::config::z2jh {

namespace {

using Kind = Value::Kind;
using Keyed = std::vector<std::pair<std::string, Value>>;


void put(Keyed& into, std::string key, Value v) {
  auto it = std::find_if(into.begin(), into.end(), [&](auto const& e) { return e.first == key; });
  if (it != into.end())
    it->second = std::move(v);
  else
    into.emplace_back(std::move(key), std::move(v));
}

Value dict_without_nulls(std::initializer_list<std::pair<char const*, Value>> kv) {
  Value v = Value::dict();
  for (auto const& [k, x] : kv)
    if (x.kind != Kind::none) v.entries.emplace_back(Value::of(k), x);
  return v;
}

Value get(Context const& ctx, std::string_view key) {
  auto const* v = ctx.values.find(key);
  return v ? *v : Value::none();
}

void kube(Context& ctx, std::string_view trait, Value v, std::string_view key) {
  assign(ctx, "KubeSpawner." + std::string(trait), std::move(v), key);
}

Value sorted_list(Keyed k) {
  std::sort(k.begin(), k.end(), [](auto const& a, auto const& b) { return a.first < b.first; });
  Value out = Value::list();
  for (auto& [_, v] : k) out.items.push_back(std::move(v));
  return out;
}

// extraVolumes / extraVolumeMounts: a dict merged by key, or a list keyed by name (volumes) or
// by "<index>-<name>" (mounts, whose names need not be unique).
void merge_extra(Context& ctx, Keyed& into, std::string_view key, bool mounts) {
  auto const* v = ctx.values.find(key);
  if (!present(v)) return;
  if (v->kind == Kind::dict) {
    for (auto const& [k, x] : v->entries) put(into, k.string, x);
  } else if (v->kind == Kind::list) {
    for (std::size_t i = 0; i < v->items.size(); ++i) {
      auto const* name = member(v->items[i], "name");
      if (!name || name->kind != Kind::string) {
        ctx.b.error(Origin{ctx.values.place(key).file, ctx.values.place(key).line,
                           fmt::format("{}[{}]", key, i), Layer::file},
                    "every entry needs a name");
        continue;
      }
      put(into, mounts ? fmt::format("{}-{}", i, name->string) : name->string, v->items[i]);
    }
  } else {
    auto p = ctx.values.place(key);
    ctx.b.error(Origin{p.file, p.line, std::string(key), Layer::file}, "expected a dict or a list");
  }
}

}  // namespace

void apply_storage(Context& ctx) {
  Keyed volumes, mounts;
  auto home = get(ctx, "singleuser.storage.homeMountPath");
  auto type = text_of(get(ctx, "singleuser.storage.type"));
  if (type == "dynamic") {
    auto pvc = get(ctx, "singleuser.storage.dynamic.pvcNameTemplate");
    if (present(&pvc) && !text_of(pvc).empty())
      kube(ctx, "pvc_name_template", pvc, "singleuser.storage.dynamic.pvcNameTemplate");
    auto vol = text_of(get(ctx, "singleuser.storage.dynamic.volumeNameTemplate"));
    if (vol.empty()) vol = "volume-{user_server}";
    kube(ctx, "storage_pvc_ensure", Value::of(true), "singleuser.storage.type");
    for (auto [trait, key] : {std::pair{"storage_class", "singleuser.storage.dynamic.storageClass"},
                              std::pair{"storage_access_modes",
                                        "singleuser.storage.dynamic.storageAccessModes"},
                              std::pair{"storage_capacity", "singleuser.storage.capacity"}})
      if (auto v = get(ctx, key); present(&v)) kube(ctx, trait, v, key);
    // Chart 1.x mounts the claim by its template; 2+ by KubeSpawner's resolved {pvc_name}.
    auto claim = ctx.chart_major < 2 && present(&pvc) ? text_of(pvc) : std::string("{pvc_name}");
    put(volumes, vol,
        dict_without_nulls({{"name", Value::of(vol)},
                            {"persistentVolumeClaim", dict_without_nulls({{"claimName", Value::of(claim)}})}}));
    put(mounts, vol,
        dict_without_nulls({{"mountPath", home},
                            {"name", Value::of(vol)},
                            {"subPath", ctx.chart_major < 2 ? Value::none()
                                                            : get(ctx, "singleuser.storage.dynamic.subPath")}}));
  } else if (type == "static") {
    auto claim = get(ctx, "singleuser.storage.static.pvcName");
    if (!present(&claim)) {
      auto p = ctx.values.place("singleuser.storage.static.pvcName");
      ctx.b.error(Origin{p.file, p.line, "singleuser.storage.static.pvcName", Layer::file},
                  "required when singleuser.storage.type is static");
    }
    put(volumes, "home",
        dict_without_nulls({{"name", Value::of("home")},
                            {"persistentVolumeClaim", dict_without_nulls({{"claimName", claim}})}}));
    put(mounts, "home",
        dict_without_nulls({{"mountPath", home},
                            {"name", Value::of("home")},
                            {"subPath", get(ctx, "singleuser.storage.static.subPath")}}));
  } else if (type != "none" && !type.empty()) {
    auto p = ctx.values.place("singleuser.storage.type");
    ctx.b.error(Origin{p.file, p.line, "singleuser.storage.type", Layer::file},
                fmt::format("expected dynamic, static or none, got \"{}\"", type));
  }

  // singleuser.extraFiles: Secret `singleuser`, one subPath mount per key.
  if (auto files = get(ctx, "singleuser.extraFiles"); files.kind == Kind::dict && !files.entries.empty()) {
    Value items = Value::list();
    std::size_t idx = 0;
    for (auto const& [k, d] : files.entries) {
      Value item = dict_without_nulls({{"key", Value::of(k.string)}, {"path", Value::of(k.string)}});
      if (auto const* mode = member(d, "mode")) item.entries.emplace_back(Value::of("mode"), *mode);
      items.items.push_back(std::move(item));
      auto const* path = member(d, "mountPath");
      put(mounts, fmt::format("{}-files", idx++),
          dict_without_nulls({{"mountPath", path ? *path : Value::none()},
                              {"subPath", Value::of(k.string)},
                              {"name", Value::of("files")}}));
    }
    auto secret = Value::dict();
    secret.entries.emplace_back(Value::of("secretName"), Value::of(chart_name(ctx, "singleuser")));
    secret.entries.emplace_back(Value::of("items"), std::move(items));
    put(volumes, "files", dict_without_nulls({{"name", Value::of("files")}, {"secret", secret}}));
  }

  merge_extra(ctx, volumes, "singleuser.storage.extraVolumes", false);
  merge_extra(ctx, mounts, "singleuser.storage.extraVolumeMounts", true);
  kube(ctx, "volumes", sorted_list(std::move(volumes)), "singleuser.storage");
  kube(ctx, "volume_mounts", sorted_list(std::move(mounts)), "singleuser.storage");
}

}  // namespace nbhub::config::z2jh
