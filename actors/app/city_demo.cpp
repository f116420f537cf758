// `rideshard demo`: placeholder until the city scenario lands.
#include <cstdio>

namespace rideshard::app {
int run_city_demo(int, char**) {
  std::puts("demo: not built yet");
  return 1;
}
}  // namespace rideshard::app
