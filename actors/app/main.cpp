// rideshard's entry point: parses the sub-command and hands over to it.
// Start reading here. Sub-commands: serve, simulate, quality, token, admin, restore, version.
#include <cstdio>
#include <cstring>
#include <string>

#include "app/version.hpp"

namespace rideshard::app {
int run_admin(int argc, char** argv);
int run_quality(int argc, char** argv);
int run_restore(int argc, char** argv);
int run_token(int argc, char** argv);
int run_serve(int argc, char** argv);
int run_simulate(int argc, char** argv);
}  // namespace rideshard::app

namespace {

void print_usage(std::FILE* out) {
  std::fputs(
      "Usage: rideshard <command> [options]\n"
      "\n"
      "Commands:\n"
      "  serve      run a node: HTTP + WebSocket gateway and dispatch actors\n"
      "  simulate   drive a running node with WebSocket drivers and riders\n"
      "  quality    dispatch quality: in-process city at low/normal/peak demand,\n"
      "             sequential vs batched matching on one seed\n"
      "  token      mint a development JWT: token --role rider|driver|admin --sub ID\n"
      "  admin      operate a running node (--url http://HOST:PORT): backup, create-user,\n"
      "             block-driver, unblock-driver, audit\n"
      "  restore    restore the latest backup into a data dir (node stopped)\n"
      "  version    print the version\n"
      "\n"
      "Run `rideshard <command> --help` for a command's options. The live demo (a node\n"
      "plus the simulator) is `./run demo` in the source tree.\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    print_usage(stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("rideshard %s\n", rideshard::app::rideshard_version);
    return 0;
  }
  if (cmd == "quality") return rideshard::app::run_quality(argc - 1, argv + 1);
  if (cmd == "demo") {  // renamed: the demo is now a live node driven by the simulator
    std::fputs(
        "rideshard: `demo` is now `./run demo` (a node + the fleet simulator); the in-process\n"
        "sequential vs batched comparison is `rideshard quality`.\n",
        stderr);
    return 2;
  }
  if (cmd == "serve") return rideshard::app::run_serve(argc - 1, argv + 1);
  if (cmd == "simulate") return rideshard::app::run_simulate(argc - 1, argv + 1);
  if (cmd == "admin") return rideshard::app::run_admin(argc - 1, argv + 1);
  if (cmd == "restore") return rideshard::app::run_restore(argc - 1, argv + 1);
  if (cmd == "token") return rideshard::app::run_token(argc - 1, argv + 1);
  std::fprintf(stderr, "rideshard: unknown command '%s'\n\n", cmd.c_str());
  print_usage(stderr);
  return 2;
}
