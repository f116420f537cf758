// `rideshard token --role R --sub ID [--ttl S]`: mints a development JWT and prints
// it on stdout. Secret: $RIDESHARD_JWT_SECRET, else --secret, else a labelled
// development default (with a warning on stderr).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "auth/jwt.hpp"

namespace rideshard::app {

int run_token(int argc, char** argv);

namespace {
constexpr const char* secret_env = "RIDESHARD_JWT_SECRET";
}  // namespace

int run_token(int argc, char** argv) {
  CLI::App app{"Mint a development JWT (HS256) and print it on stdout.", "rideshard token"};
  std::string role_name;
  std::string subject;
  std::int64_t ttl_s = 3600;
  std::string secret_flag;
  std::string issuer(auth::default_issuer);
  app.add_option("--role", role_name, "rider | driver | admin")
      ->required()
      ->check(CLI::IsMember({"rider", "driver", "admin"}));
  app.add_option("--sub", subject,
                 "subject: r-<n> for riders, d-<n> for drivers, a name for admins")
      ->required();
  app.add_option("--ttl", ttl_s, "lifetime in seconds")->capture_default_str();
  app.add_option("--secret", secret_flag,
                 "HS256 secret (>= 32 bytes); $RIDESHARD_JWT_SECRET takes precedence");
  app.add_option("--issuer", issuer, "iss claim; must match the node's")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto secret = auth::load_jwt_secret(secret_env, secret_flag);
  if (!secret) {
    const char* env = std::getenv(secret_env);
    if ((env != nullptr && *env != '\0') || !secret_flag.empty()) {
      std::fprintf(stderr, "rideshard token: %s\n", secret.err().message.c_str());
      return 2;
    }
    std::fprintf(stderr,
                 "rideshard token: WARNING: no %s and no --secret; using the built-in "
                 "DEVELOPMENT secret. Such tokens must never be accepted in production.\n",
                 secret_env);
    secret = std::string(auth::development_secret);
  }
  auto authority = auth::token_authority::create(*secret, issuer, auth::system_unix_seconds);
  if (!authority) {
    std::fprintf(stderr, "rideshard token: %s\n", authority.err().message.c_str());
    return 2;
  }
  auto r = auth::role_from_string(role_name);
  if (!r) {
    std::fprintf(stderr, "rideshard token: %s\n", r.err().message.c_str());
    return 2;
  }
  auto token = authority->mint(subject, *r, ttl_s);
  if (!token) {
    std::fprintf(stderr, "rideshard token: %s: %s\n", std::string(to_string(token.code())).c_str(),
                 token.err().message.c_str());
    return 2;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace rideshard::app
