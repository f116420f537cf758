// Region configuration loader (TOML via toml++). toml++ throws on syntax errors;
// they are caught here and returned as bad_config, never propagated.
#include "rideshard/engine/region.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace rideshard {
namespace {

// Reads typed keys from one table, remembering which were seen so that unknown
// (misspelt) keys can be reported.
class table_reader {
 public:
  table_reader(const toml::table* t, std::string where) : t_(t), where_(std::move(where)) {}

  template <class T>
  bool get(std::string_view key, T& out) {
    seen_.insert(std::string(key));
    if (!t_) return fail(key, "missing table");
    const toml::node* n = t_->get(key);
    if (!n) return fail(key, "missing key");
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = n->value<std::string>()) {
        out = *v;
        return true;
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      if (auto v = n->value<double>()) {
        out = static_cast<T>(*v);
        return true;
      }
    } else {
      if (auto v = n->as_integer()) {
        out = static_cast<T>(v->get());
        return true;
      }
    }
    return fail(key, "wrong type");
  }

  /// Marks a key as known without reading it.
  void allow(std::string_view key) { seen_.insert(std::string(key)); }

  /// Fails when the table holds keys nobody asked for.
  bool no_unknown_keys() {
    if (!t_) return error_.empty();
    for (const auto& [k, v] : *t_) {
      (void)v;
      if (!seen_.count(std::string(k.str()))) return fail(k.str(), "unknown key");
    }
    return error_.empty();
  }

  bool fail(std::string_view key, std::string_view why) {
    if (error_.empty()) error_ = where_ + "." + std::string(key) + ": " + std::string(why);
    return false;
  }
  const std::string& error_text() const { return error_; }

 private:
  const toml::table* t_;
  std::string where_;
  std::set<std::string> seen_;
  std::string error_;
};

error bad(std::string_view source, const std::string& what) {
  return {errc::bad_config, std::string(source) + ": " + what};
}

bool read_hotspots_and_demand(const toml::table& doc, region& r, std::string& err) {
  if (const toml::array* hs = doc["hotspots"].as_array()) {
    for (std::size_t i = 0; i < hs->size(); ++i) {
      table_reader h((*hs)[i].as_table(), "hotspots[" + std::to_string(i) + "]");
      hotspot spot;
      h.get("name", spot.name) && h.get("lat", spot.center.lat) && h.get("lng", spot.center.lng) &&
          h.get("sigma_m", spot.sigma_m) && h.get("weight", spot.weight);
      if (!h.no_unknown_keys()) return err = h.error_text(), false;
      r.hotspots.push_back(std::move(spot));
    }
  }
  const toml::array* hourly = doc["demand"]["hourly"].as_array();
  if (!hourly || hourly->size() != 24) return err = "demand.hourly must hold 24 numbers", false;
  for (std::size_t i = 0; i < 24; ++i) {
    auto v = (*hourly)[i].value<double>();
    if (!v) return err = "demand.hourly must hold 24 numbers", false;
    r.hourly_demand[i] = *v;
  }
  return true;
}

result<void> check_ranges(const region& r, std::string_view src) {
  if (r.name.empty()) return bad(src, "name must not be empty");
  if (!validate(r.bounds.south_west) || !validate(r.bounds.north_east) ||
      r.bounds.south_west.lat >= r.bounds.north_east.lat ||
      r.bounds.south_west.lng >= r.bounds.north_east.lng)
    return bad(src, "bounds must be valid coordinates with south < north and west < east");
  if (r.shard_level < 0 || r.shard_level > max_cell_level)
    return bad(src, "shard_level must be in [0, 28]");
  if (r.batch_window_ms <= 0) return bad(src, "matching.batch_window_ms must be > 0");
  if (r.trip.max_pin_attempts < 1 || r.trip.max_pin_attempts > 10)
    return bad(src, "trip.max_pin_attempts must be in [1, 10]");
  double weights = 0;
  for (const auto& h : r.hotspots) {
    if (!r.bounds.contains(h.center)) return bad(src, "hotspot " + h.name + " is outside bounds");
    if (!(h.sigma_m > 0) || !(h.weight >= 0) || !std::isfinite(h.sigma_m))
      return bad(src, "hotspot " + h.name + " needs sigma_m > 0 and weight >= 0");
    weights += h.weight;
  }
  if (weights > 1.0 + 1e-9) return bad(src, "hotspot weights sum to more than 1");
  for (double w : r.hourly_demand)
    if (!(w >= 0) || !std::isfinite(w)) return bad(src, "demand.hourly values must be >= 0");
  auto sub = [&](const result<void>& ok, const char* what) -> result<void> {
    if (ok) return {};
    return bad(src, std::string(what) + ": " + ok.err().message);
  };
  if (auto ok = sub(validate(r.eta), "eta"); !ok) return ok;
  if (auto ok = sub(validate(r.fare), "fare"); !ok) return ok;
  if (auto ok = sub(validate(r.surge), "surge"); !ok) return ok;
  if (auto ok = sub(validate(r.sequential), "matching"); !ok) return ok;
  if (auto ok = sub(validate(r.batch), "matching"); !ok) return ok;
  return {};
}

// Reads every section of a parsed region document into r.
bool read_region(const toml::table& doc, region& r, std::string& err) {
  table_reader top(&doc, "region");
  top.get("name", r.name) && top.get("currency", r.fare.currency) &&
      top.get("shard_level", r.shard_level);
  for (auto key : {"bounds", "eta", "fare", "surge", "matching", "trip", "hotspots", "demand"})
    top.allow(key);  // sections are read by their own readers below
  table_reader b(doc["bounds"].as_table(), "bounds");
  b.get("south", r.bounds.south_west.lat) && b.get("west", r.bounds.south_west.lng) &&
      b.get("north", r.bounds.north_east.lat) && b.get("east", r.bounds.north_east.lng);
  table_reader e(doc["eta"].as_table(), "eta");
  e.get("detour_factor", r.eta.detour_factor) && e.get("speed_mps", r.eta.speed_mps);
  table_reader f(doc["fare"].as_table(), "fare");
  f.get("base_minor", r.fare.base_minor) && f.get("per_km_minor", r.fare.per_km_minor) &&
      f.get("per_minute_minor", r.fare.per_minute_minor) &&
      f.get("minimum_minor", r.fare.minimum_minor) &&
      f.get("booking_fee_minor", r.fare.booking_fee_minor);
  table_reader s(doc["surge"].as_table(), "surge");
  s.get("window_ms", r.surge.window_ms) && s.get("bucket_ms", r.surge.bucket_ms) &&
      s.get("threshold_ratio", r.surge.threshold_ratio) && s.get("slope", r.surge.slope) &&
      s.get("cap_permille", r.surge.cap_permille) &&
      s.get("smoothing_alpha", r.surge.smoothing_alpha) && s.get("cell_level", r.surge.cell_level);
  table_reader m(doc["matching"].as_table(), "matching");
  m.get("k", r.sequential.k) && m.get("initial_radius_m", r.sequential.initial_radius_m) &&
      m.get("radius_growth", r.sequential.radius_growth) &&
      m.get("max_radius_m", r.sequential.max_radius_m) &&
      m.get("offer_timeout_ms", r.sequential.offer_timeout_ms) &&
      m.get("batch_window_ms", r.batch_window_ms) && m.get("batch_k", r.batch.k) &&
      m.get("batch_wait_weight", r.batch.wait_weight) &&
      m.get("batch_max_windows_lost", r.batch.max_windows_lost) &&
      m.get("batch_leave_out_s", r.batch.leave_out_s);
  if (const toml::table* mt = doc["matching"].as_table(); mt && mt->contains("mode")) {
    std::string mode;
    if (m.get("mode", mode)) {
      if (mode == "sequential")
        r.mode = dispatch_mode::sequential;
      else if (mode == "batched")
        r.mode = dispatch_mode::batched;
      else
        m.fail("mode", "must be \"sequential\" or \"batched\"");
    }
  }
  r.batch.max_radius_m = r.sequential.max_radius_m;
  r.trip.offer_timeout_ms = r.sequential.offer_timeout_ms;
  table_reader t(doc["trip"].as_table(), "trip");
  t.get("free_cancel_ms", r.trip.free_cancel_ms) &&
      t.get("cancel_fee_minor", r.trip.cancel_fee_minor) &&
      t.get("no_show_fee_minor", r.trip.no_show_fee_minor) &&
      t.get("request_ttl_ms", r.trip.request_ttl_ms);
  if (const toml::table* tt = doc["trip"].as_table(); tt && tt->contains("max_pin_attempts"))
    t.get("max_pin_attempts", r.trip.max_pin_attempts);  // optional, default 3
  for (table_reader* rd : {&top, &b, &e, &f, &s, &m, &t}) rd->no_unknown_keys();
  for (const table_reader* rd : {&top, &b, &e, &f, &s, &m, &t})
    if (!rd->error_text().empty()) return err = rd->error_text(), false;
  return read_hotspots_and_demand(doc, r, err);
}

}  // namespace

std::string_view to_string(dispatch_mode m) noexcept {
  return m == dispatch_mode::batched ? "batched" : "sequential";
}

result<region> parse_region(std::string_view toml_text, std::string_view source) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "line " << e.source().begin.line << ": " << e.description();
    return bad(source, os.str());
  }
  region r;
  std::string err;
  if (!read_region(doc, r, err)) return bad(source, err);
  if (auto ok = check_ranges(r, source); !ok) return ok.err();
  return r;
}

result<region> load_region_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return bad(path, "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_region(ss.str(), path);
}

result<std::vector<std::string>> node_region_files(std::string_view toml_text,
                                                   std::string_view source,
                                                   const std::string& dir) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return bad(source, std::string(e.description()));
  }
  const toml::array* files = doc["regions"]["files"].as_array();
  if (!files || files->empty()) return bad(source, "regions.files must list region files");
  std::vector<std::string> out;
  for (const auto& f : *files) {
    auto rel = f.value<std::string>();
    if (!rel) return bad(source, "regions.files must be strings");
    if (rel->empty() || rel->back() == '/')
      return bad(source, "regions.files entries must name files, got \"" + *rel + "\"");
    out.push_back(rel->front() == '/' ? *rel : dir + "/" + *rel);
  }
  return out;
}

result<std::vector<region>> load_node_regions(const std::string& node_config_path) {
  std::ifstream in(node_config_path);
  if (!in) return bad(node_config_path, "cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  const auto slash = node_config_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : node_config_path.substr(0, slash);
  auto files = node_region_files(text.str(), node_config_path, dir);
  if (!files) return files.err();
  std::vector<region> out;
  std::set<std::string> names;
  for (const auto& file : *files) {
    auto r = load_region_file(file);
    if (!r) return r.err();
    if (!names.insert(r->name).second)
      return error{errc::duplicate_id, node_config_path + ": region " + r->name + " twice"};
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace rideshard
