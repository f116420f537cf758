// Keeps docs/protocol.md honest: every ```json client / ```json server block
// must parse and be exactly what the codec emits; every message kind and every
// error code must be documented; every shared sample message is shown.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "rideshard/schemas/codec.hpp"
#include "sample_messages.hpp"

using namespace rideshard;
using namespace rideshard::schemas;

namespace {

struct example {
  bool client = true;
  std::string text;
  int line = 0;
};

std::string read_doc() {
  std::ifstream in(std::string(RIDESHARD_SOURCE_DIR) + "/docs/protocol.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<example> examples(const std::string& doc) {
  std::vector<example> out;
  std::istringstream in(doc);
  std::string line;
  example* open = nullptr;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (open == nullptr) {
      if (line == "```json client" || line == "```json server") {
        out.push_back(example{line == "```json client", "", n});
        open = &out.back();
      }
    } else if (line == "```") {
      if (!open->text.empty()) open->text.pop_back();  // the last newline
      open = nullptr;
    } else {
      open->text += line + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every shared sample message is in docs/protocol.md exactly as the codec emits it") {
  // The samples are what the codec tests round-trip; the document shows each of them. A
  // failure prints the block the document lacks (paste it in after a schema change).
  const std::string doc = read_doc();
  REQUIRE_FALSE(doc.empty());
  auto check_shown = [&doc](std::string_view kind, const std::string& side,
                            const std::string& json) {
    const std::string block = "```json " + side + "\n" + json + "\n```";
    CHECK_MESSAGE(doc.find(block) != std::string::npos, "docs/protocol.md lacks ", kind, ":\n",
                  block);
  };
  for (const auto& m : samples::client_messages())
    check_shown(kind_name(m.body), "client", *encode_client_json(m, json_style::pretty));
  for (const auto& m : samples::server_messages())
    check_shown(kind_name(m.body), "server", *encode_server_json(m, json_style::pretty));
  check_shown("search progress", "server",
              *encode_server_json(samples::search_progress_push(), json_style::pretty));
}

TEST_CASE("every JSON example in docs/protocol.md is exactly what the codec accepts and emits") {
  const std::string doc = read_doc();
  REQUIRE_FALSE(doc.empty());
  const auto blocks = examples(doc);
  REQUIRE(blocks.size() >= std::variant_size_v<client_body> + std::variant_size_v<server_body>);
  std::set<std::string> client_kinds, server_kinds;
  for (const auto& b : blocks) {
    CAPTURE(b.line);
    if (b.client) {
      auto m = decode_client_json(b.text);
      REQUIRE_MESSAGE(m.ok(), m.err().message);
      client_kinds.insert(std::string(kind_name(m->body)));
      CHECK(*encode_client_json(*m, json_style::pretty) == b.text);
    } else {
      auto m = decode_server_json(b.text);
      REQUIRE_MESSAGE(m.ok(), m.err().message);
      server_kinds.insert(std::string(kind_name(m->body)));
      CHECK(*encode_server_json(*m, json_style::pretty) == b.text);
    }
  }
  CHECK(client_kinds.size() == std::variant_size_v<client_body>);
  CHECK(server_kinds.size() == std::variant_size_v<server_body>);
}

TEST_CASE("every error code is in the error table of docs/protocol.md") {
  const std::string doc = read_doc();
  for (unsigned v = 1; v < 1000; ++v) {
    const auto code = static_cast<errc>(v);
    const auto name = to_string(code);
    if (errc_from_string(name) != code) continue;  // not a defined code
    CAPTURE(name);
    CHECK(doc.find("| " + std::to_string(v) + " | `" + std::string(name) + "` |") !=
          std::string::npos);
  }
}
