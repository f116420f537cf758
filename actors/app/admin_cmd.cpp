// `rideshard admin backup|create-user|block-driver|unblock-driver|pause-dispatch|
// resume-dispatch|freeze-surge|unfreeze-surge|drain-node|rejoin-node|audit|cluster ...`:
// operates a running node through its admin API with an admin token;
// `rideshard restore --backup-dir B --data-dir D`: restores the latest backup
// into a data directory, offline.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "rideshard/persistence/store.hpp"

namespace rideshard::app {

int run_admin(int argc, char** argv);
int run_restore(int argc, char** argv);

namespace {

namespace http = boost::beast::http;

// An admin token: --token, else minted with $RIDESHARD_JWT_SECRET or the
// development secret (the same rule as the node's).
result<std::string> admin_token(const std::string& flag) {
  if (!flag.empty()) return flag;
  auto secret = auth::load_jwt_secret("RIDESHARD_JWT_SECRET", "");
  if (!secret) {
    const char* env = std::getenv("RIDESHARD_JWT_SECRET");
    if (env != nullptr && *env != '\0') return secret.err();
    secret = std::string(auth::development_secret);
  }
  auto authority = auth::token_authority::create(*secret, std::string(auth::default_issuer),
                                                 auth::system_unix_seconds);
  if (!authority) return authority.err();
  return authority->mint("admin-cli", auth::role::admin, 300);
}

// Sends `verb` with `body` (JSON, may be empty) to http://HOST:PORT<target>;
// returns status and body.
result<std::pair<int, std::string>> call(const std::string& url, http::verb verb,
                                         const std::string& target, const std::string& token,
                                         const std::string& body = {}) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0)
    return error{errc::invalid_argument, "url must be http://HOST:PORT"};
  const auto hostport = url.substr(prefix.size());
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return error{errc::invalid_argument, "url needs a port"};
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::minutes(5));  // a backup copies files
    stream.connect(resolver.resolve(hostport.substr(0, colon), hostport.substr(colon + 1)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, hostport);
    req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return std::make_pair(static_cast<int>(res.result_int()), res.body());
  } catch (const std::exception& e) {
    return error{errc::unavailable, std::string("cannot reach ") + url + ": " + e.what()};
  }
}

// The new admin's password: $RIDESHARD_ADMIN_PASSWORD, else the first line of
// stdin (never a flag: flags show up in `ps`).
std::string read_password() {
  if (const char* env = std::getenv("RIDESHARD_ADMIN_PASSWORD"); env != nullptr && *env != '\0')
    return env;
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Comma-separated numbers ("" for none).
std::string joined(const std::vector<int>& xs) {
  std::string out;
  for (int x : xs) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

// `rideshard admin cluster`: /health's checks.cluster and the overview's shards.
bool print_cluster(const std::string& health_text, const std::string& overview_text, bool summary) {
  const auto health = nlohmann::json::parse(health_text, nullptr, false);
  const auto overview = nlohmann::json::parse(overview_text, nullptr, false);
  if (!health.is_object() || !overview.is_object()) {
    std::fprintf(stderr, "rideshard admin cluster: the node's answer is not JSON\n");
    return false;
  }
  long active_trips = 0;
  for (const auto& sh : overview.value("shards", nlohmann::json::array()))
    active_trips += sh.value("active_trips", 0L);
  const auto node = overview.value("node", nlohmann::json::object());
  const int node_id = node.value("id", -1);
  const auto cl =
      health.value("checks", nlohmann::json::object()).value("cluster", nlohmann::json::object());
  std::vector<int> served;
  for (const auto& g : cl.value("served_groups", nlohmann::json::array()))
    if (g.is_number_integer()) served.push_back(g.get<int>());
  const int groups = cl.value("shard_group_count", 0);
  // Groups no member that is up claims (all of them when the node reports no groups).
  std::vector<bool> owned(static_cast<std::size_t>(std::max(groups, 0)), false);
  int up = 0, idle = 0;
  const auto members = cl.value("members", nlohmann::json::array());
  for (const auto& m : members) {
    if (m.value("status", "") != "up") continue;
    ++up;
    if (m.value("shard_groups", nlohmann::json::array()).empty()) ++idle;
    for (const auto& g : m.value("shard_groups", nlohmann::json::array()))
      if (g.is_number_integer() && g.get<int>() >= 0 && g.get<int>() < groups)
        owned[static_cast<std::size_t>(g.get<int>())] = true;
  }
  std::vector<int> unowned;
  for (int g = 0; g < groups; ++g)
    if (!owned[static_cast<std::size_t>(g)]) unowned.push_back(g);
  if (summary) {
    std::printf(
        "node=%d cluster=%s active_trips=%ld shard_groups=%d served_groups=%s "
        "members_up=%d members_without_groups=%d unowned_groups=%s\n",
        node_id, cl.value("status", "unknown").c_str(), active_trips, groups,
        joined(served).c_str(), up, idle, joined(unowned).c_str());
    return true;
  }
  if (cl.value("status", "") == "not_configured") {
    std::printf(
        "node %d: single node (no [cluster] section), serves every shard; %ld active "
        "trips\n",
        node_id, active_trips);
    return true;
  }
  std::printf("node %d: cluster %s, %ld active trips, serves shard groups [%s] of %d\n", node_id,
              cl.value("status", "unknown").c_str(), active_trips, joined(served).c_str(), groups);
  std::printf("  %-5s %-22s %-6s %-10s %s\n", "node", "address (BASP)", "status", "heartbeat",
              "shard groups (epoch)");
  for (const auto& m : members) {
    std::vector<int> gs;
    for (const auto& g : m.value("shard_groups", nlohmann::json::array()))
      if (g.is_number_integer()) gs.push_back(g.get<int>());
    const auto age = m.value("heartbeat_age_ms", nlohmann::json());
    std::printf("  %-5s %-22s %-6s %-10s [%s] (%lld)\n",
                (std::to_string(m.value("node", -1)) + (m.value("self", false) ? "*" : "")).c_str(),
                m.value("address", "").c_str(), m.value("status", "").c_str(),
                age.is_number() ? (std::to_string(age.get<long long>()) + " ms").c_str() : "-",
                joined(gs).c_str(), m.value("groups_epoch", 0LL));
  }
  if (groups > 0)
    std::printf("  shard groups no member that is up owns: [%s]\n", joined(unowned).c_str());
  return true;
}

}  // namespace

int run_admin(int argc, char** argv) {
  CLI::App app{"Operate a running node through its admin API (docs/http-api.md).",
               "rideshard admin"};
  app.require_subcommand(1);
  std::string url = "http://127.0.0.1:8080";
  std::string token_flag;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--url", url, "the node, http://HOST:PORT")->capture_default_str();
    sub->add_option("--token", token_flag,
                    "admin JWT (default: minted with $RIDESHARD_JWT_SECRET or the development "
                    "secret)");
  };
  auto* backup = app.add_subcommand(
      "backup", "take an incremental backup now into the node's [node].backup_dir");
  common(backup);
  std::string name;
  std::string email;
  auto* create = app.add_subcommand(
      "create-user",
      "create an admin account (signs in to the console at /admin); the password is read "
      "from $RIDESHARD_ADMIN_PASSWORD or the first line of stdin (8..1024 bytes)");
  common(create);
  create->add_option("--email", email, "the admin's sign-in email (unique)")->required();
  create->add_option("--name", name, "display name (default: the email)");
  // The console's actions, scriptable (each is audited like the console's).
  std::string driver;
  auto* block = app.add_subcommand("block-driver",
                                   "suspend a driver account (the console's Block): its tokens "
                                   "stop working and its live sessions close");
  common(block);
  block->add_option("--id", driver, "the driver, d-<n>")->required();
  auto* unblock = app.add_subcommand("unblock-driver", "lift a driver's suspension (Unblock)");
  common(unblock);
  unblock->add_option("--id", driver, "the driver, d-<n>")->required();
  // Region switches (the console's Regions panel).
  std::string region;
  struct region_action {
    const char* name;
    const char* help;
    CLI::App* sub = nullptr;
  };
  region_action switches[] = {
      {"pause-dispatch",
       "pause new dispatch in a region: ride requests there get dispatch_paused; trips "
       "already requested go on"},
      {"resume-dispatch", "resume new dispatch in a region"},
      {"freeze-surge", "hold every surge multiplier of a region at its current value"},
      {"unfreeze-surge", "let a region's surge follow demand and supply again"},
  };
  for (auto& a : switches) {
    a.sub = app.add_subcommand(a.name, a.help);
    common(a.sub);
    a.sub->add_option("--region", region, "the region's name (e.g. nyc)")->required();
  }
  // Cluster actions (the console's Cluster panel), on the node --url names.
  auto* drain = app.add_subcommand(
      "drain-node",
      "hand the node's shard groups to the other nodes without stopping it (it keeps its "
      "sessions as a gateway owning no group); answers at once (202), /health "
      "checks.cluster.drain follows the handoff: handing_off, handed_off or timed_out");
  common(drain);
  auto* rejoin = app.add_subcommand(
      "rejoin-node", "undo drain-node: the node joins the shard ownership group again");
  common(rejoin);
  std::size_t limit = 20;
  auto* audit = app.add_subcommand("audit", "print the newest audit log entries (JSON)");
  common(audit);
  audit->add_option("--limit", limit, "entries, newest first (1..500)")->capture_default_str();
  bool summary = false;
  auto* cluster = app.add_subcommand(
      "cluster",
      "the cluster as this node sees it: members (up/down, heartbeat age) and the shard groups "
      "each owns, groups nobody up owns, and this node's active trips");
  common(cluster);
  cluster->add_flag("--summary", summary,
                    "one line of key=value pairs instead of the table (for scripts: node, "
                    "active_trips, served_groups, members_up, members_without_groups, "
                    "unowned_groups)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto token = admin_token(token_flag);
  if (!token) {
    std::fprintf(stderr, "rideshard admin: %s\n", token.err().message.c_str());
    return 2;
  }
  if (cluster->parsed()) {
    auto health = call(url, http::verb::get, "/health", *token);
    auto overview = call(url, http::verb::get, "/api/admin/overview", *token);
    if (!health || !overview) {
      const auto& e = !health ? health.err() : overview.err();
      std::fprintf(stderr, "rideshard admin cluster: %s\n", e.message.c_str());
      return 1;
    }
    if (overview->first != 200) {
      std::fprintf(stderr, "rideshard admin cluster: overview: HTTP %d %s\n", overview->first,
                   overview->second.c_str());
      return 1;
    }
    return print_cluster(health->second, overview->second, summary) ? 0 : 1;
  }
  auto verb = http::verb::post;
  std::string target = "/api/admin/backup";
  std::string body;
  const char* what = "backup";
  if (create->parsed()) {
    what = "create-user";
    target = "/api/admin/users";
    body =
        nlohmann::json{
            {"name", name.empty() ? email : name}, {"email", email}, {"password", read_password()}}
            .dump();
  } else if (block->parsed() || unblock->parsed()) {
    what = block->parsed() ? "block-driver" : "unblock-driver";
    verb = http::verb::put;
    target = "/api/drivers/" + driver + "/status";
    body = nlohmann::json{{"suspended", block->parsed()}}.dump();
  } else if (drain->parsed() || rejoin->parsed()) {
    what = drain->parsed() ? "drain-node" : "rejoin-node";
    target = drain->parsed() ? "/api/admin/cluster/drain" : "/api/admin/cluster/rejoin";
  } else if (audit->parsed()) {
    what = "audit";
    verb = http::verb::get;
    target = "/api/admin/audit?limit=" + std::to_string(limit);
  }
  for (const auto& a : switches)
    if (a.sub->parsed()) {
      what = a.name;
      target = "/api/admin/regions/" + region + "/" + a.name;
    }
  auto r = call(url, verb, target, *token, body);
  if (!r) {
    std::fprintf(stderr, "rideshard admin %s: %s\n", what, r.err().message.c_str());
    return 1;
  }
  std::printf("%s\n", r->second.c_str());
  return r->first >= 200 && r->first < 300 ? 0 : 1;
}

int run_restore(int argc, char** argv) {
  CLI::App app{"Restore the latest backup into a data directory (the node must be stopped).",
               "rideshard restore"};
  std::string backup_dir;
  std::string data_dir;
  app.add_option("--backup-dir", backup_dir, "a [node].backup_dir written by backups")->required();
  app.add_option("--data-dir", data_dir, "the data directory to (over)write")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto ok = persistence::store::restore_backup(backup_dir, data_dir); !ok) {
    std::fprintf(stderr, "rideshard restore: %s\n", ok.err().message.c_str());
    return 1;
  }
  std::printf("rideshard restore: %s restored into %s; start the node with --data-dir %s\n",
              backup_dir.c_str(), data_dir.c_str(), data_dir.c_str());
  return 0;
}

}  // namespace rideshard::app
